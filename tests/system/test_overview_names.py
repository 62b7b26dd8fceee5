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


def test_pyacq_qt_modules_leave_pyqtgraph_unchanged(run_python):
    """Importing and using pyacq's Qt modules (WidgetNode, the Qt pollers, a viewer, a Qt RPC
    server) adds nothing to pyqtgraph's QtGui: its widget aliases are an explicit opt-in."""
    result = run_python("""
        from pyqtgraph.Qt import QtGui, QtWidgets
        before = set(vars(QtGui))
        from pyacq.core.widgetnode import WidgetNode
        from pyacq.core.tools import ThreadPollInput, ThreadPollOutput
        from pyacq.core.rpc import QtRPCServer
        from pyacq import ImageViewer, QOscilloscope
        app = QtWidgets.QApplication([])
        ImageViewer().show()
        print("added:", sorted(set(vars(QtGui)) - before), hasattr(QtGui, "QWidget"))
    """)
    assert "added: [] False" in result.stdout, result.stdout + result.stderr


def test_documented_qt4_style_names_work_after_the_opt_in(run_python):
    """The documentation's examples create their QApplication as ``QtGui.QApplication([])``
    (pyqtgraph < 0.13 names): after ``pyacq.core.qtcompat.add_widget_aliases()`` pyqtgraph's
    QtGui offers the QtWidgets classes again, keeps its own classes, and a node shows in that
    application."""
    result = run_python("""
        from pyqtgraph.Qt import QtGui, QtWidgets
        from pyacq.core.qtcompat import add_widget_aliases
        own_color = QtGui.QColor
        add_widget_aliases()
        add_widget_aliases()
        assert QtGui.QApplication is QtWidgets.QApplication
        assert QtGui.QWidget is QtWidgets.QWidget
        assert QtGui.QColor is own_color and QtGui.QColor.__module__ == "PyQt5.QtGui"
        app = QtGui.QApplication([])
        from pyacq import ImageViewer
        viewer = ImageViewer()
        viewer.show()
        print("shown:", viewer.isVisible())
    """)
    assert "shown: True" in result.stdout, result.stdout + result.stderr
