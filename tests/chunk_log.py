"""A thread that receives every chunk of an InputStream and checks it against a known ramp.

The chaos tests stream a device buffer whose first channel is ``arange(period)``: any
chunk then tells, from its index alone, what its data must be.
"""
import threading
import time

import numpy as np


class ChunkLog(threading.Thread):
    """Receives every chunk of *input_stream*: when it came, its index and its length, and
    whether its first channel is the ramp ``index % period`` (else in :attr:`wrong_data`)."""

    def __init__(self, input_stream, period):
        super().__init__(daemon=True, name="chunk-log")
        self.input_stream = input_stream
        self.period = period
        self.chunks = []
        self.wrong_data = []
        self._stop_requested = threading.Event()

    def run(self):
        while not self._stop_requested.is_set():
            if self.input_stream.poll(50):
                index, data = self.input_stream.recv()
                expected = np.arange(index - len(data), index) % self.period
                if not np.array_equal(data[:, 0], expected):
                    self.wrong_data.append(index)
                self.chunks.append((time.monotonic(), index, len(data)))

    def finish(self):
        """Stop receiving; fail if the thread does not end within 10 s."""
        self._stop_requested.set()
        self.join(10)
        assert not self.is_alive(), "the receiving thread did not stop"

    def received_after(self, moment):
        """The chunks received after *moment* (``time.monotonic()``)."""
        return [chunk for chunk in self.chunks if chunk[0] > moment]

    def really_lost(self):
        """Samples between the first and the last chunk received that never arrived."""
        first = self.chunks[0][1] - self.chunks[0][2]
        return self.chunks[-1][1] - first - sum(n for _, _, n in self.chunks)
