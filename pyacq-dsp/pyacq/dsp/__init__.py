"""pyacq.dsp: signal processing nodes (plugin distribution ``pyacq-dsp``).

Node classes are registered through ``pyacq.nodes`` entry points and exported
here lazily: scipy, pyopencl and Qt are imported only by the modules (and
options) that compute with them.

The node classes listed here are the distribution's entry points
(``tests/system/test_node_exports.py`` keeps the two lists equal), plus
:class:`ProcessingNode`, the base of nodes that process their inputs chunk by
chunk, for node authors to derive from.
"""
from pyacq.core._lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "AnalogTrigger": "pyacq.dsp.trigger",
    "DigitalTrigger": "pyacq.dsp.trigger",
    "TriggerAccumulator": "pyacq.dsp.triggeraccumulator",
    "SosFilter": "pyacq.dsp.sosfilter",
    "OverlapFiltfilt": "pyacq.dsp.overlapfiltfilt",
    "SpikeDetector": "pyacq.dsp.spikedetector",
    "ProcessingNode": "pyacq.dsp.processingnode",
})
