"""WidgetNode: a Node that is also a Qt widget, for viewers and control panels.

This module imports Qt; ``pyacq`` and ``pyacq.core`` expose ``WidgetNode``
lazily so that headless processes never load it.
"""
from pyqtgraph.Qt import QtWidgets

from pyacq.core.node import Node


class WidgetNode(QtWidgets.QWidget, Node):
    """Base class of nodes that display something.

    PyQt's cooperative multiple inheritance hands the keywords QWidget does not
    take (``name``) on to ``Node.__init__``.

    Parameters
    ----------
    parent : QWidget, optional
        The widget's Qt parent; None (default) makes it a window of its own.
    **kargs
        Node's keywords (``name``) and QWidget's (such as ``flags``).
    """

    def __init__(self, parent=None, **kargs):
        # Without a QApplication, Qt aborts the whole process on the first widget:
        # an exception that says what to do is the better failure.
        if QtWidgets.QApplication.instance() is None:
            raise RuntimeError(f"{type(self).__name__} is a Qt widget: create the QApplication first "
                               "(app = pyqtgraph.mkQApp()), or create the node in a NodeGroup, "
                               "which runs one")
        QtWidgets.QWidget.__init__(self, parent=parent, **kargs)

    def close(self):
        """Close the node (``Node.close``) and then the widget."""
        Node.close(self)
        QtWidgets.QWidget.close(self)
