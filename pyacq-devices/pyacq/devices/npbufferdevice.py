"""NumpyDeviceBuffer: a device that plays a numpy array as a live analog stream.

It stands in for an amplifier when building or testing a pipeline: the array
(or a generated multi-sine + noise signal) is sent chunk by chunk, looped
forever, at the real sample rate.
"""
import threading
import time

import numpy as np
from pyacq.core import Node
from pyacq.core.node_thread import NodeThread
from pyacq.core.validation import named_channel_info


def generate_test_signal(n_samples, nb_channel, sample_rate, seed=0):
    """Sum of two sines per channel (distinct frequencies) plus gaussian noise, float32."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples)[:, None] / sample_rate
    base = 5.0 + 3.0 * np.arange(nb_channel)[None, :]
    signal = np.sin(2 * np.pi * base * t) + 0.5 * np.sin(2 * np.pi * 7.3 * base * t)
    signal += 0.2 * rng.standard_normal((n_samples, nb_channel))
    return signal.astype("float32")


class NumpyDeviceBuffer(Node):
    """Streams ``buffer`` (n_samples, nb_channel) in an endless loop at 1 / sample_interval Hz.

    Chunks are paced on a monotonic clock from the start time, so the long-run
    rate does not drift; a late chunk (loaded machine) is sent as soon as
    possible and the following ones catch up.
    """

    _output_specs = {"signals": dict(streamtype="analogsignal", dtype="float32", shape=(-1, 16))}

    def _configure(self, nb_channel=16, sample_interval=0.001, chunksize=256, buffer=None,
                   channel_names=None):
        """Choose the signal to play, its rate and the size of its chunks.

        Parameters
        ----------
        nb_channel : int, default 16
            Channels of output ``signals``; ``buffer``, when given, must have
            that many columns.
        sample_interval : float, default 0.001
            Seconds between two samples (> 0): the stream's ``sample_rate`` is
            its inverse, 1000 Hz by default.
        chunksize : int, default 256
            Samples per chunk (>= 1); a chunk goes out every
            ``chunksize * sample_interval`` seconds, so a smaller chunk means a
            lower latency and more chunks per second.
        buffer : numpy.ndarray, optional
            The samples to play, shape (n_samples, nb_channel), in a loop; the
            stream takes its dtype. By default, 10 seconds (at least one chunk)
            of a float32 test signal: two sines per channel, at frequencies
            that differ between channels, plus gaussian noise.
        channel_names : list of str, optional
            One name per channel (``nb_channel`` of them), stored in the
            stream's ``channel_info``; by default the channels are ``ch0``,
            ``ch1``...
        """
        if sample_interval <= 0 or chunksize < 1:
            raise ValueError(f"{self._describe()}: sample_interval must be > 0 and chunksize >= 1, "
                             f"got {sample_interval!r} and {chunksize!r}")
        sample_rate = 1.0 / sample_interval
        if buffer is None:
            n_samples = max(round(10 * sample_rate), chunksize)
            buffer = generate_test_signal(n_samples, nb_channel, sample_rate)
        buffer = np.asarray(buffer)
        if buffer.ndim != 2 or buffer.shape[1] != nb_channel:
            raise ValueError(f"{self._describe()}: buffer must have shape (n_samples, {nb_channel}), "
                             f"got {buffer.shape}")
        if channel_names is not None and len(channel_names) != nb_channel:
            raise ValueError(f"{self._describe()}: {len(channel_names)} channel_names for "
                             f"{nb_channel} channels")
        self.nb_channel = nb_channel
        self.sample_interval = sample_interval
        self.sample_rate = sample_rate
        self.chunksize = chunksize
        self.buffer = buffer
        self.channel_info = named_channel_info(channel_names, nb_channel)
        # The buffer followed by its first chunk: every chunk, wrapped or not,
        # is then a contiguous slice (a view), sent without copying.
        wrap = np.resize(buffer, (chunksize, nb_channel)) if chunksize > len(buffer) else buffer[:chunksize]
        self._looped = np.ascontiguousarray(np.concatenate([buffer, wrap]))
        self.output.spec.update(shape=(-1, nb_channel), dtype=buffer.dtype.str,
                                sample_rate=sample_rate, nb_channel=nb_channel,
                                channel_info=self.channel_info)

    def _start(self):
        self._stopping = threading.Event()
        self._thread = NodeThread(self, target=self._send_chunks, name=f"{self.name or 'npbuffer'}-send")
        self._thread.start()

    def _stop(self):
        self._stopping.set()
        self._thread.join(timeout=10.0)

    def _send_chunks(self):
        n_samples, chunksize = len(self.buffer), self.chunksize
        started = time.monotonic()
        head = 0
        while not self._stopping.wait(max(0.0, started + (head + chunksize) / self.sample_rate
                                          - time.monotonic())):
            position = head % n_samples
            head += chunksize
            self.output.send(self._looped[position:position + chunksize], index=head)
