"""InputPoller: a plain thread that receives an InputStream's chunks and hands them on.

Headless nodes (and the stream tools) use it where GUI nodes use the Qt
``ThreadPollInput``; both run :func:`poll_chunks`. Every wait is a poll with a
timeout, so ``stop()`` takes effect within one timeout. An exception that ends
the thread (from the stream or the callback) is reported to the node that owns
the input (it becomes ``failed``, see :mod:`pyacq.core.node`).
"""
import threading

from pyacq.core.node_thread import NodeThread
from pyacq.core.stream import BufferOverrunError


def poll_chunks(input_stream, timeout, return_data, stop_requested, handle):
    """Call ``handle(index, data)`` for each chunk of ``input_stream`` until ``stop_requested()``.

    ``timeout`` (ms) bounds each wait. A sharedmem chunk overwritten before it
    could be read is skipped: the input has already counted and logged it.
    """
    while not stop_requested():
        if not input_stream.poll(timeout):
            continue
        try:
            index, data = input_stream.recv(return_data=return_data)
        except BufferOverrunError:
            continue
        handle(index, data)


class InputPoller(NodeThread):
    """Thread calling ``callback(index, data)`` for every chunk received on ``input_stream``.

    ``timeout`` is in milliseconds; ``return_data=None`` uses the stream's
    default (data for plaindata, index only for sharedmem). Override
    :meth:`process_data` instead of passing a callback if you prefer; a
    poller with neither is refused at creation (TypeError), not at its first
    chunk. The stream must not be used by another thread while the poller runs.

    Parameters
    ----------
    input_stream : InputStream
        The connected input to receive; an exception ending the thread is reported
        to its node.
    callback : callable, optional
        ``callback(index, data)``, called in the poller's thread for each chunk;
        needed unless a subclass overrides :meth:`process_data`.
    timeout : int, optional
        Milliseconds each wait lasts, so the longest :meth:`stop` takes to be seen.
        Default 200.
    return_data : bool or None, optional
        Receive the samples (True) or only the index (False). Default None: the
        stream's default.
    name : str, optional
        The thread's name. Default ``InputPoller-<stream name>``.
    """

    def __init__(self, input_stream, callback=None, timeout=200, return_data=None, name=None):
        described = f"InputPoller of {input_stream._describe()}"
        if callback is None and type(self).process_data is InputPoller.process_data:
            raise TypeError(f"{described}: no callback given and process_data not overridden; "
                            "pass callback=function(index, data) or override process_data in a subclass")
        if callback is not None and not callable(callback):
            raise TypeError(f"{described}: callback must be callable as callback(index, data), "
                            f"got {callback!r}")
        super().__init__(getattr(input_stream, "node", None), name=name or f"InputPoller-{input_stream.name}")
        self.input_stream = input_stream
        self.callback = callback
        self.timeout = timeout
        self.return_data = return_data
        self._stop_requested = threading.Event()

    def work(self):
        """Pass each chunk of the input to :meth:`process_data` until :meth:`stop` is called."""
        poll_chunks(self.input_stream, self.timeout, self.return_data,
                    self._stop_requested.is_set, self.process_data)

    def process_data(self, index, data):
        """Handle one chunk, in the poller's thread: by default, call ``callback(index, data)``.

        Parameters
        ----------
        index : int
            Absolute index after the chunk's last sample.
        data : numpy.ndarray or None
            The chunk's samples, or None when the poller receives indexes only.
        """
        self.callback(index, data)

    def stop(self):
        """Ask the thread to finish; it does within ``timeout`` ms. Then call ``join()``."""
        self._stop_requested.set()
