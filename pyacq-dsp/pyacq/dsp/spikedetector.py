"""SpikeDetector: the first step of an online spike sorter.

It finds spikes on every channel of a (high-pass filtered) extracellular
recording and sends, for each, its position, channel and amplitude, and its
waveform, so that later steps (clustering, display, recording) never touch
the raw stream. The detection rule is that of :mod:`pyacq.dsp.spikedetection`.
"""
from pyacq.core.validation import check_int, check_number, check_signal_input

from .processingnode import ProcessingNode
from .spikedetection import SPIKE_DTYPE, SpikeDetection


class SpikeDetector(ProcessingNode):
    """Threshold detection of spikes with a robust per-channel noise estimate.

    The input should be high-pass filtered (e.g. a SosFilter 300-6000 Hz
    before this node).

    The noise follows slow changes (electrode drift, changing noise): each
    block of ``noise_duration`` seconds gives a per-channel estimate (median
    and MAD / 0.6745 of the smoothed signal, read one sample in every
    ``smoothing``, which keeps its cost a few percent of one core at 256
    channels x 30 kHz), and the estimate in use is the median of the last
    ``noise_blocks`` block estimates: a burst of spikes or an artefact that
    spoils a block is outvoted, and a lasting change is followed after
    ``noise_blocks // 2 + 1`` blocks (3 s with the defaults). Detection
    begins once the first block has arrived, from the start of the stream,
    with that first block's estimate; the estimate starts afresh at each
    ``start()``.

    Outputs, both indexed by the number of spikes sent so far:
    ``spikes`` (events: ``index`` sample position, ``channel``,
    ``amplitude`` = signal value at the peak) and ``waveforms`` (float32,
    one row per spike: its channel's samples over ``waveform_window``).
    :attr:`noise_level` holds the per-channel noise in use (None before
    the first block), replaced by a new array at each update.

    Edges: a peak is decided only when the samples its test and its waveform
    need on both sides are there, so the first ``max(refractory_period +
    smoothing, -waveform_window[0])`` of a stream (1.25 ms with the defaults)
    is not searched, and the last ``max(refractory_period + smoothing,
    waveform_window[1])`` (1.5 ms) is searched only when more data arrives:
    a spike there at ``stop()`` is not reported. After lost samples (a gap in
    the input) detection restarts with the same margins; the noise estimate
    goes on.
    """

    _input_specs = {"signals": dict()}
    _output_specs = {
        "spikes": dict(streamtype="event", dtype=SPIKE_DTYPE, shape=(-1,)),
        "waveforms": dict(streamtype="analogsignal", dtype="float32"),
    }
    _output_follows = {"waveforms": ("signals",)}
    _chunk_handlers = {"signals": "_process_signals"}

    def _configure(self, threshold=5.0, peak_sign="-", refractory_period=1e-3, smoothing=0.25e-3,
                   waveform_window=(-1e-3, 1.5e-3), noise_duration=1.0, noise_blocks=5):
        """Set the detection rule, the waveform span and the noise estimate.

        Times are in seconds and turned into samples with the input's sample
        rate at start() (each one at least one sample).

        Parameters
        ----------
        threshold : float, default 5.0
            Detection threshold in units of each channel's noise (MAD / 0.6745
            of the smoothed signal), > 0. Lower finds smaller spikes and more
            noise crossings.
        peak_sign : {'-', '+'}, default '-'
            '-': spikes are troughs (negative peaks, the usual sign of
            extracellular spikes); '+': spikes are positive peaks.
        refractory_period : float, default 1e-3
            Seconds (> 0) within which a channel gives at most one spike; each
            spike is aligned on its peak within that span.
        smoothing : float, default 0.25e-3
            Seconds (>= 0) of the moving average applied for detection (and
            the noise estimate) only; the amplitudes and waveforms sent are
            those of the input. 0: no smoothing.
        waveform_window : tuple of float, default (-1e-3, 1.5e-3)
            ``(left, right)``, seconds relative to the peak, with
            ``left <= 0 < right``: the span of each spike's waveform, hence
            the width of output ``waveforms``.
        noise_duration : float, default 1.0
            Seconds (> 0) of signal per block of the running noise estimate;
            detection begins once the first block has arrived.
        noise_blocks : int, default 5
            Block estimates (>= 1) whose median is the noise in use: more
            blocks outvote more spoiled blocks, and follow a lasting change
            later (after ``noise_blocks // 2 + 1`` blocks).
        """
        threshold = check_number(self, "threshold", threshold, above=0)
        refractory_period = check_number(self, "refractory_period", refractory_period, above=0,
                                         unit="seconds")
        noise_duration = check_number(self, "noise_duration", noise_duration, above=0, unit="seconds")
        noise_blocks = check_int(self, "noise_blocks", noise_blocks, minimum=1)
        smoothing = check_number(self, "smoothing", smoothing, minimum=0, unit="seconds")
        if peak_sign not in ("-", "+"):
            raise ValueError(f"{self._describe()}: peak_sign must be '-' or '+', got {peak_sign!r}")
        try:
            left, right = (float(t) for t in waveform_window)
        except (TypeError, ValueError):
            raise ValueError(f"{self._describe()}: waveform_window must be (left, right) in seconds, "
                             f"got {waveform_window!r}") from None
        if not left <= 0 < right:
            raise ValueError(f"{self._describe()}: waveform_window must satisfy left <= 0 < right, "
                             f"got {waveform_window!r}")
        self.threshold, self.peak_sign = threshold, peak_sign
        self.refractory_period, self.smoothing = refractory_period, smoothing
        self.waveform_window, self.noise_duration = (left, right), noise_duration
        self.noise_blocks = noise_blocks
        self.noise_level = None

    def update_output_specs(self):
        """Set the width of output ``waveforms`` (``waveform_window`` in samples) from the input's rate."""
        rate = self.inputs["signals"].params.get("sample_rate")
        if rate and hasattr(self, "waveform_window"):  # set by configure()
            left, right = self._waveform_samples(rate)
            self.outputs["waveforms"].spec.update(shape=(-1, right - left))

    def _waveform_samples(self, rate):
        return round(self.waveform_window[0] * rate), max(1, round(self.waveform_window[1] * rate))

    def check_input_specs(self):
        """Require a real numeric (time, channel) analogsignal input with a sample rate.

        Its channel count and rate are kept: the detection is built from them at start().
        """
        params, _, self.nb_channel = check_signal_input(
            self, "signals", dtype_kinds="fiu", kind_description="real numeric",
            streamtypes=("analogsignal",))
        self.sample_rate = float(params["sample_rate"])

    def _reset_processing(self):
        rate = self.sample_rate
        self._detection = SpikeDetection(
            self.nb_channel, self.threshold, self.peak_sign,
            refractory=max(1, round(self.refractory_period * rate)),
            smoothing=max(1, round(self.smoothing * rate)),
            waveform_window=self._waveform_samples(rate),
            noise_samples=max(1, round(self.noise_duration * rate)), noise_blocks=self.noise_blocks)
        self.noise_level = self._noise_in_use = None
        self._spike_count = 0

    def _process_signals(self, index, data, lost):
        if lost is None or lost > 0:
            self._detection.restart(index - len(data))
        spikes, waveforms = self._detection.process(data)
        if self._detection.noise is not self._noise_in_use:
            self._noise_in_use = self._detection.noise
            self.noise_level = self._noise_in_use.copy()
        if len(spikes):
            self._spike_count += len(spikes)
            self.outputs["spikes"].send(spikes, index=self._spike_count)
            self.outputs["waveforms"].send(waveforms, index=self._spike_count)
