"""How viewers receive their stream: a ThreadPollInput that keeps data, not one that signals.

Emitting a Qt signal per chunk would make the GUI thread do work per chunk
(thousands per second for a fast amplifier). Instead the poller thread
stores each chunk (in a :class:`~pyacq.viewers.signalhistory.SignalHistory`,
or as "the latest chunk") and the viewer's QTimer draws what is there at its
refresh rate: the drawing cost depends on the refresh rate and the pixels.
"""
import threading

from pyacq.core.streamtools.qtpollers import ThreadPollInput

#: How long stop() waits for a poller thread (ms).
STOP_TIMEOUT_MS = 10000


class HistoryPoller(ThreadPollInput):
    """Writes every chunk of ``input_stream`` into ``history`` from its own thread."""

    def __init__(self, input_stream, history, timeout=100, parent=None):
        ThreadPollInput.__init__(self, input_stream, timeout=timeout, return_data=True, parent=parent)
        self.history = history

    def processData(self, index, data):
        """Write the chunk into the history, in the poller's thread."""
        self.history.write(index, data)


class LatestChunkPoller(ThreadPollInput):
    """Keeps a copy of the latest chunk (sharedmem views are reused by the writer);
    ``take()`` returns it once, or None when nothing new arrived."""

    def __init__(self, input_stream, timeout=100, parent=None):
        ThreadPollInput.__init__(self, input_stream, timeout=timeout, return_data=True, parent=parent)
        self._lock = threading.Lock()
        self._latest = None
        self.chunk_count = 0

    def processData(self, index, data):
        """Keep a copy of the chunk as the latest one, replacing one not taken yet, and count it."""
        chunk = data.copy()
        with self._lock:
            self._latest = (index, chunk)
            self.chunk_count += 1

    def take(self):
        """Return the latest ``(index, chunk)`` once; None when no chunk arrived since the last take()."""
        with self._lock:
            latest, self._latest = self._latest, None
        return latest


class HeadPoller(ThreadPollInput):
    """Reads a stream only to follow its position (``head``): for a viewer whose data
    reach it by another path, so that its own input never queues up unread chunks."""

    def __init__(self, input_stream, timeout=100, parent=None):
        ThreadPollInput.__init__(self, input_stream, timeout=timeout, return_data=False, parent=parent)
        self.head = None

    def processData(self, index, data):
        """Record the chunk's index as ``head``; the poller asks for no data."""
        self.head = index


def stop_poller(poller, describe):
    """Stop ``poller`` and wait for its thread; raise naming ``describe`` if it hangs."""
    poller.stop()
    if not poller.wait(STOP_TIMEOUT_MS):
        raise RuntimeError(f"{describe}: its stream polling thread did not stop within "
                           f"{STOP_TIMEOUT_MS / 1000} s")
