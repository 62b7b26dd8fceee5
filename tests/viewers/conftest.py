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
def vt():
    """The helpers above, for test modules (``--import-mode=importlib`` cannot import conftest)."""
    return SimpleNamespace(wait_until=wait_until, process_events_for=process_events_for,
                           make_source=make_source, send_in_chunks=send_in_chunks,
                           grab_rgb=grab_rgb, color_mask=color_mask, view_to_widget=view_to_widget)
