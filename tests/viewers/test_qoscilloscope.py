"""QOscilloscope offscreen: what is drawn follows the signal, gain, offset, ylim and visibility."""
import numpy as np
import pytest
from pyacq.core import get_node_type
from pyacq.viewers import QOscilloscope
from pyqtgraph.Qt import QtCore, QtTest

RED, GREEN, BLUE = "#ff0000", "#00ff00", "#0000ff"


def sine(n, sample_rate, freq=5.0, amplitude=1.0):
    return (amplitude * np.sin(2 * np.pi * freq * np.arange(n) / sample_rate)).astype("float32")


def set_colors(viewer, colors):
    for i, color in enumerate(colors):
        viewer.by_channel_params[f"Signal{i}", "color"] = color


def test_every_viewer_is_registered_by_entry_point():
    """The seven documented viewer classes are found by name through pyacq-viewers' entry points."""
    from pyacq import viewers
    for name in ("QOscilloscope", "QTriggeredOscilloscope", "QTimeFreq", "TimeFreqWorker",
                 "ImageViewer", "QDigitalOscilloscope", "QOscilloscopeMultiPlot"):
        assert get_node_type(name) is getattr(viewers, name)


def test_extent_follows_gain_offset_ylim_and_hidden_channel_draws_nothing(qapp, closing, vt, start_viewer):
    """A unit sine on channel 0 with gain 0.5 spans y in [-0.5, 0.5] of ylim [-2, 2]; a hidden
    channel draws no pixel; a zero channel with offset 1 is a flat line at y = 1."""
    sr = 1000.0
    source = vt.make_source(3, sr, channel_names=["a", "b", "c"])
    closing(source)
    viewer = start_viewer(QOscilloscope, source)
    viewer.params["xsize"] = 2.0
    viewer.params["ylim_min"], viewer.params["ylim_max"] = -2.0, 2.0
    set_colors(viewer, [RED, GREEN, BLUE])
    viewer.by_channel_params["Signal0", "gain"] = 0.5
    viewer.by_channel_params["Signal1", "visible"] = False
    viewer.by_channel_params["Signal2", "offset"] = 1.0
    data = np.zeros((3000, 3), dtype="float32")
    data[:, 0] = sine(3000, sr)
    data[:, 1] = sine(3000, sr)
    vt.draw_until(qapp, viewer, vt.send_in_chunks(source, data, 100))
    rgb = vt.grab_rgb(viewer)
    plot = viewer.plots[0]
    _, top = vt.view_to_widget(viewer, plot, -1.0, 0.5)
    _, bottom = vt.view_to_widget(viewer, plot, -1.0, -0.5)
    red_rows = vt.rows_of(vt.color_mask(rgb, RED))
    assert abs(red_rows.min() - top) <= 2 and abs(red_rows.max() - bottom) <= 2, (red_rows, top, bottom)
    assert not vt.color_mask(rgb, GREEN).any()
    _, line = vt.view_to_widget(viewer, plot, -1.0, 1.0)
    blue_rows = vt.rows_of(vt.color_mask(rgb, BLUE))
    assert len(blue_rows) and np.all(np.abs(blue_rows - line) <= 1), (blue_rows, line)
    # the sine fills the whole width of the 2 s window: 10 periods of 5 Hz
    red_columns = np.flatnonzero(vt.color_mask(rgb, RED).any(axis=0))
    left, _ = vt.view_to_widget(viewer, plot, -2.0, 0)
    right, _ = vt.view_to_widget(viewer, plot, 0.0, 0)
    assert red_columns.min() <= left + 3 and red_columns.max() >= right - 3


def test_gap_is_drawn_as_gap(qapp, closing, vt, start_viewer):
    """Samples that never arrived (an index jump) leave an empty stretch of the right width."""
    sr = 1000.0
    source = vt.make_source(1, sr)
    closing(source)
    viewer = start_viewer(QOscilloscope, source)
    viewer.params["xsize"] = 3.0
    viewer.params["ylim_min"], viewer.params["ylim_max"] = -2.0, 2.0
    set_colors(viewer, [RED])
    index = vt.send_in_chunks(source, sine(1000, sr)[:, None], 50)
    index = vt.send_in_chunks(source, sine(1000, sr)[:, None], 50, index_offset=index + 1000)
    vt.draw_until(qapp, viewer, index)
    assert viewer.input.gap_count == 1
    columns = np.flatnonzero(vt.color_mask(vt.grab_rgb(viewer), RED).any(axis=0))
    plot = viewer.plots[0]
    gap_left, _ = vt.view_to_widget(viewer, plot, -2.0, 0)
    gap_right, _ = vt.view_to_widget(viewer, plot, -1.0, 0)
    inside = columns[(columns > gap_left + 2) & (columns < gap_right - 2)]
    assert inside.size == 0, f"curve drawn inside the gap at columns {inside}"
    assert (columns < gap_left).any() and (columns > gap_right).any()


