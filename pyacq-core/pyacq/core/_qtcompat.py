"""The Qt4-style names that pyacq 2.0's documented examples use, on today's pyqtgraph.

The documentation's examples were written for pyqtgraph < 0.13, whose
``pyqtgraph.Qt.QtGui`` also offered the widget classes of ``QtWidgets``
(``QtGui.QApplication([])``, ``QtGui.QWidget``...). pyqtgraph 0.13 dropped
those aliases, which broke the examples as written. Every pyacq module that
imports Qt imports this one, which puts them back: each ``QtWidgets`` class
that ``QtGui`` lacks becomes reachable from ``QtGui`` too. Nothing that
``QtGui`` already has is changed.
"""
from pyqtgraph.Qt import QtGui, QtWidgets


def add_widget_aliases():
    for name in dir(QtWidgets):
        if name.startswith("Q") and not hasattr(QtGui, name):
            setattr(QtGui, name, getattr(QtWidgets, name))


add_widget_aliases()
