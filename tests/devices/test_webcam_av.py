"""WebCamAV against real ffmpeg sources: lavfi's testsrc and video files written by PyAV."""
import subprocess
import sys

import numpy as np
import pytest
from pyacq.core import InputStream, get_node_type

from .conftest import frame_color, write_test_video

pytest.importorskip("av", reason="PyAV is not installed (pip install av)")

from pyacq.devices import WebCamAV
from pyacq.devices.webcam_av import capture_source

TESTSRC = "testsrc=size=320x240:rate=30"


@pytest.fixture
def camera(device_nodes):
    """A WebCamAV node and an InputStream, stopped and closed after the test."""
    return device_nodes.add(WebCamAV(name="cam")), device_nodes.add(InputStream())


def connect(dev, inp):
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    inp.connect(dev.output)
    dev.initialize()


def test_registered_by_entry_point():
    """WebCamAV is found by name through the pyacq-devices entry point."""
    assert get_node_type("WebCamAV") is WebCamAV


def test_lavfi_testsrc_streams_rgb_frames_at_its_rate(camera, receive_chunks):
    """lavfi testsrc 320x240 at 30 fps gives (1, 240, 320, 3) uint8 chunks with consecutive
    indexes, sample_rate 30, and arrives paced at 30 frames per second; after stop() and
    start() the stream restarts at index 1."""
    dev, inp = camera
    dev.configure(camera_name=TESTSRC, format="lavfi")
    connect(dev, inp)
    params = inp.params
    assert params["shape"] == [-1, 240, 320, 3] and np.dtype(params["dtype"]) == np.uint8
    assert params["sample_rate"] == 30.0 and params["streamtype"] == "image/video"
    dev.start()
    indexes, frames, times = receive_chunks(inp, 45)
    dev.stop()
    assert indexes == list(range(1, 46))
    assert frames.shape == (45, 240, 320, 3) and frames.dtype == np.uint8
    assert frames.std() > 10 and not np.array_equal(frames[0], frames[30])
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 20.0 < rate < 33.0, rate
    inp.empty_queue()
    dev.start()
    indexes, _, _ = receive_chunks(inp, 3)
    dev.stop()
    assert indexes == [1, 2, 3] and inp.gap_count == 0


def test_video_file_frames_are_exact_and_end(camera, tmp_path, receive_chunks):
    """A 25 fps file of 20 lossless frames plays as exactly those 20 frames, in order, with
    their RGB colours, then the stream ends."""
    path = write_test_video(tmp_path / "clip.mkv", range(20), frame_rate=25)
    dev, inp = camera
    dev.configure(camera_name=str(path))
    connect(dev, inp)
    assert inp.params["sample_rate"] == 25.0 and inp.params["shape"] == [-1, 48, 64, 3]
    dev.start()
    indexes, frames, _ = receive_chunks(inp, 20)
    assert not inp.poll(timeout=500), "frames after the end of the file"
    dev.stop()
    assert indexes == list(range(1, 21))
    expected = np.array([frame_color(k) for k in range(20)], np.uint8)
    np.testing.assert_array_equal(frames, np.broadcast_to(expected[:, None, None, :], frames.shape))


def test_dropped_frames_are_counted_and_shown_as_a_gap(camera, tmp_path, receive_chunks):
    """Frames missing from the source's timestamps (3 and 4 of 0..7) are counted in
    dropped_frames and skipped in the index, so the receiver counts one gap of 2 frames."""
    path = write_test_video(tmp_path / "dropped.mkv", [0, 1, 2, 5, 6, 7], frame_rate=25)
    dev, inp = camera
    dev.configure(camera_name=str(path))
    connect(dev, inp)
    dev.start()
    indexes, frames, _ = receive_chunks(inp, 6)
    dev.stop()
    assert indexes == [1, 2, 3, 6, 7, 8]
    assert dev.dropped_frames == 2 and inp.gap_count == 1 and inp.lost_samples == 2
    assert [tuple(frame[0, 0]) for frame in frames] == [frame_color(k) for k in (0, 1, 2, 5, 6, 7)]


def test_bad_sources_are_refused(camera, tmp_path):
    """A missing file, a missing capture device and an unknown camera name raise at
    configure() with the source named."""
    dev, _ = camera
    with pytest.raises(OSError, match=r"cannot open video source '.*nothing\.mkv'"):
        dev.configure(camera_name=str(tmp_path / "nothing.mkv"))
    with pytest.raises(OSError, match=r"cannot open video source 'no_such_filter' \(ffmpeg format 'lavfi'\)"):
        dev.configure(camera_name="no_such_filter", format="lavfi")
    if sys.platform.startswith("linux"):
        with pytest.raises(OSError, match=r"'/dev/video77' \(ffmpeg format 'v4l2'\)"):
            dev.configure(camera_num=77)
        with pytest.raises(ValueError, match="no V4L2 camera named 'No Such Camera'"):
            dev.configure(camera_name="No Such Camera")
    assert not dev.configured()


def test_capture_source_per_platform():
    """camera_num / camera_name map to each platform's ffmpeg capture backend; an explicit
    format is used as given."""
    assert capture_source(2, None, {}, platform="linux") == ("/dev/video2", "v4l2")
    assert capture_source(1, None, {}, platform="darwin") == ("1", "avfoundation")
    assert capture_source(0, "FaceTime HD", {}, platform="darwin") == ("FaceTime HD", "avfoundation")
    assert capture_source(0, "USB Camera", {}, platform="win32") == ("video=USB Camera", "dshow")
    assert capture_source(0, "/dev/video3", {}, platform="linux") == ("/dev/video3", "v4l2")
    assert capture_source(0, "rtsp://host/stream", {}, platform="linux") == ("rtsp://host/stream", None)
    assert capture_source(0, TESTSRC, {"format": "lavfi"}) == (TESTSRC, "lavfi")
    assert capture_source(4, None, {"format": "v4l2"}) == ("/dev/video4", "v4l2")


def test_runs_in_a_spawned_nodegroup_created_by_name(spawned_nodegroup):
    """A WebCamAV created by name in a Manager's spawned NodeGroup streams lavfi frames, one per
    chunk with consecutive indexes, to a receiver in this process."""
    dev = spawned_nodegroup.create_node("WebCamAV", name="remote-cam")
    dev.configure(camera_name="testsrc=size=160x120:rate=30", format="lavfi")
    indexes, frames, params = spawned_nodegroup.stream(dev, "video", 10)
    assert indexes[:10] == list(range(1, 11)) and frames.shape[1:] == (120, 160, 3)
    assert frames.dtype == np.uint8 and params["sample_rate"] == 30.0


def test_without_av_the_node_names_the_package():
    """Without PyAV the module imports (HAVE_AV False) and configure() raises an ImportError
    telling what to install."""
    code = (
        "import sys; sys.modules['av'] = None\n"
        "from pyacq.devices.webcam_av import HAVE_AV, WebCamAV\n"
        "assert HAVE_AV is False\n"
        "try:\n"
        "    WebCamAV().configure()\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "needs PyAV: pip install av" in result.stdout


def test_dshow_device_list_is_public_and_empty_off_windows():
    """get_device_list_dshow(), which pyacq 2.0 scripts call to pick a camera, lists no
    DirectShow device where DirectShow does not exist."""
    from pyacq.devices.webcam_av import get_device_list_dshow
    assert get_device_list_dshow() == [] and get_device_list_dshow(platform="linux") == []
