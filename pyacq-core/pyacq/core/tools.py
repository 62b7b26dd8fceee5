"""Stream tools: nodes that convert, split and re-chunk streams, and input pollers.

pyacq 2.0's namespace for the classes of :mod:`pyacq.core.streamtools`.
``StreamConverter``, ``ChannelSplitter``, ``ChunkResizer`` and
``InputPoller`` need no Qt. ``ThreadPollInput`` / ``ThreadPollOutput`` are
QThreads; they are loaded on first access so that importing this module
never imports Qt.
"""
from pyacq.core._lazy_exports import lazy_exports
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

__getattr__, __dir__ = lazy_exports(__name__, {
    "ThreadPollInput": "pyacq.core.streamtools.qtpollers",
    "ThreadPollOutput": "pyacq.core.streamtools.qtpollers",
})
