"""Qt4-style widget names on ``pyqtgraph.Qt.QtGui``, for pyacq 2.0 scripts that use them.

pyacq 2.0's documented examples were written for pyqtgraph < 0.13, whose
``pyqtgraph.Qt.QtGui`` also offered the widget classes of ``QtWidgets``
(``QtGui.QApplication([])``, ``QtGui.QWidget``...). pyqtgraph 0.13 dropped
those aliases. A script written that way runs again once it calls
:func:`add_widget_aliases` before its first such name::

    from pyqtgraph.Qt import QtCore, QtGui
    from pyacq.core.qtcompat import add_widget_aliases

    add_widget_aliases()
    app = QtGui.QApplication([])

Nothing in pyacq calls it: the aliases change pyqtgraph for the whole process,
which only the script that needs them should decide.
"""
from pyqtgraph.Qt import QtGui, QtWidgets


def add_widget_aliases():
    """Make every ``QtWidgets`` class that ``pyqtgraph.Qt.QtGui`` lacks reachable from ``QtGui``.

    ``QtGui`` then offers ``QApplication``, ``QWidget``, ``QLabel``... as pyqtgraph < 0.13
    did; what ``QtGui`` already has (``QColor``, ``QImage``...) is left as it is. Calling it
    again changes nothing.
    """
    for name in dir(QtWidgets):
        if name.startswith("Q") and not hasattr(QtGui, name):
            setattr(QtGui, name, getattr(QtWidgets, name))
