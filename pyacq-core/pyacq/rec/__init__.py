"""pyacq.rec: recorder nodes writing streams to disk, and reading recordings back.

Each recorder is a ``pyacq.nodes`` entry point and is exported here lazily, so
that h5py and PyAV are imported only when their recorder is.

The node classes listed here are the distribution's entry points
(``tests/system/test_node_exports.py`` keeps the two lists equal).
"""
from pyacq.core._lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    "RawRecorder": "pyacq.rec.rawrecorder",
    "HDF5Recorder": "pyacq.rec.hdf5recorder",
    "AviRecorder": "pyacq.rec.avirecorder",
    "open_recording": "pyacq.rec.reading",
    "Recording": "pyacq.rec.reading",
    "RecordedStream": "pyacq.rec.reading",
    "RecordingWriteError": "pyacq.rec.errors",
    "RecordingExistsError": "pyacq.rec.errors",
})
