"""Online spike detection on a stream of (time, channel) samples.

Per channel, the signal is smoothed over ``smoothing`` samples (a moving
average that averages white noise down while keeping the spike's peak) and
normalised by a robust noise estimate: the median absolute deviation of the
first ``noise_samples`` samples, / 0.6745 (the standard deviation for
gaussian noise, unaffected by the spikes themselves). A spike is a peak of
``sign * (smoothed - median) / noise`` above ``threshold``, larger than every
sample ``refractory`` samples before it and at least as large as every
sample ``refractory`` samples after it: one detection per spike, aligned on
its peak, and none closer than ``refractory`` on one channel.

Decisions need samples on both sides of a peak, so a spike is reported
``max(refractory + smoothing, waveform right edge)`` samples after it
occurs; the first and last of those margins of a stream are not searched.
"""
import numpy as np

SPIKE_DTYPE = np.dtype([("index", np.int64), ("channel", np.int64), ("amplitude", np.float32)])


class SpikeDetection:
    """Stateful detector fed with consecutive chunks; see the module documentation."""

    def __init__(self, nb_channel, threshold, peak_sign, refractory, smoothing, waveform_window,
                 noise_samples):
        from scipy.ndimage import maximum_filter1d, uniform_filter1d
        self._max_filter, self._mean_filter = maximum_filter1d, uniform_filter1d
        self.nb_channel = nb_channel
        self.threshold = threshold
        self.sign = -1.0 if peak_sign == "-" else 1.0
        self.refractory = refractory
        self.smoothing = smoothing
        self.waveform_left, self.waveform_right = waveform_window
        self.noise_samples = noise_samples
        margin = refractory + smoothing
        self.back = max(margin, -self.waveform_left)
        self.ahead = max(margin, self.waveform_right)
        self.median = self.noise = None
        self.restart(0)

    def restart(self, start):
        """A stream (or the data after a gap) begins at absolute index ``start``."""
        self._buffer = np.empty((0, self.nb_channel), dtype=np.float32)
        self._buffer_start = start
        self._next = start + self.back

    def process(self, chunk):
        """Append ``chunk``; return ``(spikes, waveforms)`` of the peaks now decided."""
        self._buffer = np.concatenate([self._buffer, chunk.astype(np.float32, copy=False)])
        head = self._buffer_start + len(self._buffer)
        if self.noise is None:
            if len(self._buffer) < self.noise_samples:
                return self._nothing()
            smoothed = self._smooth(self._buffer)
            self.median = np.median(smoothed, axis=0)
            self.noise = np.median(np.abs(smoothed - self.median), axis=0) / 0.6745
            self.noise[self.noise == 0] = np.finfo(np.float32).tiny
        stop = head - self.ahead
        if stop <= self._next:
            return self._nothing()
        spikes, waveforms = self._detect(self._next, stop)
        self._next = stop
        drop = self._next - self.back - self._buffer_start
        self._buffer = self._buffer[drop:]
        self._buffer_start += drop
        return spikes, waveforms

    def _smooth(self, data):
        return self._mean_filter(data, self.smoothing, axis=0, mode="nearest") if self.smoothing > 1 \
            else data

    def _detect(self, first, stop):
        """Peaks in ``[first, stop)`` (absolute); the buffer holds their whole context."""
        data = self._buffer
        z = self.sign * (self._smooth(data) - self.median) / self.noise
        r = self.refractory
        # window_max[k] = max(z[k : k + r]) along time
        window_max = self._max_filter(z, size=r, axis=0, origin=-(r // 2), mode="nearest")
        lo, hi = first - self._buffer_start, stop - self._buffer_start
        candidate = z[lo:hi]
        peaks = (candidate > self.threshold) & (candidate > window_max[lo - r:hi - r]) \
            & (candidate >= window_max[lo + 1:hi + 1])
        times, channels = np.nonzero(peaks)
        positions = times + lo
        spikes = np.empty(len(times), dtype=SPIKE_DTYPE)
        spikes["index"] = positions + self._buffer_start
        spikes["channel"] = channels
        spikes["amplitude"] = data[positions, channels]
        offsets = np.arange(self.waveform_left, self.waveform_right)
        waveforms = data[positions[:, None] + offsets[None, :], channels[:, None]]
        return spikes, np.ascontiguousarray(waveforms, dtype=np.float32)

    def _nothing(self):
        return (np.empty(0, dtype=SPIKE_DTYPE),
                np.empty((0, self.waveform_right - self.waveform_left), dtype=np.float32))
