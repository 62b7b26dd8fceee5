"""QDigitalOscilloscope and QOscilloscopeMultiPlot offscreen: rows per bit, channels per plot."""
import numpy as np
import pytest
from pyacq.viewers import QDigitalOscilloscope, QOscilloscopeMultiPlot

RED, GREEN, BLUE = "#ff0000", "#00ff00", "#0000ff"


def test_digital_rows_follow_each_bit(qapp, closing, vt, start_viewer):
    """Each bit of a uint8 port is its own row: a bit stuck at 1 is a line at the top of its row,
    a bit stuck at 0 at the bottom, a toggling bit spans the row; bit 0 is the top row."""
    source = vt.make_source(1, 1000.0, dtype="uint8", channel_names=["port"])
    closing(source)
    viewer = start_viewer(QDigitalOscilloscope, source, size=(500, 400))
    assert viewer.nb_trace == 8 and viewer.trace_names[:2] == ["port.0", "port.1"]
    viewer.params["display_labels"] = False
    for bit in range(8):
        viewer.by_channel_params[f"Signal{bit}", "visible"] = bit < 3
    for bit, color in enumerate([RED, GREEN, BLUE]):
        viewer.by_channel_params[f"Signal{bit}", "color"] = color
    data = np.full((2000, 1), 0b001, dtype="uint8")  # bit 0 high, bit 1 low
    data[::40, 0] |= 0b100  # bit 2 toggles
    vt.draw_until(qapp, viewer, vt.send_in_chunks(source, data, 100))
    rgb = vt.grab_rgb(viewer)
    plot = viewer.plots[0]

    def row(bit, value):
        return vt.view_to_widget(viewer, plot, -1.0, 7 - bit - 0.4 + 0.8 * value)[1]

    assert np.all(np.abs(vt.rows_of(vt.color_mask(rgb, RED)) - row(0, 1)) <= 1)
    assert np.all(np.abs(vt.rows_of(vt.color_mask(rgb, GREEN)) - row(1, 0)) <= 1)
    blue = vt.rows_of(vt.color_mask(rgb, BLUE))
    assert abs(blue.min() - row(2, 1)) <= 1 and abs(blue.max() - row(2, 0)) <= 1


def test_digital_refuses_float_streams(qapp, closing, vt):
    """A float stream is not a digital port: initialize() says so."""
    source = vt.make_source(1, 1000.0)
    closing(source)
    viewer = QDigitalOscilloscope()
    closing(viewer)
    viewer.configure()
    viewer.input.connect(source)
    with pytest.raises(TypeError, match="integers"):
        viewer.initialize()


def test_multiplot_groups_channels_and_moves_them(qapp, closing, vt, start_viewer):
    """Channels 0-1 go to the top plot and 2-3 to the bottom one by default; setting a channel's
    'plot' moves its curve to that plot."""
    source = vt.make_source(4, 1000.0)
    closing(source)
    viewer = start_viewer(QOscilloscopeMultiPlot, source, size=(500, 400), nb_plot=2)
    assert [viewer._channel_plot(c) for c in range(4)] == [0, 0, 1, 1]
    for channel, color in enumerate([RED, "#ffff00", GREEN, "#00ffff"]):
        viewer.by_channel_params[f"Signal{channel}", "color"] = color
    viewer.params["ylim_min"], viewer.params["ylim_max"] = -1.0, 1.0
    vt.draw_until(qapp, viewer, vt.send_in_chunks(source, np.zeros((1000, 4), "float32"), 100))
    top_center = vt.view_to_widget(viewer, viewer.plots[0], -1.0, 0.0)[1]
    bottom_center = vt.view_to_widget(viewer, viewer.plots[1], -1.0, 0.0)[1]
    assert bottom_center > top_center + 100
    rgb = vt.grab_rgb(viewer)
    assert np.all(np.abs(vt.rows_of(vt.color_mask(rgb, RED)) - top_center) <= 1)
    assert np.all(np.abs(vt.rows_of(vt.color_mask(rgb, GREEN)) - bottom_center) <= 1)
    viewer.by_channel_params["Signal0", "plot"] = 1
    viewer.refresh()
    rgb = vt.grab_rgb(viewer)
    bottom_center = vt.view_to_widget(viewer, viewer.plots[1], -1.0, 0.0)[1]
    assert np.all(np.abs(vt.rows_of(vt.color_mask(rgb, RED)) - bottom_center) <= 1)
    with pytest.raises(ValueError, match="'plot' must be between 0 and 1"):
        viewer.by_channel_params["Signal0", "plot"] = 2
