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
latency and more work per sample. The backward pass filters ``chunksize +
overlapsize`` samples for every ``chunksize`` released, so, with the same
arithmetic, the node's throughput is at best ``2 * chunksize / (2 *
chunksize + overlapsize)`` of an offline filtfilt's: ``chunksize >= 4.5 *
overlapsize`` keeps that bound at 0.9 or more. Both regimes work:
``overlapsize < chunksize / 2`` (consecutive windows overlap only near
their ends) and ``overlapsize > chunksize / 2`` (windows overlap completely;
useful when a long overlap is needed with low latency).
"""
import numpy as np
from pyacq.core.validation import check_int

from .overlapengines import ScipyOverlapEngine, make_overlap_engine
from .sosengines import opencl_lazy_exports
from .sosnode import SosNode

#: ``HAVE_PYOPENCL`` and ``sosfiltfilt_engines``, made on first use.
__getattr__, __dir__ = opencl_lazy_exports(__name__, "sosfiltfilt_engines", ScipyOverlapEngine,
                                           "pyacq.dsp.opencloverlap:OpenCLOverlapEngine")


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

    Compare the output with an offline ``scipy.signal.sosfiltfilt(...,
    padtype=None)`` to check the residual on your data.

    The output ``signals`` keeps the input's dtype, channel names and sample
    rate; its indexes are the input's (sample ``i`` of the output is the
    filtered input sample ``i``), released ``overlapsize`` samples later.
    When samples are lost upstream, or at stop(), the samples still held are
    released, filtered like the end of a recording, and filtering restarts
    after the gap, so the output shows the same gap as the input.

    Engines (:mod:`pyacq.dsp.overlapengines`): 'scipy' filters in float64
    and sends each released chunk channel-major (a Fortran-ordered (time,
    channel) array, which plaindata streams carry without a copy); 'opencl'
    keeps the held samples on the device and makes one upload, one kernel
    launch and one download per window, in double precision when the device
    has it. Both release the same samples at the same indexes.
    """

    def _configure(self, chunksize=1024, overlapsize=512, coefficients=None, engine="scipy"):
        """Choose the filter, the window sizes and the engine.

        The module docstring explains how to choose ``chunksize`` and
        ``overlapsize`` (latency, accuracy and throughput).

        Parameters
        ----------
        chunksize : int, default 1024
            Samples released per window (>= 1): a window is filtered backwards
            each time this many new samples have arrived. Smaller: lower
            latency, more work per sample.
        overlapsize : int, default 512
            Samples held back at the end of each window (>= 0): the output
            lags the input by this many samples. The backward pass starts at
            rest this many samples after the ones it releases, and the error
            of that start decays like the filter's impulse response over
            them: take at least ``impulse_response_length(coefficients,
            tolerance)`` for a relative error around ``tolerance``.
        coefficients : array_like, required
            The second-order sections, shape (nb_section, 6) with ``a0 = 1``
            (``scipy.signal.iirfilter(..., output='sos')``); with the OpenCL
            engine also (nb_channel, nb_section, 6), one filter per channel.
            Leaving it out is refused.
        engine : {'scipy', 'opencl'}, default 'scipy'
            'scipy' filters in float64 on the CPU; 'opencl' (also 'opencl2',
            'opencl3') keeps the held samples on an OpenCL device and needs
            pyopencl (``pip install 'pyacq-dsp[opencl]'``) and a device,
            checked here. Both release the same samples at the same indexes.
        """
        chunksize = check_int(self, "chunksize", chunksize, minimum=1)
        overlapsize = check_int(self, "overlapsize", overlapsize, minimum=0)
        self._set_coefficients(coefficients, engine)
        self.chunksize, self.overlapsize, self.engine = chunksize, overlapsize, engine

    def _initialize(self):
        self._engine = make_overlap_engine(self.engine, self.coefficients, self.nb_channel,
                                           self._dtype, self.chunksize, self.overlapsize,
                                           self._describe())

    def _reset_processing(self):
        self._released = None

    def _stop(self):
        super()._stop()
        with self._processing_lock:
            self._flush()

    def _start_segment(self, start, first_sample):
        """Begin filtering at absolute index ``start``, the filter at rest on the first sample."""
        self._engine.restart(first_sample)
        self._released = start  # samples before this index have been sent
        self._next_boundary = start + self.chunksize
        self._head = start

    def _process_signals(self, index, data, lost):
        if not len(data):
            return
        if lost is None or lost > 0:
            if lost:
                self._flush()
            self._start_segment(index - len(data), data[0])
        offset = 0
        while offset < len(data):
            take = min(len(data) - offset, self._next_boundary - self._head)
            self._engine.append(data[offset:offset + take])
            offset += take
            self._head += take
            if self._head == self._next_boundary:
                self._release_until(self._next_boundary - self.overlapsize)
                self._next_boundary += self.chunksize

    def _flush(self):
        """Release every sample held, filtered backwards from the last one received."""
        if self._released is not None:
            self._release_until(self._head)

    def _release_until(self, release_end):
        """Filter the held samples backwards and send those before ``release_end``."""
        released = self._engine.release(release_end - self._released)
        if released is not None:
            self.output.send(released, index=release_end)
            self._released = release_end
