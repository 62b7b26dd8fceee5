"""Exceptions of the stream layer.

Each names one kind of misuse or loss, so callers (and tests) can tell a
programming error from data that could not be delivered.
"""


class StreamStateError(RuntimeError):
    """A stream method was called in a state that does not allow it
    (not configured, not connected, already configured, closed)."""


class StreamSpecError(ValueError):
    """A stream parameter is invalid, or an InputStream's spec does not match
    the OutputStream it is asked to connect to."""


class StreamConnectionError(ConnectionError):
    """An InputStream could not reach the OutputStream it was given."""


class BufferOverrunError(IndexError):
    """The requested samples were overwritten before they could be read: the
    reader fell more than one ring-buffer length behind the writer."""


class MalformedMessageError(ValueError):
    """A message on a stream's socket is not a chunk of that stream (a header that does not
    match the stream's dtype or shape, a frame whose size does not match its header, an
    index message that cannot be one). Receivers raise it; the InputStream rejects the
    message: counts it (``InputStream.rejected_count``), logs it, and goes on."""
