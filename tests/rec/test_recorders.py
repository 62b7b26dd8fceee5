"""RawRecorder and HDF5Recorder: every sample on disk, exactly, gaps recorded, failures loud."""
import json
import os
import signal
import tempfile

import numpy as np
import pytest
from pyacq.core import get_node_type
from pyacq.rec import RawRecorder, RecordingExistsError, open_recording

from .conftest import (
    EVENT_DTYPE,
    DeviceThread,
    analog_output,
    event_output,
    known_signal,
    unprivileged_prefix,
    wait_for,
)

RECORDERS = ["RawRecorder", "HDF5Recorder"]
NB_CHANNEL, SAMPLE_RATE, CHUNK = 32, 10_000.0, 2000
N_SAMPLES = int(60 * SAMPLE_RATE)
GAP_CHUNK, GAP_LENGTH = 100, 1000


@pytest.fixture
def streams():
    outputs = {"signals": analog_output(NB_CHANNEL, SAMPLE_RATE), "events": event_output()}
    yield outputs
    for output in outputs.values():
        output.close()


@pytest.fixture
def recorder_factory():
    created = []

    def make(type_name, name="rec"):
        node = get_node_type(type_name)(name=name)
        created.append(node)
        return node

    yield make
    for node in created:
        if node.running():
            node.stop()
        if not node.closed():
            node.close()


