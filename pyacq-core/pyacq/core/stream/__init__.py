"""Streams: how chunks of samples travel between nodes.

An :class:`OutputStream` publishes chunks; any number of :class:`InputStream`
connect to it, in the same thread, another thread, another process or another
host. ``plaindata`` sends the bytes; ``sharedmem`` writes them to a shared
:class:`RingBuffer` and sends only indexes.
"""
from .compression import compression_methods
from .errors import (
    BufferOverrunError,
    MalformedMessageError,
    StreamConnectionError,
    StreamSpecError,
    StreamStateError,
)
from .inputstream import InputStream
from .outputstream import OutputStream
from .ringbuffer import RingBuffer
from .transfermodes import all_transfermodes, register_transfermode

__all__ = [
    "BufferOverrunError",
    "InputStream",
    "MalformedMessageError",
    "OutputStream",
    "RingBuffer",
    "StreamConnectionError",
    "StreamSpecError",
    "StreamStateError",
    "all_transfermodes",
    "compression_methods",
    "register_transfermode",
]
