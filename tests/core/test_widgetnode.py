"""WidgetNode: a Node that is a QWidget, rendered offscreen."""
import pytest

pytest.importorskip("PyQt5")

from pyacq.core import Node, NodeStateError, WidgetNode
from pyqtgraph.Qt import QtGui, QtWidgets


@pytest.fixture(scope="module")
def qapp():
    return QtWidgets.QApplication.instance() or QtWidgets.QApplication([])


class ColorPanel(WidgetNode):
    """Paints itself in a color chosen by configure()."""

    def _configure(self, color="#ff0000"):
        self.color = QtGui.QColor(color)
        self.setAutoFillBackground(True)
        palette = self.palette()
        palette.setColor(self.backgroundRole(), self.color)
        self.setPalette(palette)


def test_widget_node_is_widget_and_node(qapp):
    """A WidgetNode keeps the Node lifecycle, takes a name, and renders as a widget."""
    panel = ColorPanel(name="panel")
    assert isinstance(panel, QtWidgets.QWidget) and isinstance(panel, Node)
    assert panel.name == "panel"
    panel.configure(color="#00ff00")
    panel.initialize()
    panel.resize(40, 30)
    panel.show()
    qapp.processEvents()
    image = panel.grab().toImage()
    assert QtGui.QColor(image.pixel(20, 15)).name() == "#00ff00"
    panel.start()
    with pytest.raises(NodeStateError, match="ColorPanel node 'panel'"):
        panel.close()
    panel.stop()
    panel.close()
    assert panel.closed() and not panel.isVisible()


def test_widget_node_parent(qapp):
    """A WidgetNode embedded in another widget keeps that parent."""
    holder = QtWidgets.QWidget()
    panel = ColorPanel(parent=holder, name="child")
    assert panel.parent() is holder and panel.name == "child"
    panel.close()
    holder.deleteLater()
