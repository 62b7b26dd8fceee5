"""OverlapFiltfilt: zero-phase (forward-backward) filtering of a stream, with a fixed delay.

``scipy.signal.sosfiltfilt`` needs the whole signal, because its backward
pass starts at the end. Online, the forward pass is exact (its state is
carried from chunk to chunk, as in SosFilter); the backward pass runs over
overlapping windows: each time ``chunksize`` new samples have arrived, the
window made of the ``overlapsize`` newest samples and the samples before
them not yet released is filtered backwards, starting at rest on its last
sample, and everything but those ``overlapsize`` newest samples is released.
So for each new chunk at ``[-chunksize:]`` the node releases
``[-(chunksize + overlapsize):-overlapsize]``: the output lags the input by
``overlapsize`` samples (plus the wait for a full chunk).

How to choose the sizes: the only approximation is the start of each
backward pass, ``overlapsize`` samples after the released samples; its error
decays like the filter's impulse response. Take ``overlapsize`` at least
``impulse_response_length(coefficients, tolerance)`` for a relative error
around ``tolerance`` (low cut-off frequencies and narrow bands ring longest).
``chunksize`` sets how often a window is filtered: smaller means lower
latency and more overhead per sample (windows of ``chunksize +
overlapsize`` samples are filtered for every ``chunksize`` released). Both
regimes work: ``overlapsize < chunksize / 2`` (consecutive windows overlap
only near their ends) and ``overlapsize > chunksize / 2`` (windows overlap
completely; useful when a long overlap is needed with low latency).
"""
import numbers

import numpy as np

from .sosnode import SosNode


def impulse_response_length(coefficients, tolerance=1e-3, max_length=10_000_000):
    """Samples after which the filter's impulse response stays below ``tolerance`` x its peak.

    The sum of the response beyond this length is also checked, so that slowly
    decaying tails count. ``coefficients``: (n_sections, 6).
    """
    from scipy.signal import sosfilt
    sos = np.asarray(coefficients, dtype=np.float64)
    length = 1024
    while True:
        impulse = np.zeros(length)
        impulse[0] = 1.0
        response = np.abs(sosfilt(sos, impulse))
        tail = np.cumsum(response[::-1])[::-1]  # tail[k] = sum of |h| from k on
        above = np.flatnonzero((response > tolerance * response.max()) | (tail > tolerance * tail[0]))
        end = int(above[-1]) + 1 if len(above) else 0
        if end < length // 2 or length >= max_length:
            return end
        length *= 4


class OverlapFiltfilt(SosNode):
    """Forward-backward filtering with second-order sections over sliding, overlapping windows.

    ``configure(chunksize=1024, overlapsize=512, coefficients=None,
    engine='scipy')``: ``coefficients`` has shape (nb_section, 6), or
    (nb_channel, nb_section, 6) with ``engine='opencl'``. See the module
    documentation for choosing ``chunksize`` and ``overlapsize``; compare the
    output with an offline ``scipy.signal.sosfiltfilt(..., padtype=None)`` to
    check the residual on your data.

    The output ``signals`` keeps the input's dtype, channel names and sample
    rate; its indexes are the input's (sample ``i`` of the output is the
    filtered input sample ``i``), released ``overlapsize`` samples later.
    When samples are lost upstream, or at stop(), the samples still held are
    released, filtered like the end of a recording, and filtering restarts
    after the gap, so the output shows the same gap as the input.
    """

    def _configure(self, chunksize=1024, overlapsize=512, coefficients=None, engine="scipy"):
        for key, value, minimum in (("chunksize", chunksize, 1), ("overlapsize", overlapsize, 0)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
                raise ValueError(f"{self._describe()}: {key} must be an int >= {minimum}, got {value!r}")
        self._set_coefficients(coefficients, engine)
        self.chunksize, self.overlapsize, self.engine = int(chunksize), int(overlapsize), engine

    def _initialize(self):
        self._make_engine(self.chunksize + self.overlapsize)

    def _reset_processing(self):
        self._released = None

    def _stop(self):
        super()._stop()
        with self._processing_lock:
            if self._released is not None:
                self._release_until(self._head, self._head)

    def _start_segment(self, start, first_sample):
        """Begin filtering at absolute index ``start``, the filter at rest on the first sample."""
        self._forward_state = self._engine.steady_state(first_sample)
        self._kept = np.empty((0, self.nb_channel), dtype=self._dtype)  # forward-filtered, unreleased
        self._released = start  # samples before this index have been sent
        self._next_boundary = start + self.chunksize
        self._head = start

    def _process_signals(self, index, data, lost):
        if not len(data):
            return
        if lost is None or lost > 0:
            if lost and self._released is not None:
                self._release_until(self._head, self._head)
            self._start_segment(index - len(data), data[0])
        forward = self._engine.filter(data, self._forward_state)
        self._kept = np.concatenate([self._kept, forward])
        self._head = index
        while self._next_boundary <= index:
            self._release_until(self._next_boundary, self._next_boundary - self.overlapsize)
            self._next_boundary += self.chunksize

    def _release_until(self, window_end, release_end):
        """Filter ``[released, window_end)`` backwards and send ``[released, release_end)``."""
        if release_end <= self._released:
            return
        window = self._kept[:window_end - self._released][::-1]
        state = self._engine.steady_state(window[0])
        backward = self._engine.filter(window, state)
        count = release_end - self._released
        self.output.send(np.ascontiguousarray(backward[::-1][:count]), index=release_end)
        self._kept = self._kept[count:]
        self._released = release_end