@pytest.mark.parametrize("method, spike_seen", [("min_max", True), ("pure_decimate", False)])
def test_min_max_decimation_keeps_a_single_sample_spike(qapp, closing, method, spike_seen, vt, start_viewer):
    """At 20 kHz over 10 s (hundreds of samples per pixel) 'min_max' still draws a one-sample
    spike to its full height; 'pure_decimate' skips it (it is not a bin's first sample)."""
    sr = 20000.0
    source = vt.make_source(1, sr)
    closing(source)
    viewer = start_viewer(QOscilloscope, source, max_xsize=10.0)
    viewer.params["xsize"] = 10.0
    viewer.params["ylim_min"], viewer.params["ylim_max"] = -0.5, 1.5
    viewer.params["decimation_method"] = method
    set_colors(viewer, [RED])
    data = np.zeros((150000, 1), dtype="float32")
    data[100001, 0] = 1.0
    vt.draw_until(qapp, viewer, vt.send_in_chunks(source, data, 5000))
    assert viewer._cache.step > 100
    rows = vt.rows_of(vt.color_mask(vt.grab_rgb(viewer), RED))
    _, spike_row = vt.view_to_widget(viewer, viewer.plots[0], -1.0, 1.0)
    assert (abs(rows.min() - spike_row) <= 2) == spike_seen, (rows.min(), spike_row)


def test_scan_mode_cursor_and_sharedmem_int16_transposed(qapp, closing, vt, start_viewer):
    """An int16 sharedmem stream stored channel-major (axisorder [1, 0]) is drawn in real units;
    in scan mode the cursor sits where the next sample will be written."""
    sr = 1000.0
    source = vt.make_source(2, sr, dtype="int16", transfermode="sharedmem", buffer_size=4000,
                         axisorder=[1, 0])
    closing(source)
    viewer = start_viewer(QOscilloscope, source)
    viewer.params["mode"] = "scan"
    viewer.params["xsize"] = 2.0
    viewer.params["ylim_min"], viewer.params["ylim_max"] = -200.0, 200.0
    set_colors(viewer, [RED, GREEN])
    data = np.zeros((2500, 2), dtype="int16")
    data[:, 0] = 100
    data[:, 1] = -100
    vt.draw_until(qapp, viewer, vt.send_in_chunks(source, data, 100))
    rgb = vt.grab_rgb(viewer)
    plot = viewer.plots[0]
    _, row_red = vt.view_to_widget(viewer, plot, 1.0, 100.0)
    _, row_green = vt.view_to_widget(viewer, plot, 1.0, -100.0)
    assert np.all(np.abs(vt.rows_of(vt.color_mask(rgb, RED)) - row_red) <= 1)
    assert np.all(np.abs(vt.rows_of(vt.color_mask(rgb, GREEN)) - row_green) <= 1)
    # 2500 samples in a 2 s window: the cursor is at 0.5 s
    assert viewer.cursors[0].isVisible()
    assert viewer.cursors[0].value() == pytest.approx(0.5, abs=0.01)


def test_source_restart_and_viewer_stop_start(qapp, closing, vt, start_viewer):
    """The viewer survives its own stop()/start() and a source restarting at index 0: the old
    trace is cleared and the new one drawn."""
    sr = 1000.0
    source = vt.make_source(1, sr)
    closing(source)
    viewer = start_viewer(QOscilloscope, source)
    viewer.params["ylim_min"], viewer.params["ylim_max"] = -2.0, 2.0
    set_colors(viewer, [RED])
    vt.draw_until(qapp, viewer, vt.send_in_chunks(source, np.ones((2000, 1), "float32"), 100))
    viewer.stop()
    viewer.start()
    source.reset_buffer_index()
    index = vt.send_in_chunks(source, -np.ones((500, 1), "float32"), 100)
    vt.wait_until(qapp, lambda: viewer.history.head() == (index, 1), message="restart seen")
    viewer.refresh()
    rows = vt.rows_of(vt.color_mask(vt.grab_rgb(viewer), RED))
    _, minus_one = vt.view_to_widget(viewer, viewer.plots[0], -1.0, -1.0)
    assert np.all(np.abs(rows - minus_one) <= 1), "the trace from before the restart is still drawn"


