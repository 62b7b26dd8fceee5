"""Protocol simulators of the EEG devices, to try or test a pipeline without the hardware.

- :class:`RDAServer` serves BrainVision Recorder's RDA socket (for ``BrainAmpSocket``).
- :class:`OpenBCIBoard` is an OpenBCI Cyton (+ Daisy) on a pseudo-terminal (for ``OpenBCI``).
- :class:`EmotivHeadset` generates encrypted Emotiv EPOC HID reports (for ``Emotiv``).

Each streams at the device's real rate and can inject faults (fragmented
reads, lost blocks or packets, corrupt bytes); see each class. Nothing is
imported until a simulator is used.
"""
from pyacq.core._lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "RDAServer": "pyacq.devices.simulators.rda_server",
    "OpenBCIBoard": "pyacq.devices.simulators.openbci_board",
    "EmotivHeadset": "pyacq.devices.simulators.emotiv_headset",
})
