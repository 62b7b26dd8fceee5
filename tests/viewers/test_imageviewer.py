"""ImageViewer offscreen: a coloured test frame appears upright with its colours in place."""
import numpy as np
import pytest
from pyacq.core import OutputStream
from pyacq.viewers import ImageViewer


def video_source(height, width, transfermode="plaindata"):
    output = OutputStream(name="camera")
    extra = dict(buffer_size=4) if transfermode == "sharedmem" else {}
    output.configure(protocol="inproc", transfermode=transfermode, streamtype="image/video",
                     dtype="uint8", shape=(-1, height, width, 3), sample_rate=30.0, **extra)
    return output


@pytest.mark.parametrize("transfermode", ["plaindata", "sharedmem"])
def test_frame_colours_are_where_they_belong(qapp, closing, vt, transfermode):
    """Left half red, right half blue, a green square at the top left: the grabbed widget shows
    the same colours at the same places (row 0 on top, not mirrored), only the newest frame."""
    height, width = 60, 80
    source = video_source(height, width, transfermode)
    closing(source)
    viewer = ImageViewer(name="camera view")
    closing(viewer)
    viewer.configure()
    viewer.input.connect(source)
    viewer.initialize()
    viewer.resize(400, 300)
    viewer.show()
    viewer.start()
    frame = np.zeros((1, height, width, 3), dtype="uint8")
    frame[0, :, : width // 2] = (255, 0, 0)
    frame[0, :, width // 2:] = (0, 0, 255)
    frame[0, :20, :20] = (0, 255, 0)
    stale = np.full((1, height, width, 3), 128, dtype="uint8")
    source.send(stale)
    source.send(frame)
    vt.wait_until(qapp, lambda: viewer.image_item.image is not None and viewer.image_item.image[0, 0, 1] == 255,
                  message="the newest frame drawn")
    qapp.processEvents()
    rgb = vt.grab_rgb(viewer)

    def colour_at(column, row):
        point = viewer.viewbox.mapViewToDevice(pg_point(column + 0.5, row + 0.5)).toPoint()
        point = viewer.graphicsview.mapTo(viewer, point)
        return tuple(rgb[point.y(), point.x()])

    assert colour_at(10, 10) == (0, 255, 0)
    assert colour_at(10, 50) == (255, 0, 0)
    assert colour_at(70, 10) == (0, 0, 255)
    assert colour_at(70, 50) == (0, 0, 255)


def pg_point(x, y):
    from pyqtgraph.Qt import QtCore
    return QtCore.QPointF(x, y)


def test_refuses_signals(qapp, closing, vt):
    """An analog (time, channel) stream is not video: initialize() says what shape it needs."""
    source = vt.make_source(2, 100.0)
    closing(source)
    viewer = ImageViewer()
    closing(viewer)
    viewer.configure()
    viewer.input.connect(source)
    with pytest.raises(ValueError, match="video frames"):
        viewer.initialize()


def test_several_videos_in_a_grid(qapp, closing, vt):
    """configure(num_video=3, nb_column=2), as pyacq 2.0 scripts write it: inputs video0..video2,
    each camera's frame drawn in its own cell (two on the first row, one below), in its colour."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255)]
    viewer = ImageViewer(name="three cameras")
    closing(viewer)
    viewer.configure(num_video=3, nb_column=2)
    assert sorted(viewer.inputs) == ["video0", "video1", "video2"]
    sources = []
    for i in range(3):
        source = video_source(30, 40)
        closing(source)
        viewer.inputs[f"video{i}"].connect(source)
        sources.append(source)
    viewer.initialize()
    viewer.resize(600, 450)
    viewer.show()
    viewer.start()
    for source, colour in zip(sources, colours):
        source.send(np.broadcast_to(np.array(colour, np.uint8), (1, 30, 40, 3)).copy())
    vt.wait_until(qapp, lambda: all(item.image is not None for item in viewer.image_items),
                  message="a frame drawn in every cell")
    qapp.processEvents()
    rgb = vt.grab_rgb(viewer)
    centres = []
    for viewbox, colour in zip(viewer.viewboxes, colours):
        point = viewer.graphicsview.mapTo(viewer, viewbox.mapViewToDevice(pg_point(20, 15)).toPoint())
        assert tuple(rgb[point.y(), point.x()]) == colour
        centres.append((point.x(), point.y()))
    (x0, y0), (x1, y1), (x2, y2) = centres
    assert abs(y0 - y1) < 5 and x1 > x0 and y2 > y0 + 50 and abs(x2 - x0) < 5


def test_one_video_keeps_its_input_name(qapp, closing):
    """configure() alone keeps the single input 'video'; nb_column needs num_video."""
    viewer = ImageViewer()
    closing(viewer)
    viewer.configure()
    assert list(viewer.inputs) == ["video"]
    other = ImageViewer()
    closing(other)
    with pytest.raises(ValueError, match="num_video"):
        other.configure(nb_column=2)
