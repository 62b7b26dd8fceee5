"""Engines of OverlapFiltfilt: forward pass carried across chunks, backward pass over windows.

An overlap engine holds the forward-filtered samples that are not released
yet. The node appends new samples (:meth:`append`) and, at each window
boundary, asks for the oldest ones (:meth:`release`): the engine filters
every held sample backwards, from the newest (the filter at rest on it) to
the oldest, and hands back the oldest ``count``, which it then forgets.
The node does the bookkeeping (where boundaries fall, indexes, gaps); the
engines only filter, so both engines release exactly the same samples.

* ``'scipy'``: :class:`ScipyOverlapEngine` below;
* ``'opencl'``: :class:`pyacq.dsp.opencloverlap.OpenCLOverlapEngine`, one
  kernel launch per window.

Released chunks are (count, channel) arrays in Fortran (channel-major) order
when that saves a transposing copy; the plaindata transfer mode sends them
as they are, and numpy code reads them like any other array.
"""
import numpy as np

from .filterengines import OverlapEngine
from .sosengines import canonical_engine, require_shared_coefficients
from .sosstate import steady_state_per_channel


class ScipyOverlapEngine:
    """The overlap engine on ``scipy.signal.sosfilt``, in float64.

    ``sosfilt`` filters along the last axis of a C-ordered float64 copy it
    makes of its input, so the held samples are kept channel-major, (channel,
    time) float64, in a preallocated buffer: the forward output is stored
    without a transpose, the backward pass reads a reversed view of the
    buffer (``sosfilt``'s own copy does the reversal), and the released
    samples are copied once into a channel-major array of the input dtype,
    sent as its (time, channel) transpose. The buffer holds twice the longest
    window, so the held samples are moved to its start only once every few
    windows.
    """

    name = "scipy"

    def __init__(self, coefficients, nb_channel, dtype, chunksize, overlapsize):
        from scipy.signal import sosfilt
        self._sosfilt = sosfilt
        self.sos = np.ascontiguousarray(coefficients, dtype=np.float64)
        self.nb_channel = nb_channel
        self.dtype = np.dtype(dtype)
        self._rest = steady_state_per_channel(self.sos, np.ones(1))[0]  # (n_sections, 2) for input 1
        self.window = chunksize + overlapsize
        self._held = np.empty((nb_channel, 2 * self.window), dtype=np.float64)
        self._backward_state = np.empty((len(self.sos), nb_channel, 2))
        self._first = self._end = 0  # held samples: self._held[:, first:end]
        self._forward_state = None

    def _rest_state(self, values, out=None):
        """State (n_sections, channel, 2) of the filter at rest on ``values`` (one per channel)."""
        return np.multiply(self._rest[:, None, :], np.asarray(values, np.float64)[None, :, None],
                           out=out)

    def restart(self, first_sample):
        """Forget the held samples; the next ones start a segment, the filter at rest on ``first_sample``."""
        self._forward_state = self._rest_state(first_sample)
        self._first = self._end = 0

    def append(self, samples):
        """Forward-filter ``samples`` (time, channel), which follow the previous ones, and hold them."""
        n = len(samples)
        if not n:
            return
        held = self._end - self._first
        if held + n > self.window:
            raise ValueError(f"{held + n} samples held, more than the {self.window} "
                             "(chunksize + overlapsize) this engine holds")
        forward, self._forward_state = self._sosfilt(self.sos, samples.T, axis=-1,
                                                     zi=self._forward_state)
        if self._end + n > self._held.shape[1]:  # move the held samples to the start
            self._held[:, :held] = self._held[:, self._first:self._end]
            self._first, self._end = 0, held
        self._held[:, self._end:self._end + n] = forward
        self._end += n

    def release(self, count):
        """Filter all held samples backwards; return the oldest ``count`` (None if 0) and drop them."""
        if count <= 0:
            return None
        window = self._held[:, self._first:self._end]
        length = window.shape[1]
        if count > length:
            raise ValueError(f"cannot release {count} samples, only {length} are held")
        state = self._rest_state(window[:, -1], out=self._backward_state)
        backward, _ = self._sosfilt(self.sos, window[:, ::-1], axis=-1, zi=state)
        released = np.empty((self.nb_channel, count), dtype=self.dtype)
        np.copyto(released, backward[:, length - count:][:, ::-1], casting="same_kind")
        self._first += count
        return released.T

    def close(self):
        """Drop the buffer of held samples; the engine cannot be used afterwards."""
        self._held = None


def make_overlap_engine(engine: str, coefficients: np.ndarray, nb_channel: int, dtype: np.dtype,
                        chunksize: int, overlapsize: int, describe: str) -> OverlapEngine:
    """Build the overlap engine named ``engine`` for ``nb_channel`` channels of ``dtype`` samples."""
    if canonical_engine(engine, describe) == "scipy":
        require_shared_coefficients(coefficients, describe)
        return ScipyOverlapEngine(coefficients, nb_channel, dtype, chunksize, overlapsize)
    from .opencloverlap import OpenCLOverlapEngine
    return OpenCLOverlapEngine(coefficients, nb_channel, dtype, chunksize, overlapsize)
