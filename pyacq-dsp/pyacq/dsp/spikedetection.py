"""Online spike detection on a stream of (time, channel) samples.

Per channel, the signal is smoothed over ``smoothing`` samples (a moving
average that averages white noise down while keeping the spike's peak) and
normalised by a robust, running noise estimate (:class:`RunningNoise`). A
spike is a peak of ``sign * (smoothed - median) / noise`` above
``threshold``, larger than every sample ``refractory`` samples before it and
at least as large as every sample ``refractory`` samples after it: one
detection per spike, aligned on its peak, and none closer than
``refractory`` on one channel.

Decisions need samples on both sides of a peak, so a spike is reported
``max(refractory + smoothing, waveform right edge)`` samples after it
occurs; the first and last of those margins of a stream are not searched.
"""
from collections import deque

import numpy as np

SPIKE_DTYPE = np.dtype([("index", np.int64), ("channel", np.int64), ("amplitude", np.float32)])
#: MAD / MAD_TO_STD is the standard deviation of gaussian noise.
MAD_TO_STD = 0.6745


class RunningNoise:
    """Per-channel noise (MAD / 0.6745) and median of a smoothed signal, following slow changes.

    The smoothed signal is cut into consecutive blocks of ``block_samples``
    samples; each block gives its own median and MAD per channel, and the
    current estimate is the median of the last ``n_blocks`` block estimates.
    A block is read one sample in ``step`` (neighbouring smoothed samples are
    nearly equal, so this loses little and divides the cost of the medians
    by ``step``). The median over blocks ignores a block spoiled by a burst
    of spikes or an artefact, and a lasting change of the noise is followed
    once it fills most of the history: after ``n_blocks // 2 + 1`` blocks.
    """

    def __init__(self, nb_channel, block_samples, n_blocks, step):
        self.step = step
        self.n_blocks = n_blocks
        self._block = np.empty((nb_channel, max(1, -(-block_samples // step))), dtype=np.float32)
        self._filled = 0
        self._phase = 0  # samples to skip before the next one read
        self._medians, self._noises = deque(maxlen=n_blocks), deque(maxlen=n_blocks)
        self.median = self.noise = None

    def add(self, smoothed):
        """Feed the next samples (time, channel) of the smoothed signal; True if the estimate changed."""
        picked = smoothed[self._phase::self.step]
        self._phase = (self._phase - len(smoothed)) % self.step
        changed = False
        while len(picked):
            take = min(len(picked), self._block.shape[1] - self._filled)
            self._block[:, self._filled:self._filled + take] = picked[:take].T
            self._filled += take
            picked = picked[take:]
            if self._filled == self._block.shape[1]:
                self._estimate_block()
                changed = True
        return changed

    def _estimate_block(self):
        median = np.median(self._block, axis=1)
        noise = np.median(np.abs(self._block - median[:, None]), axis=1) / MAD_TO_STD
        self._medians.append(median)
        self._noises.append(noise)
        self._filled = 0
        self.median = np.median(self._medians, axis=0)
        noise = np.median(self._noises, axis=0)
        noise[noise == 0] = np.finfo(np.float32).tiny
        self.noise = noise


class SpikeDetection:
    """Stateful detector fed with consecutive chunks; see the module documentation."""

    def __init__(self, nb_channel, threshold, peak_sign, refractory, smoothing, waveform_window,
                 noise_samples, noise_blocks):
        from scipy.ndimage import uniform_filter1d
        self._mean_filter = uniform_filter1d
        self.nb_channel = nb_channel
        self.threshold = threshold
        self.sign = -1.0 if peak_sign == "-" else 1.0
        self.refractory = refractory
        self.smoothing = smoothing
        self.waveform_left, self.waveform_right = waveform_window
        self.noise_samples = noise_samples
        self._noise = RunningNoise(nb_channel, noise_samples, noise_blocks, step=smoothing)
        self._noise_next = None  # absolute index of the first sample not yet given to the estimate
        margin = refractory + smoothing
        self.back = max(margin, -self.waveform_left)
        self.ahead = max(margin, self.waveform_right)
        self.restart(0)

    @property
    def noise(self):
        """Current per-channel noise (float32 array), None before the first block."""
        return self._noise.noise

    @property
    def median(self):
        """Per-channel median of the smoothed signal, which spikes are measured from; None before a block."""
        return self._noise.median

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
            self._noise.add(self._smooth(self._buffer[:self.noise_samples]))
            self._noise_next = self._buffer_start + self.noise_samples
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
        smoothed = self._smooth(data)
        z = self.sign * (smoothed - self.median) / self.noise
        if self._noise_next < stop:  # the estimate goes on with the samples decided now
            fresh = max(first, self._noise_next) - self._buffer_start
            self._noise.add(smoothed[fresh:stop - self._buffer_start])
            self._noise_next = stop
        # candidates above threshold are few: compare each with its refractory neighbourhood
        lo, hi = first - self._buffer_start, stop - self._buffer_start
        times, channels = np.nonzero(z[lo:hi] > self.threshold)
        times += lo
        value = z[times, channels]
        r = self.refractory
        before = z[times[:, None] + np.arange(-r, 0)[None, :], channels[:, None]]
        after = z[times[:, None] + np.arange(1, r + 1)[None, :], channels[:, None]]
        is_peak = (value > before.max(axis=1, initial=-np.inf)) \
            & (value >= after.max(axis=1, initial=-np.inf))
        positions, channels = times[is_peak], channels[is_peak]
        spikes = np.empty(len(positions), dtype=SPIKE_DTYPE)
        spikes["index"] = positions + self._buffer_start
        spikes["channel"] = channels
        spikes["amplitude"] = data[positions, channels]
        offsets = np.arange(self.waveform_left, self.waveform_right)
        waveforms = data[positions[:, None] + offsets[None, :], channels[:, None]]
        return spikes, np.ascontiguousarray(waveforms, dtype=np.float32)

    def _nothing(self):
        return (np.empty(0, dtype=SPIKE_DTYPE),
                np.empty((0, self.waveform_right - self.waveform_left), dtype=np.float32))
