"""Stream tools: nodes that convert, split and re-chunk streams, and input pollers.

``StreamConverter``, ``ChannelSplitter``, ``ChunkResizer`` and
``InputPoller`` need no Qt. ``ThreadPollInput`` / ``ThreadPollOutput`` are
QThreads; they are loaded on first access so that importing this module
never imports Qt.
"""
from .channelsplitter import ChannelSplitter
from .chunkresizer import ChunkResizer
from .inputpoller import InputPoller
from .streamconverter import StreamConverter

__all__ = [
    "ChannelSplitter",
    "ChunkResizer",
    "InputPoller",
    "StreamConverter",
]

_QT_NAMES = ("ThreadPollInput", "ThreadPollOutput")


def __getattr__(name):
    if name in _QT_NAMES:
        from . import qtpollers
        value = getattr(qtpollers, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'pyacq.core.tools' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_QT_NAMES))