def test_auto_scale_stacks_channels_by_channel(qapp, closing, vt, start_viewer):
    """auto_scale() in 'by_channel' mode gives each channel, whatever its amplitude, its own
    non-overlapping slot of the same height, first channel on top."""
    sr = 1000.0
    source = vt.make_source(2, sr)
    closing(source)
    viewer = start_viewer(QOscilloscope, source)
    set_colors(viewer, [RED, GREEN])
    data = np.stack([sine(3000, sr, amplitude=1000.0), sine(3000, sr, amplitude=0.01) + 5.0], axis=1)
    vt.draw_until(qapp, viewer, vt.send_in_chunks(source, data, 100))
    viewer.params["scale_mode"] = "by_channel"
    viewer.auto_scale()
    viewer.refresh()
    rgb = vt.grab_rgb(viewer)
    red, green = vt.rows_of(vt.color_mask(rgb, RED)), vt.rows_of(vt.color_mask(rgb, GREEN))
    assert red.max() < green.min(), "channel 0 must be above channel 1, without overlap"
    height_red, height_green = np.ptp(red), np.ptp(green)
    assert height_red > 50 and abs(height_red - height_green) <= 0.1 * height_red


def test_bad_parameters_are_refused(qapp, closing, vt):
    """Wrong configure() values and parameter values outside their choices raise, naming them."""
    viewer = QOscilloscope(name="scope")
    closing(viewer)
    with pytest.raises(ValueError, match="max_xsize"):
        viewer.configure(max_xsize=-1)
    source = vt.make_source(1, 100.0)
    closing(source)
    viewer.configure(max_xsize=5.0)
    viewer.input.connect(source)
    viewer.initialize()
    with pytest.raises(ValueError, match="'mode' must be one of"):
        viewer.params["mode"] = "sideways"
    with pytest.raises(ValueError, match="'xsize' must be between"):
        viewer.params["xsize"] = 6.0
    with pytest.raises(ValueError, match="decimation_method"):
        viewer.params["decimation_method"] = "nearest"


def test_refuses_a_stream_without_channels_or_rate(qapp, closing, vt):
    """initialize() refuses an input that is not (time, channel) or declares no sample rate."""
    from pyacq.core import OutputStream
    output = OutputStream()
    closing(output)
    output.configure(protocol="inproc", shape=(-1, 2), dtype="float32")
    viewer = QOscilloscope()
    closing(viewer)
    viewer.configure()
    viewer.input.connect(output)
    with pytest.raises(ValueError, match="sample_rate"):
        viewer.initialize()


def test_documented_example_and_double_click_dialog(qapp, closing, vt):
    """The documentation's lines work as written, and double-clicking the plot opens the
    parameter dialog showing both parameter trees."""
    source = vt.make_source(1, 44100.0, dtype="int16")
    closing(source)
    viewer = QOscilloscope()
    closing(viewer)
    viewer.configure(with_user_dialog=True)
    viewer.input.connect(source)
    viewer.initialize()
    viewer.show()
    viewer.params["decimation_method"] = "min_max"
    viewer.by_channel_params["Signal0", "gain"] = 0.001
    assert viewer.params["decimation_method"] == "min_max"
    assert viewer.by_channel_params["Signal0", "gain"] == pytest.approx(0.001)
    qapp.processEvents()
    assert viewer.params_dialog is None
    viewport = viewer.graphicsview.viewport()
    center = QtCore.QPoint(viewport.width() // 2, viewport.height() // 2)
    left = QtCore.Qt.MouseButton.LeftButton
    no_modifier = QtCore.Qt.KeyboardModifier.NoModifier
    QtTest.QTest.mouseClick(viewport, left, no_modifier, center)
    QtTest.QTest.mouseDClick(viewport, left, no_modifier, center)
    QtTest.QTest.mouseRelease(viewport, left, no_modifier, center)
    vt.wait_until(qapp, lambda: viewer.params_dialog is not None and viewer.params_dialog.isVisible(),
               message="the parameter dialog")
    trees = viewer.params_dialog.trees
    assert [tree.topLevelItem(0).param for tree in trees] == [viewer.params, viewer.by_channel_params]
