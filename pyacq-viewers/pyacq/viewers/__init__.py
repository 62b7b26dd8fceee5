"""pyacq.viewers: Qt viewer nodes (plugin distribution ``pyacq-viewers``).

Node classes are registered through ``pyacq.nodes`` entry points and exported
here lazily, so that Qt and pyqtgraph are imported only when a viewer is.

The node classes listed here are the distribution's entry points
(``tests/system/test_node_exports.py`` keeps the two lists equal).
"""
from pyacq.core._lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "QOscilloscope": "pyacq.viewers.qoscilloscope",
    "QTriggeredOscilloscope": "pyacq.viewers.qtriggeredoscilloscope",
    "QTimeFreq": "pyacq.viewers.qtimefreq",
    "TimeFreqWorker": "pyacq.viewers.timefreqworker",
    "ImageViewer": "pyacq.viewers.imageviewer",
    "QDigitalOscilloscope": "pyacq.viewers.qdigitaloscilloscope",
    "QOscilloscopeMultiPlot": "pyacq.viewers.qoscilloscopemultiplot",
})
