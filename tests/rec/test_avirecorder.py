"""AviRecorder: video streams encoded through PyAV, with a per-frame side table."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from pyacq.core import OutputStream
from pyacq.rec import open_recording

av = pytest.importorskip("av", reason="AviRecorder needs PyAV: pip install 'pyacq-core[av]'")
HEIGHT, WIDTH = 48, 64


def video_output(rate=25.0):
    output = OutputStream(name="video")
    output.configure(protocol="tcp", streamtype="image/video", shape=(-1, HEIGHT, WIDTH, 3),
                     dtype="uint8", sample_rate=rate)
    return output


@pytest.mark.parametrize("codec_name", ["h264", "mpeg4"])
def test_video_decodes_to_frame_count_and_size(codec_name, tmp_path):
    """60 frames with a 5-frame gap: the file decodes to 60 frames of 64x48 and the frame table
    lists each frame's stream index, the gap recorded in the annotations."""
    from pyacq.rec import AviRecorder
    output = video_output()
    recorder = AviRecorder(name="avi")
    recorder.configure(streams={"cam": output}, dirname=tmp_path / "r", codec_name=codec_name)
    recorder.initialize()
    recorder.start()
    indexes = [k + 1 + (5 if k >= 30 else 0) for k in range(60)]
    for k, index in enumerate(indexes):
        output.send(np.full((1, HEIGHT, WIDTH, 3), (4 * k) % 256, np.uint8), index=index)
    recorder.stop()
    recorder.close()
    with open_recording(tmp_path / "r") as recording:
        cam = recording["cam"]
        np.testing.assert_array_equal(cam.data["index"], np.array(indexes) - 1)
        assert cam.gaps == [{"position": 30, "length": 5, "index": 30}]
        assert cam.description["codec_name"] == codec_name and cam.path.endswith("cam.avi")
        with av.open(cam.path) as container:
            frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(frames) == 60
    assert all(frame.shape == (HEIGHT, WIDTH, 3) for frame in frames)
    # Lossy codecs: frame k is grey 4k, give or take the quantisation.
    assert abs(frames[10].mean() - 40) <= 8 and abs(frames[50].mean() - 200) <= 8
    output.close()


def test_non_video_stream_and_unknown_codec_are_refused(tmp_path):
    """A float analog stream cannot go to a video file, nor can an encoder FFmpeg lacks."""
    from pyacq.rec import AviRecorder
    analog = OutputStream(name="analog")
    analog.configure(protocol="inproc", shape=(-1, 4), dtype="float32")
    with pytest.raises(ValueError, match="no video encoder 'nonexistent-codec'"):
        AviRecorder(name="x").configure(streams=[analog], dirname=tmp_path / "a",
                                        codec_name="nonexistent-codec")
    recorder = AviRecorder(name="avi")
    recorder.configure(streams=[analog], dirname=tmp_path / "b")
    with pytest.raises(ValueError, match="stream 'input0' is not video"):
        recorder.initialize()
    recorder.close()
    analog.close()


#: A recording process: sends grey frames k = 1, 2, ... (grey level 4k mod 256) and prints k
#: once the recorder has taken frame k, until it is killed.
RECORDING_CHILD = f"""
import sys, time
import numpy as np
from pyacq.core import OutputStream
from pyacq.rec import AviRecorder
height, width = {HEIGHT}, {WIDTH}
output = OutputStream(name="video")
output.configure(protocol="tcp", streamtype="image/video", shape=(-1, height, width, 3),
                 dtype="uint8", sample_rate=25.0)
recorder = AviRecorder(name="avi")
recorder.configure(streams={{"cam": output}}, dirname=sys.argv[1], codec_name=sys.argv[2],
                   container=sys.argv[3])
recorder.initialize()
recorder.start()
track = recorder.tracks["cam"]
index = 0
while True:
    index += 1
    output.send(np.full((1, height, width, 3), (4 * index) % 256, np.uint8), index=index)
    deadline = time.monotonic() + 30
    while track.expected != index:
        if time.monotonic() > deadline:
            sys.exit(f"frame {{index}} not recorded within 30 s")
        time.sleep(0.001)
    print(index, flush=True)
"""


@pytest.mark.parametrize(("codec_name", "container"),
                         [("h264", "avi"), ("mpeg4", "avi"), ("h264", "mpegts")])
