"""A node written outside pyacq: streams sine waves, one frequency per channel."""
import threading
import time

import numpy as np
from pyacq.core import Node
from pyacq.core.node_thread import NodeThread


class SineGenerator(Node):
    """Sends ``nb_channel`` sine waves (``frequency``, 2x, 3x, ... Hz) at the real sample rate."""

    _output_specs = {"signals": dict(streamtype="analogsignal", dtype="float32", shape=(-1, 1))}

    def _configure(self, nb_channel=4, sample_rate=1000.0, chunksize=100, frequency=10.0):
        """Choose the channels, the rate and the chunk size of output ``signals``.

        The values are used as given (this example checks none of them).

        Parameters
        ----------
        nb_channel : int, default 4
            Channels; channel ``k`` (from 0) is a sine at ``(k + 1) * frequency``.
        sample_rate : float, default 1000.0
            Samples per second (Hz) per channel, paced on the real clock.
        chunksize : int, default 100
            Samples per chunk: a chunk goes out every ``chunksize / sample_rate``
            seconds (0.1 s by default).
        frequency : float, default 10.0
            Frequency of the first channel's sine, in Hz; keep every channel's
            ``(k + 1) * frequency`` below ``sample_rate / 2``.
        """
        self.sample_rate, self.chunksize = sample_rate, chunksize
        self.frequencies = frequency * np.arange(1, nb_channel + 1)
        self.output.spec.update(shape=(-1, nb_channel), sample_rate=sample_rate)

    def _start(self):
        self._stopping = threading.Event()
        # A NodeThread: if sending fails, the node becomes 'failed' with the error in node.error.
        self._thread = NodeThread(self, target=self._send_chunks, name=f"{self.name or 'sine'}-send")
        self._thread.start()

    def _stop(self):
        self._stopping.set()
        self._thread.join(timeout=5.0)

    def _send_chunks(self):
        started, sent = time.monotonic(), 0
        while not self._stopping.wait(
                max(0.0, started + (sent + self.chunksize) / self.sample_rate - time.monotonic())):
            t = (sent + np.arange(self.chunksize))[:, None] / self.sample_rate
            self.output.send(np.sin(2 * np.pi * self.frequencies * t).astype("float32"))
            sent += self.chunksize
