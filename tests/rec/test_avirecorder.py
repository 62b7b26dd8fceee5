"""AviRecorder: video streams encoded through PyAV, with a per-frame side table."""
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
