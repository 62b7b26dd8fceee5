"""Helpers for the viewer tests: a real offscreen QApplication, real streams, pixel reading.

Every wait processes Qt events until a condition holds, with a timeout.
"""
import time
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("PyQt5")
pytest.importorskip("pyqtgraph")

import pyqtgraph as pg
from pyacq.core import OutputStream
from pyqtgraph.Qt import QtCore, QtGui, QtWidgets


@pytest.fixture(scope="session")
def qapp():
    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


def wait_until(qapp, condition, timeout=20.0, message="condition"):
    """Process Qt events until ``condition()`` is true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {message}"
        qapp.processEvents()
        time.sleep(0.005)


def process_events_for(qapp, seconds):
    """Let Qt run for ``seconds`` (used only to prove that something does *not* happen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.005)


def make_source(nb_channel, sample_rate, dtype="float32", channel_names=None, **params):
    """A configured OutputStream standing in for a device (channel metadata in its spec)."""
    output = OutputStream(name="source")
    names = channel_names or [f"ch{i}" for i in range(nb_channel)]
    output.spec.update(nb_channel=nb_channel, channel_info=[{"name": n} for n in names])
    params.setdefault("protocol", "inproc")
    params.setdefault("transfermode", "plaindata")
    output.configure(shape=(-1, nb_channel), dtype=dtype, sample_rate=sample_rate, **params)
    return output


def send_in_chunks(output, data, chunksize, index_offset=0):
    """Send ``data`` in chunks of ``chunksize`` samples; return the last index."""
    index = index_offset
    for start in range(0, len(data), chunksize):
        chunk = np.ascontiguousarray(data[start:start + chunksize])
        index = index_offset + start + len(chunk)
        output.send(chunk, index=index)
    return index


def grab_rgb(widget):
    """The widget's pixels as an (height, width, 3) uint8 RGB array."""
    image = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    return pg.functions.ndarray_from_qimage(image)[:, :, :3].copy()


def color_mask(rgb, color, tolerance=60):
    """Pixels within ``tolerance`` (sum of channel differences) of ``color``."""
    color = pg.mkColor(color)
    target = np.array([color.red(), color.green(), color.blue()], dtype=int)
    return np.abs(rgb.astype(int) - target).sum(axis=2) <= tolerance


def rows_of(mask):
    """Rows of a (height, width) pixel mask where any pixel is set."""
    return np.flatnonzero(mask.any(axis=1))


def draw_until(qapp, viewer, index):
    """Wait until an oscilloscope holds samples up to ``index``, then draw a frame now."""
    wait_until(qapp, lambda: viewer.history.head()[0] >= index, message=f"samples up to {index}")
    viewer.refresh()
    qapp.processEvents()


def view_to_widget(viewer, plot, x, y):
    """Pixel (column, row) in ``viewer`` of the point (x, y) in ``plot``'s data coordinates."""
    device = plot.vb.mapViewToDevice(QtCore.QPointF(x, y))
    point = viewer.graphicsview.mapTo(viewer, device.toPoint())
    return point.x(), point.y()


@pytest.fixture
def closing():
    """``closing(thing)``: stop/close a node or close a stream after the test, newest first."""
    things = []
    yield things.append
    for thing in reversed(things):
        if callable(getattr(thing, "running", None)) and thing.running():
            thing.stop()
        if callable(getattr(thing, "closed", None)):
            if not thing.closed():
                thing.close()
        else:
            thing.close()


@pytest.fixture
def start_viewer(qapp, closing):
    """``start_viewer(cls, source, size=(500, 300), **configure)``: a viewer named "scope" on
    ``source``, configured, shown at ``size`` and started; closed after the test."""
    def start(cls, source, size=(500, 300), **configure):
        viewer = cls(name="scope")
        closing(viewer)
        viewer.configure(**configure)
        viewer.input.connect(source)
        viewer.initialize()
        viewer.resize(*size)
        viewer.show()
        qapp.processEvents()
        viewer.start()
        return viewer
    return start


def start_with_burst(viewer, source):
    """Show an initialized two-channel QTimeFreq on 2-40 Hz, start it and send 1 s of zeros,
    then 2 s with a 10 Hz sine of amplitude 1 on channel 0 only; return the last index."""
    viewer.resize(600, 300)
    viewer.show()
    viewer.params["refresh_interval"] = 100
    viewer.params["xsize"] = 2.0
    viewer.params["timefreq", "f_start"] = 2.0
    viewer.params["timefreq", "f_stop"] = 40.0
    viewer.params["timefreq", "deltafreq"] = 1.0
    for channel in range(2):
        viewer.by_channel_params[f"Signal{channel}", "clim"] = 1.0
    viewer.start()
    sample_rate = viewer.sample_rate
    data = np.zeros((3 * int(sample_rate), 2), dtype="float32")
    data[int(sample_rate):, 0] = np.sin(2 * np.pi * 10.0 * np.arange(2 * int(sample_rate)) / sample_rate)
    return send_in_chunks(source, data, 100)


def burst_peak(viewer):
    """Where channel 0's spectrogram (after start_with_burst) is brightest, 1 s before now:
    ``(brightness, profile, peak_freq)``, the grabbed pixels summed over RGB, the brightness of
    the 2-40 Hz rows (2 pixels in from each end, 7 columns) and the frequency of the peak row."""
    brightness = grab_rgb(viewer).astype(float).sum(axis=2)
    plot = viewer.plots[0]
    column, _ = view_to_widget(viewer, plot, -1.0, 0.0)
    _, row_top = view_to_widget(viewer, plot, -1.0, 40.0)
    _, row_bottom = view_to_widget(viewer, plot, -1.0, 2.0)
    profile = brightness[row_top + 2:row_bottom - 2, column - 3:column + 4].mean(axis=1)
    peak_row = row_top + 2 + int(np.argmax(profile))
    device = viewer.graphicsview.mapFrom(viewer, QtCore.QPoint(column, peak_row))
    return brightness, profile, plot.vb.mapDeviceToView(QtCore.QPointF(device)).y()


@pytest.fixture
def vt():
    """The helpers above, for test modules (``--import-mode=importlib`` cannot import conftest)."""
    return SimpleNamespace(wait_until=wait_until, process_events_for=process_events_for,
                           make_source=make_source, send_in_chunks=send_in_chunks,
                           grab_rgb=grab_rgb, color_mask=color_mask, rows_of=rows_of,
                           draw_until=draw_until, view_to_widget=view_to_widget,
                           start_with_burst=start_with_burst, burst_peak=burst_peak)