def test_sigkill_leaves_a_file_that_decodes_every_recorded_frame(codec_name, container, tmp_path):
    """A recording process killed with SIGKILL after the recorder took N frames leaves a video
    file (with no index: the container's end was never written) that decodes to at least those
    N frames, each the grey level sent, and a frame table listing at least frames 0..N-1."""
    script = tmp_path / "child.py"
    script.write_text(RECORDING_CHILD)
    dirname = tmp_path / "killed"
    child = subprocess.Popen([sys.executable, str(script), str(dirname), codec_name, container],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        recorded = 0
        deadline = time.monotonic() + 60
        while recorded < 40:
            assert time.monotonic() < deadline, "the child did not record 40 frames in 60 s"
            line = child.stdout.readline()
            assert line, f"the child exited: {child.communicate(timeout=30)[1][-2000:]}"
            recorded = int(line)
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    extension = {"avi": "avi", "mpegts": "ts"}[container]
    with av.open(str(dirname / f"cam.{extension}")) as video:
        frames = [frame.to_ndarray(format="rgb24") for frame in video.decode(video=0)]
    assert len(frames) >= recorded
    levels = np.array([frame.mean() for frame in frames[:recorded]])
    np.testing.assert_allclose(levels, 4 * np.arange(1, recorded + 1) % 256, atol=8)
    with open_recording(dirname) as recording:
        cam = recording["cam"]
        assert len(cam.data) >= recorded
        np.testing.assert_array_equal(cam.data["index"][:recorded], np.arange(recorded))


def test_unknown_container_and_codec_it_cannot_carry_are_refused(tmp_path):
    """container= names a supported container, and mpegts only takes the codecs it carries;
    otherwise configure() raises, naming the choices."""
    from pyacq.rec import AviRecorder
    output = video_output()
    with pytest.raises(ValueError, match="container must be one of \\['avi', 'mpegts'\\]"):
        AviRecorder(name="x").configure(streams=[output], dirname=tmp_path / "c", container="mp4")
    with pytest.raises(ValueError, match="container 'mpegts' carries the codecs .*, not 'ffv1'"):
        AviRecorder(name="y").configure(streams=[output], dirname=tmp_path / "d", codec_name="ffv1",
                                        container="mpegts")
    output.close()


@pytest.mark.parametrize("container", ["avi", "mpegts"])
def test_stop_makes_the_video_file_durable(container, tmp_path, monkeypatch):
    """stop() fsyncs the video file as well as its frame table, after the recorder took
    every frame sent: what it wrote so far survives a power loss, not only a killed process."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to name the file an fsync reaches")
    from pyacq.rec import AviRecorder
    fsynced = []
    real_fsync = os.fsync

    def fsync_naming_the_file(fd):
        fsynced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    output = video_output()
    recorder = AviRecorder(name="avi")
    recorder.configure(streams={"cam": output}, dirname=tmp_path / "r", container=container)
    recorder.initialize()
    recorder.start()
    for k in range(10):
        output.send(np.full((1, HEIGHT, WIDTH, 3), 20 * k, np.uint8), index=k + 1)
    deadline = time.monotonic() + 30
    while recorder.tracks["cam"].expected != 10:
        assert time.monotonic() < deadline, "the recorder did not take 10 frames in 30 s"
        time.sleep(0.005)
    monkeypatch.setattr(os, "fsync", fsync_naming_the_file)
    recorder.stop()
    monkeypatch.undo()
    recorder.close()
    output.close()
    video = str(tmp_path / "r" / f"cam.{'ts' if container == 'mpegts' else 'avi'}")
    assert video in fsynced, fsynced
    assert str(tmp_path / "r" / "cam_frames.raw") in fsynced, fsynced


def test_video_writer_closes_once(tmp_path):
    """VideoStreamWriter.close() called twice finishes the file once: the second call does
    nothing, and the file decodes to the frames written."""
    from pyacq.rec.avirecorder import VideoStreamWriter
    writer = VideoStreamWriter(str(tmp_path / "cam.avi"), str(tmp_path / "cam_frames.raw"),
                               {"sample_shape": [HEIGHT, WIDTH, 3], "sample_rate": 25.0}, "mpeg4")
    writer.write(np.zeros((3, HEIGHT, WIDTH, 3), np.uint8), index=3)
    writer.close()
    writer.close()
    with av.open(str(tmp_path / "cam.avi")) as video:
        assert len(list(video.decode(video=0))) == 3
