"""open_recording: a Recording's close() releases its files, and a closed one refuses reads."""
import gc
import os

import numpy as np
import pytest
from pyacq.core import OutputStream, get_node_type
from pyacq.rec import open_recording

from .conftest import analog_output, known_signal

HEIGHT, WIDTH = 16, 24


def video_output():
    output = OutputStream(name="video")
    output.configure(protocol="tcp", streamtype="image/video", shape=(-1, HEIGHT, WIDTH, 3),
                     dtype="uint8", sample_rate=25.0)
    return output


def record(type_name, dirname):
    """Record a few chunks of one stream ``sig`` with ``type_name``; return what was sent."""
    if type_name == "HDF5Recorder":
        pytest.importorskip("h5py", reason="HDF5Recorder needs h5py: pip install 'pyacq-core[hdf5]'")
    if type_name == "AviRecorder":
        pytest.importorskip("av", reason="AviRecorder needs PyAV: pip install 'pyacq-core[av]'")
        output, chunks = video_output(), [np.full((1, HEIGHT, WIDTH, 3), 30 * k, np.uint8) for k in range(5)]
    else:
        output, chunks = analog_output(3, 100.0), [known_signal(10, 3, 10 * k) for k in range(5)]
    recorder = get_node_type(type_name)(name="rec")
    try:
        recorder.configure(streams={"sig": output}, dirname=dirname)
        recorder.initialize()
        recorder.start()
        for chunk in chunks:
            output.send(chunk)
        recorder.stop()
    finally:
        recorder.close()
        output.close()
    return np.concatenate(chunks)


def open_descriptors_in(dirname):
    """Paths inside ``dirname`` that a file descriptor of this process is open on."""
    inside = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the descriptor listing the directory itself, closed since
            continue
        if target.startswith(str(dirname) + os.sep):
            inside.append(target)
    return inside


@pytest.mark.parametrize("type_name", ["RawRecorder", "AviRecorder"])
def test_close_releases_the_memmapped_files(type_name, tmp_path):
    """A raw recording's sample files and a video recording's frame table are memmapped while
    the Recording is open; close() releases them: no descriptor of this process stays open
    on a file of the recording."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to list the open files")
    dirname = tmp_path / "r"
    record(type_name, dirname)
    recording = open_recording(dirname)
    assert len(recording["sig"].data) == (5 if type_name == "AviRecorder" else 50)
    assert open_descriptors_in(dirname)
    recording.close()
    gc.collect()
    assert open_descriptors_in(dirname) == []


@pytest.mark.parametrize("type_name", ["RawRecorder", "HDF5Recorder", "AviRecorder"])
def test_closed_recording_refuses_reads(type_name, tmp_path):
    """After close() (or the end of a ``with`` block) a stream's data raises ValueError naming
    the stream, the recording and how to read it again; its description, gaps and segments
    stay readable; close() again does nothing."""
    dirname = tmp_path / "r"
    record(type_name, dirname)
    with open_recording(dirname) as recording:
        stream = recording["sig"]
        assert len(stream.data) > 0
    pattern = f"stream 'sig' of the recording {dirname} is closed; open_recording.* again"
    for way in (lambda: stream.data, lambda: recording["sig"].data[:1]):
        with pytest.raises(ValueError, match=pattern):
            way()
    assert stream.description["sample_shape"] and stream.segments and recording.closed
    recording.close()


def test_arrays_taken_before_close_stay_valid(tmp_path):
    """A slice of a raw stream's memmap taken before close() still reads the samples after it
    (the mapping lives as long as that array: unmapping it would crash the reader)."""
    dirname = tmp_path / "r"
    sent = record("RawRecorder", dirname)
    with open_recording(dirname) as recording:
        head = recording["sig"].data[:20]
    np.testing.assert_array_equal(head, sent[:20])
