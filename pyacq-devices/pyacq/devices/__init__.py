"""pyacq.devices: acquisition device nodes (plugin distribution ``pyacq-devices``).

Each node class is registered through a ``pyacq.nodes`` entry point and
exported here lazily, so that a device library (PyAudio, PyAV, pyserial, ...)
is imported only when its node is.

The node classes listed here are the distribution's entry points
(``tests/system/test_node_exports.py`` keeps the two lists equal).
"""
from pyacq.core._lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "NumpyDeviceBuffer": "pyacq.devices.npbufferdevice",
    "PyAudio": "pyacq.devices.audio_pyaudio",
    "WebCamAV": "pyacq.devices.webcam_av",
    "WebCamImageIO": "pyacq.devices.webcam_imageio",
    "BrainAmpSocket": "pyacq.devices.brainampsocket",
    "OpenBCI": "pyacq.devices.eeg_openBCI",
    "Emotiv": "pyacq.devices.eeg_emotiv",
    "LslInlet": "pyacq.devices.lsl",
    "LslOutlet": "pyacq.devices.lsl",
})
