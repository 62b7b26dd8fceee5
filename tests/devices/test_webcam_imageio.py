"""WebCamImageIO against imageio's real ffmpeg reader, on video files written by PyAV."""
import subprocess
import sys

import numpy as np
import pytest
from pyacq.core import InputStream, get_node_type

from .conftest import frame_color, write_test_video

pytest.importorskip("imageio_ffmpeg", reason="imageio-ffmpeg is not installed")
pytest.importorskip("av", reason="PyAV writes the test videos (pip install av)")

from pyacq.devices import WebCamImageIO


@pytest.fixture
def camera(device_nodes):
    """A WebCamImageIO node and an InputStream, stopped and closed after the test."""
    return device_nodes.add(WebCamImageIO(name="cam")), device_nodes.add(InputStream())


def test_registered_by_entry_point():
    """WebCamImageIO is found by name through the pyacq-devices entry point."""
    assert get_node_type("WebCamImageIO") is WebCamImageIO


def test_video_file_plays_exact_frames_at_its_rate(camera, tmp_path, receive_chunks):
    """A 20 fps file of 30 lossless frames gives exactly those frames as (1, 48, 64, 3)
    uint8 chunks with consecutive indexes and sample_rate 20, paced at 20 frames per
    second, then the stream ends."""
    path = write_test_video(tmp_path / "clip.mkv", range(30), frame_rate=20)
    dev, inp = camera
    dev.configure(uri=str(path))
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    inp.connect(dev.output)
    dev.initialize()
    params = inp.params
    assert params["shape"] == [-1, 48, 64, 3] and np.dtype(params["dtype"]) == np.uint8
    assert params["sample_rate"] == 20.0 and params["streamtype"] == "image/video"
    dev.start()
    indexes, frames, times = receive_chunks(inp, 30)
    assert not inp.poll(timeout=500), "frames after the end of the file"
    dev.stop()
    assert indexes == list(range(1, 31)) and frames.dtype == np.uint8
    expected = np.array([frame_color(k) for k in range(30)], np.uint8)
    np.testing.assert_array_equal(frames, np.broadcast_to(expected[:, None, None, :], frames.shape))
    rate = (len(times) - 1) / (times[-1] - times[0])
    assert 14.0 < rate < 22.0, rate


def test_reader_options_reach_ffmpeg(camera, tmp_path, receive_chunks):
    """Reader options go to imageio's ffmpeg reader: size='32x24' scales the frames, and the
    stream shape follows."""
    path = write_test_video(tmp_path / "clip.mkv", range(5), frame_rate=25)
    dev, inp = camera
    dev.configure(uri=str(path), size="32x24")
    dev.output.configure(protocol="inproc", transfermode="plaindata")
    inp.connect(dev.output)
    dev.initialize()
    assert inp.params["shape"] == [-1, 24, 32, 3]
    dev.start()
    indexes, frames, _ = receive_chunks(inp, 5)
    dev.stop()
    assert indexes == [1, 2, 3, 4, 5] and frames.shape == (5, 24, 32, 3)
    assert tuple(frames[4, 12, 16]) == frame_color(4)


def test_bad_sources_are_refused(camera, tmp_path):
    """A missing file and a missing camera raise OSError at configure() naming the source."""
    dev, _ = camera
    with pytest.raises(OSError, match=r"cannot open video source '.*nothing\.mkv'"):
        dev.configure(uri=str(tmp_path / "nothing.mkv"))
    if sys.platform.startswith("linux"):
        with pytest.raises(OSError, match=r"cannot open video source '<video77>'"):
            dev.configure(camera_num=77)
    assert not dev.configured()


def test_without_imageio_the_node_names_the_package():
    """Without imageio the module imports (HAVE_IMAGEIO False) and configure() raises an
    ImportError telling what to install."""
    code = (
        "import sys; sys.modules['imageio'] = None\n"
        "from pyacq.devices.webcam_imageio import HAVE_IMAGEIO, WebCamImageIO\n"
        "assert HAVE_IMAGEIO is False\n"
        "try:\n"
        "    WebCamImageIO().configure()\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "needs imageio and imageio-ffmpeg: pip install imageio imageio-ffmpeg" in result.stdout


def test_runs_in_a_spawned_nodegroup_created_by_name(spawned_nodegroup, tmp_path):
    """A WebCamImageIO created by name in a Manager's spawned NodeGroup streams a file's frames,
    exact, to a receiver in this process."""
    path = write_test_video(tmp_path / "clip.mkv", range(8), frame_rate=25)
    dev = spawned_nodegroup.create_node("WebCamImageIO", name="remote-cam")
    dev.configure(uri=str(path))
    indexes, frames, _ = spawned_nodegroup.stream(dev, "video", 8)
    assert indexes == list(range(1, 9))
    assert [tuple(frame[0, 0]) for frame in frames] == [frame_color(k) for k in range(8)]
