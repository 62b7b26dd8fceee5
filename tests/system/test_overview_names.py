"""Names the documentation's overview (chapter 2) uses after a bare ``import pyacq``."""


def test_plugin_subpackages_are_attributes_of_pyacq(run_python):
    """``pyacq.devices.PyAudio()`` and ``pyacq.viewers.QOscilloscope()`` work after only
    ``import pyacq``: the subpackages are imported on first access, and not before (no Qt)."""
    result = run_python("""
        import sys
        import pyacq
        assert "pyacq.viewers" not in sys.modules and "PyQt5" not in sys.modules
        from pyacq.devices.audio_pyaudio import PyAudio
        from pyacq.viewers.qoscilloscope import QOscilloscope
        assert pyacq.devices.PyAudio is PyAudio
        assert pyacq.viewers.QOscilloscope is QOscilloscope
        assert pyacq.dsp.AnalogTrigger.__name__ == "AnalogTrigger"
        assert pyacq.rec.RawRecorder.__name__ == "RawRecorder"
        print("ok")
    """)
    assert result.stdout.strip() == "ok", result.stdout + result.stderr


def test_viewer_without_qapplication_raises_instead_of_aborting(run_python):
    """Chapter 2.1 creates ``pyacq.viewers.QOscilloscope()`` with no QApplication: Qt would
    abort the process; the node raises a RuntimeError saying to create the QApplication."""
    result = run_python("""
        import pyacq
        try:
            pyacq.viewers.QOscilloscope()
        except RuntimeError as exc:
            print("raised:", exc)
        import pyqtgraph as pg
        app = pg.mkQApp()
        viewer = pyacq.viewers.QOscilloscope()
        print("created:", type(viewer).__name__)
    """)
    assert "raised: QOscilloscope is a Qt widget: create the QApplication first" in result.stdout, result.stderr
    assert "created: QOscilloscope" in result.stdout, result.stderr


def test_documented_qt4_style_names_work(run_python):
    """The documentation's examples create their QApplication as ``QtGui.QApplication([])``
    (pyqtgraph < 0.13 names): once a pyacq viewer or ThreadPollInput is imported, pyqtgraph's
    QtGui offers the QtWidgets classes again, and a node shows in that application."""
    result = run_python("""
        from pyqtgraph.Qt import QtGui, QtWidgets
        from pyacq.core.tools import ThreadPollInput
        assert QtGui.QApplication is QtWidgets.QApplication
        assert QtGui.QWidget is QtWidgets.QWidget
        assert QtGui.QColor.__module__ == "PyQt5.QtGui"  # QtGui's own classes are untouched
        app = QtGui.QApplication([])
        from pyacq import ImageViewer
        viewer = ImageViewer()
        viewer.show()
        print("shown:", viewer.isVisible())
    """)
    assert "shown: True" in result.stdout, result.stdout + result.stderr