def analog_chunks():
    """60 s of 32-channel float32 in chunks; chunk GAP_CHUNK is preceded by a gap of GAP_LENGTH."""
    chunks, indexes, index = [], [], 0
    for k in range(N_SAMPLES // CHUNK):
        if k == GAP_CHUNK:
            index += GAP_LENGTH
        chunks.append(known_signal(CHUNK, NB_CHANNEL, index))
        index += CHUNK
        indexes.append(index)
    return chunks, indexes


def event_chunks():
    """40 events in chunks of 4; the events 20..23 are lost (a gap of 4 in the event index)."""
    events = np.zeros(40, EVENT_DTYPE)
    events["index"] = np.arange(40) * 1500
    events["label"] = [f"ev{k}".encode() for k in range(40)]
    keep = [k for k in range(0, 40, 4) if k != 20]
    return [events[k:k + 4] for k in keep], [k + 4 for k in keep], events


@pytest.mark.parametrize("type_name", RECORDERS)
def test_registered_by_entry_point(type_name):
    """Each recorder is created by name through its pyacq-core entry point."""
    import pyacq.rec
    assert get_node_type(type_name) is getattr(pyacq.rec, type_name)


@pytest.mark.parametrize("type_name", RECORDERS)
def test_sixty_seconds_recorded_exactly(type_name, streams, recorder_factory, tmp_path):
    """60 s of 32 channels at 10 kHz and an event stream, sent from device threads, read back
    bit-exactly once stop() returns; gaps are zero-filled (analog) or skipped (events) and
    recorded with position and length; the description and annotations are kept."""
    recorder = recorder_factory(type_name)
    dirname = tmp_path / "session"
    recorder.configure(streams=streams, dirname=dirname)
    recorder.initialize()
    recorder.add_annotations(subject="mouse 7", protocol={"stim": [1, 2]})
    recorder.start()
    chunks, indexes = analog_chunks()
    event_list, event_indexes, events = event_chunks()
    devices = [DeviceThread(streams["signals"], chunks, indexes, recorder.tracks["signals"]),
               DeviceThread(streams["events"], event_list, event_indexes, recorder.tracks["events"])]
    for device in devices:
        device.start()
    for device in devices:
        device.finish()
    recorder.add_annotations(condition="after stimulation")
    recorder.stop()
    with open_recording(dirname) as recording:
        signals, recorded_events = recording["signals"], recording["events"]
        expected = np.zeros((N_SAMPLES + GAP_LENGTH, NB_CHANNEL), np.float32)
        for chunk, index in zip(chunks, indexes, strict=True):
            expected[index - CHUNK:index] = chunk
        assert signals.data.shape == expected.shape
        np.testing.assert_array_equal(signals.data[:], expected)
        assert signals.gaps == [{"position": GAP_CHUNK * CHUNK, "length": GAP_LENGTH,
                                 "index": GAP_CHUNK * CHUNK}]
        assert signals.segments == [{"position": 0, "index": 0, "reason": "recorder started"}]
        description = signals.description
        assert description["sample_rate"] == SAMPLE_RATE and description["dtype"] == "<f4"
        assert description["sample_shape"] == [NB_CHANNEL] and description["units"] == "uV"
        assert (description["scale"], description["offset"]) == (0.5, 1.0)
        assert description["channel_names"] == [f"ch{i}" for i in range(NB_CHANNEL)]
        assert description["start_index"] == 0
        np.testing.assert_array_equal(recorded_events.data[:], np.delete(events, range(20, 24)))
        assert recorded_events.data.dtype == EVENT_DTYPE
        assert recorded_events.gaps == [{"position": 20, "length": 4, "index": 20}]
        assert recording.annotations == {"subject": "mouse 7", "protocol": {"stim": [1, 2]},
                                         "condition": "after stimulation"}
    recorder.close()


@pytest.mark.parametrize("type_name", RECORDERS)
def test_stop_writes_every_received_chunk(type_name, recorder_factory, tmp_path):
    """Chunks sent right before stop() (no waiting for the recorder) are on disk when it returns."""
    output = analog_output(4, 1000.0)
    recorder = recorder_factory(type_name)
    recorder.configure(streams=[output], dirname=tmp_path / "r")
    recorder.initialize()
    recorder.start()
    for k in range(200):
        output.send(known_signal(50, 4, 50 * k))
    recorder.stop()
    with open_recording(tmp_path / "r") as recording:
        np.testing.assert_array_equal(recording["input0"].data[:], known_signal(200 * 50, 4))
    recorder.close()
    output.close()


@pytest.mark.parametrize("type_name", RECORDERS)
def test_restarts_open_new_segments(type_name, recorder_factory, tmp_path):
    """Stopping and restarting the recorder, or the source restarting at index 0, appends to the
    same file and records a segment (file position, stream index, reason) instead of a gap."""
    output = analog_output(2, 100.0)
    recorder = recorder_factory(type_name)
    recorder.configure(streams={"sig": output}, dirname=tmp_path / "r")
    recorder.initialize()
    track = recorder.tracks["sig"]
    recorder.start()
    output.send(known_signal(10, 2, 0))
    wait_for(lambda: track.expected == 10, what="first chunk")
    recorder.stop()
    recorder.start()
    # Samples 10..20 streamed while the recorder was stopped: a new segment, not a gap.
    output.send(known_signal(10, 2, 20), index=30)
    wait_for(lambda: track.expected == 30, what="chunk after the recorder restarted")
    output.reset_buffer_index()
    output.send(known_signal(5, 2, 100))
    recorder.stop()
    with open_recording(tmp_path / "r") as recording:
        stream = recording["sig"]
        np.testing.assert_array_equal(stream.data[:], np.concatenate(
            [known_signal(10, 2, 0), known_signal(10, 2, 20), known_signal(5, 2, 100)]))
        assert stream.segments == [
            {"position": 0, "index": 0, "reason": "recorder started"},
            {"position": 10, "index": 20, "reason": "recorder restarted"},
            {"position": 20, "index": 0, "reason": "source restarted"},
        ]
        assert stream.gaps == []
    recorder.close()
    output.close()


@pytest.mark.parametrize("type_name", RECORDERS)
def test_existing_directory_is_refused(type_name, recorder_factory, tmp_path):
    """configure() refuses a dirname that exists, naming it, and creates nothing."""
    output = analog_output(2, 100.0)
    (tmp_path / "old").mkdir()
    recorder = recorder_factory(type_name)
    with pytest.raises(RecordingExistsError, match=f"{tmp_path / 'old'} already exists"):
        recorder.configure(streams=[output], dirname=tmp_path / "old")
    assert os.listdir(tmp_path / "old") == []
    output.close()


def test_bad_configuration_is_refused(recorder_factory, tmp_path):
    """Empty streams, file-unsafe names, non-JSON annotations and unshaped streams raise errors
    that say what is wrong."""
    output = analog_output(2, 100.0)
    with pytest.raises(ValueError, match="streams is empty"):
        recorder_factory("RawRecorder").configure(streams=[], dirname=tmp_path / "a")
    with pytest.raises(ValueError, match="stream name '../x' cannot name a file"):
        recorder_factory("RawRecorder").configure(streams={"../x": output}, dirname=tmp_path / "b")
    recorder = recorder_factory("RawRecorder")
    recorder.configure(streams=[output], dirname=tmp_path / "c")
    with pytest.raises(TypeError, match="annotation 'when' cannot be stored as JSON"):
        recorder.add_annotations(when=object())
    unshaped = type(output)(name="free")
    unshaped.configure(protocol="inproc")
    recorder = recorder_factory("RawRecorder")
    recorder.configure(streams=[unshaped], dirname=tmp_path / "d")
    with pytest.raises(ValueError, match="stream 'input0' declares no shape"):
        recorder.initialize()
    output.close()
    unshaped.close()


def test_reader_ignores_a_partial_last_sample(recorder_factory, tmp_path):
    """A raw file ending in part of a sample (a write cut short) reads as its whole samples."""
    output = analog_output(3, 100.0)
    recorder = recorder_factory("RawRecorder")
    recorder.configure(streams={"sig": output}, dirname=tmp_path / "r")
    recorder.initialize()
    recorder.start()
    output.send(known_signal(7, 3))
    recorder.stop()
    recorder.close()
    with open(tmp_path / "r" / "sig.raw", "ab") as raw:
        raw.write(b"\x01\x02\x03")
    np.testing.assert_array_equal(open_recording(tmp_path / "r")["sig"].data, known_signal(7, 3))
    output.close()


def test_neo_reads_the_raw_file_identically(recorder_factory, tmp_path):
    """neo's RawBinarySignalRawIO, given the JSON description, reads the raw file sample for
    sample, with its sample rate and channel count (the recipe of pyacq/rec/README.md)."""
    from neo.rawio import RawBinarySignalRawIO
    output = analog_output(5, 2000.0)
    recorder = recorder_factory("RawRecorder")
    recorder.configure(streams={"sig": output}, dirname=tmp_path / "r")
    recorder.initialize()
    recorder.start()
    output.send(known_signal(3000, 5))
    recorder.stop()
    recorder.close()
    with open(tmp_path / "r" / "stream_properties.json") as f:
        description = json.load(f)["sig"]
    reader = RawBinarySignalRawIO(
        filename=str(tmp_path / "r" / description["file"]), dtype=description["dtype"],
        sampling_rate=description["sample_rate"], nb_channel=description["nb_channel"],
        signal_gain=description["scale"], signal_offset=description["offset"])
    reader.parse_header()
    raw = reader.get_analogsignal_chunk(block_index=0, seg_index=0, stream_index=0)
    np.testing.assert_array_equal(raw, known_signal(3000, 5))
    assert reader.get_signal_sampling_rate(stream_index=0) == 2000.0
    np.testing.assert_array_equal(reader.rescale_signal_raw_to_float(raw, dtype="float64"),
                                  1.0 + 0.5 * known_signal(3000, 5).astype("float64"))
    output.close()


@pytest.mark.parametrize("type_name", RECORDERS)
def test_sigkill_leaves_every_written_sample_readable(type_name, run_child, tmp_path):
    """A recording process killed with SIGKILL leaves a recording that opens and holds, exactly,
    every chunk the process had recorded before the kill."""
    dirname = tmp_path / "killed"
    child = run_child("kill", type_name, dirname)
    recorded = 0
    while recorded < 20_000:
        line = child.stdout.readline()
        assert line, f"the recording process ended early: {child.stderr.read()}"
        recorded = int(line)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    with open_recording(dirname) as recording:
        data = recording["signals"].data
        assert len(data) >= recorded
        np.testing.assert_array_equal(data[:], known_signal(len(data), 8))


@pytest.mark.parametrize("type_name", RECORDERS)
def test_disk_full_stops_recorder_with_clear_error(type_name, run_child, tmp_path):
    """When the disk refuses a write (RLIMIT_FSIZE: EFBIG, 'File too large', as a full disk
    would), the recorder stops itself: it is 'failed' with the RecordingWriteError in node.error
    (the receiving thread's failure), stop() raises it naming the file and the cause, start()
    then refuses with the fix, and everything written before the failure reads back exactly."""
    dirname = tmp_path / "full"
    child = run_child("full", type_name, dirname, 1_000_000)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["running"] is False and report["failed"] is True, report
    assert report["error_message"].startswith("thread 'child-signals' failed: RecordingWriteError")
    assert report["stop_error"] == "RecordingWriteError"
    assert report["error_after_stop"] == "RecordingWriteError"
    assert "cannot start() again after a disk error" in report["restart_refused"]
    assert "record into a new directory" in report["restart_refused"]
    assert "writing stream 'signals'" in report["message"] and "The recorder stopped" in report["message"]
    if type_name == "RawRecorder":
        assert "File too large" in report["message"] and "signals.raw" in report["message"]
    assert report["recorded"] < report["sent"]
    with open_recording(dirname) as recording:
        data = recording["signals"].data
        # The limit falls inside a chunk: the part of it written before the refusal is cut back.
        assert 0 < len(data) == report["recorded"] and len(data) % 1000 == 0
        np.testing.assert_array_equal(data[:], known_signal(len(data), 8))


@pytest.mark.parametrize("type_name", RECORDERS)
def test_permission_denied_is_a_clear_error(type_name, run_child):
    """configure() in a read-only directory raises PermissionError naming the recorder and the
    directory (run without root's capabilities, which would ignore the permission)."""
    with tempfile.TemporaryDirectory() as parent:
        os.chmod(parent, 0o755)
        readonly = os.path.join(parent, "readonly")
        os.mkdir(readonly, 0o555)
        dirname = os.path.join(readonly, "rec")
        child = run_child("denied", type_name, dirname, prefix=unprivileged_prefix())
        out, err = child.communicate(timeout=60)
        assert child.returncode == 0, err
        report = json.loads(out.strip().splitlines()[-1])
        assert report["error"] == "PermissionError"
        assert "cannot create the recording directory: Permission denied" in report["message"]
        assert dirname in report["message"] and f"{type_name} node 'child'" in report["message"]
        assert not os.path.exists(dirname)


def test_recorder_is_importable_without_heavy_dependencies(run_python):
    """import pyacq.rec and RawRecorder pull neither h5py nor PyAV nor Qt."""
    result = run_python("""
        import sys
        import pyacq.rec
        from pyacq.rec import RawRecorder, open_recording
        assert not {'h5py', 'av', 'PyQt5'} & set(sys.modules), sorted(sys.modules)
    """)
    assert result.returncode == 0
    assert RawRecorder.__module__ == "pyacq.rec.rawrecorder"
