"""Stream tools: nodes that convert, split and re-chunk streams, and input pollers.

pyacq 2.0's namespace for the classes of :mod:`pyacq.core.streamtools`.
``StreamConverter``, ``ChannelSplitter``, ``ChunkResizer`` and
``InputPoller`` need no Qt. ``ThreadPollInput`` / ``ThreadPollOutput`` are
QThreads; they are loaded on first access so that importing this module
never imports Qt.
"""
from pyacq.core.streamtools.channelsplitter import ChannelSplitter
from pyacq.core.streamtools.chunkresizer import ChunkResizer
from pyacq.core.streamtools.inputpoller import InputPoller
from pyacq.core.streamtools.streamconverter import StreamConverter

__all__ = [
    "ChannelSplitter",
    "ChunkResizer",
    "InputPoller",
    "StreamConverter",
]

_QT_NAMES = ("ThreadPollInput", "ThreadPollOutput")


def __getattr__(name):
    if name in _QT_NAMES:
        from pyacq.core.streamtools import qtpollers
        value = getattr(qtpollers, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pyacq.core.tools' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_QT_NAMES))
