"""SignalHistory: the recent samples of a stream, as float32, with gaps kept as NaN.

A viewer draws from here rather than from the chunks themselves: the poller
thread writes every chunk as it arrives and the GUI thread reads only what it
draws, at its own refresh rate. NaN marks samples that never arrived, so a
gap in the stream is drawn as a gap and never as a made-up line.
"""
import logging
import threading

import numpy as np
from pyacq.core.stream import RingBuffer

logger = logging.getLogger(__name__)


class SignalHistory:
    """The last ``size`` samples of ``nb_trace`` traces, addressed by absolute sample index.

    ``transform(chunk)`` turns a received chunk (n, ...) into float32 traces
    (n, nb_trace); the default casts a (n, nb_channel) analog chunk. Writing
    (:meth:`write`, any thread) and reading (:meth:`read`) are serialised by
    a lock. A chunk ending before what is already held means the source
    restarted at index 0: the history is emptied and :attr:`restart_count`
    incremented, so readers can drop what they derived from the old data.
    """

    def __init__(self, size, nb_trace, transform=None):
        self.size = int(size)
        self.nb_trace = int(nb_trace)
        self.ring = RingBuffer((self.size, self.nb_trace), np.float32, double=False, fill=np.nan)
        self.transform = transform or _as_float32
        self.restart_count = 0
        self._lock = threading.Lock()

    def write(self, index, chunk):
        """Append ``chunk`` whose last sample has absolute index ``index - 1``."""
        traces = self.transform(chunk)
        n = traces.shape[0]
        if n > self.size:
            traces = traces[-self.size:]
            n = self.size
        with self._lock:
            if index - n < self.ring.index():
                self.ring.reset()
                self.restart_count += 1
                logger.debug("stream restarted at index %d: display history cleared", index - n)
            self.ring.new_chunk(traces, index)

    def head(self):
        """``(index, restart_count)``: index of the next sample to arrive, and restarts so far."""
        with self._lock:
            return self.ring.index(), self.restart_count

    def read(self, start, stop):
        """A copy of samples ``[start, stop)``; samples never received (or older than
        the history) read as NaN."""
        out = np.full((max(0, stop - start), self.nb_trace), np.nan, dtype=np.float32)
        with self._lock:
            head = self.ring.index()
            first = max(start, head - self.size, 0)
            last = min(stop, head)
            if last > first:
                out[first - start:last - start] = self.ring.get_data(first, last)
        return out

    def close(self):
        """Release the memory of the history's ring buffer."""
        self.ring.close()


def _as_float32(chunk):
    return np.asarray(chunk, dtype=np.float32)
