"""TimeFreqWorker: the Morlet wavelet scalogram of one channel, recomputed on a clock.

One worker per channel lets QTimeFreq spread the transforms over threads or
NodeGroup processes. This module needs no Qt, so a worker can live in a
headless NodeGroup.
"""
import logging
import math
import threading
import time

import numpy as np
from pyacq.core.node import Node
from pyacq.core.node_thread import NodeThread
from pyacq.core.stream import BufferOverrunError
from pyacq.core.validation import check_int, check_number, check_signal_input

logger = logging.getLogger(__name__)

#: Default transform settings (see MorletTransform); QTimeFreq shows them as params['timefreq', ...].
DEFAULT_TIMEFREQ = dict(f_start=3.0, f_stop=90.0, deltafreq=3.0, f0=2.5, normalisation=0.0)
#: Longest wait of the worker thread (s): stop() takes effect within it.
POLL_TIMEOUT_S = 0.05
#: At least this many time points per map (more when the frequencies need them).
MIN_TIME_POINTS = 512


class MorletTransform:
    """Amplitude of the complex Morlet wavelet transform of ``n_samples`` samples at ``sample_rate``.

    Wavelet at frequency f: a Gaussian of standard deviation
    ``sigma_t = f0 / (2 pi f)`` modulating ``exp(2i pi f t)``; computed in the
    frequency domain, with its gain set so that a sine of amplitude A at f
    gives |coefficient| = A, then multiplied by ``f ** normalisation``
    (0: amplitude; > 0 compensates 1/f spectra). Only the spectrum below
    ``f_stop`` (plus the wavelet's width) is transformed back, which gives
    the time points directly at a reduced rate: the cost follows the number
    of frequencies and of points shown, not the sample rate.
    """

    def __init__(self, sample_rate, n_samples, f_start, f_stop, deltafreq, f0, normalisation):
        if not 0 < f_start < f_stop:
            raise ValueError(f"need 0 < f_start < f_stop, got f_start={f_start}, f_stop={f_stop}")
        if f_stop >= sample_rate / 2:
            raise ValueError(f"f_stop={f_stop} Hz must be below the Nyquist frequency "
                             f"{sample_rate / 2} Hz")
        if not deltafreq > 0 or not f0 > 0:
            raise ValueError(f"deltafreq and f0 must be > 0, got {deltafreq} and {f0}")
        self.freqs = np.arange(f_start, f_stop + deltafreq / 2, deltafreq)
        self.freqs = self.freqs[self.freqs < sample_rate / 2]
        self.n_samples = int(n_samples)
        pad = math.ceil(4 * f0 / (2 * math.pi * f_start) * sample_rate)
        self.n_fft = 1 << math.ceil(math.log2(self.n_samples + pad))
        sigma_f = self.freqs / f0
        band_top = min(f_stop + 4 * sigma_f[-1], sample_rate / 2)
        n_bins = min(math.ceil(band_top * self.n_fft / sample_rate) + 1, self.n_fft // 2 + 1)
        target = max(n_bins, min(self.n_fft, MIN_TIME_POINTS * self.n_fft // max(self.n_samples, 1)))
        self.n_out = 1 << math.ceil(math.log2(target))
        nu = np.arange(n_bins) * sample_rate / self.n_fft
        kernels = 2.0 * np.exp(-((nu[None, :] - self.freqs[:, None]) ** 2) / (2 * sigma_f[:, None] ** 2))
        kernels *= (self.freqs ** normalisation)[:, None] * (self.n_out / self.n_fft)
        self._kernels = kernels.astype(np.complex64)
        self._n_bins = n_bins
        self.n_time = math.ceil(self.n_samples * self.n_out / self.n_fft)
        self.time_step = self.n_fft / self.n_out / sample_rate

    def __call__(self, signal):
        """The map of ``signal`` (n_samples,): float32 array (n_time, n_freq), oldest first."""
        centred = signal - np.mean(signal)
        spectrum = np.fft.rfft(centred, self.n_fft)[:self._n_bins]
        coefs = np.fft.ifft(self._kernels * spectrum[None, :], n=self.n_out, axis=1)
        return np.abs(coefs[:, :self.n_time]).T.astype(np.float32)


class TimeFreqWorker(Node):
    """Computes the scalogram of one channel of its ``signals`` input and sends it on ``timefreq``.

    Every ``refresh_interval`` ms,
    when new samples arrived, it transforms the last ``xsize`` seconds and
    sends the map, float32 (1, n_time, n_freq), as one item of ``timefreq``
    (the index counts maps; :attr:`map_head` is the input index the last map ends at). Change settings with :meth:`set_params`. The
    input is read in place when it is a sharedmem stream laid out channel by
    channel (axisorder [1, 0]) holding ``max_xsize`` seconds; otherwise the
    worker keeps its own copy.

    Parameters
    ----------
    **kargs
        Node's constructor keywords (``name``, ``parent``), passed on unchanged.
    """

    _input_specs = {"signals": dict()}
    _output_specs = {"timefreq": dict(streamtype="analogsignal", dtype="float32", shape=None)}

    def __init__(self, **kargs):
        Node.__init__(self, **kargs)
        self._settings = dict(DEFAULT_TIMEFREQ, xsize=3.0, refresh_interval=500)
        self._settings_lock = threading.Lock()
        self._transform = None
        self._thread = None
        self.map_count = 0
        self.map_head = None

    def _configure(self, max_xsize=60.0, channel=0):
        """Choose the channel to transform and the longest window.

        Parameters
        ----------
        max_xsize : float, default 60.0
            The longest ``xsize`` :meth:`set_params` accepts, in seconds
            (> 0); the input buffer holds that long (``max_xsize *
            sample_rate`` samples of the channel).
        channel : int, default 0
            Column of input ``signals`` to transform (>= 0); initialize()
            refuses one the input does not have.
        """
        self.max_xsize = check_number(self, "max_xsize", max_xsize, above=0, unit="seconds")
        self.channel = check_int(self, "channel", channel, minimum=0)

    def check_input_specs(self):
        """Require a (time, channel) signal with a sample rate that has the configured ``channel``.

        Raises
        ------
        RuntimeError, TypeError, ValueError
            The input is not connected, is not such a signal, or has no channel ``channel``.
        """
        nb_channel = check_signal_input(self, "signals").nb_channel
        if not self.channel < nb_channel:
            raise ValueError(f"{self._describe()}: channel {self.channel} does not exist; input "
                             f"'signals' has {nb_channel} channels")

    def _initialize(self):
        self.sample_rate = float(self.input.params["sample_rate"])
        self._buffer_size = math.ceil(self.max_xsize * self.sample_rate)
        self.input.set_buffer(size=self._buffer_size, double=True, axisorder=(1, 0))
        self._rebuild_transform()

    def set_params(self, **settings):
        """Change ``xsize`` (s), ``refresh_interval`` (ms) and the transform settings
        (``f_start``, ``f_stop``, ``deltafreq``, ``f0``, ``normalisation``); checked at once."""
        unknown = sorted(set(settings) - set(self._settings))
        if unknown:
            raise KeyError(f"{self._describe()}: unknown settings {unknown}; known: {sorted(self._settings)}")
        new = dict(self._settings, **settings)
        if not 0 < new["xsize"] <= self.max_xsize:
            raise ValueError(f"{self._describe()}: xsize must be in (0, max_xsize={self.max_xsize}], "
                             f"got {new['xsize']!r}")
        if not new["refresh_interval"] > 0:
            raise ValueError(f"{self._describe()}: refresh_interval must be > 0 ms")
        transform = self._make_transform(new) if self.initialized() else None
        with self._settings_lock:
            self._settings = new
            if transform is not None:
                self._transform = transform

    def _make_transform(self, settings):
        n_samples = max(2, round(settings["xsize"] * self.sample_rate))
        try:
            return MorletTransform(self.sample_rate, n_samples, settings["f_start"], settings["f_stop"],
                                   settings["deltafreq"], settings["f0"], settings["normalisation"])
        except ValueError as exc:
            raise ValueError(f"{self._describe()}: {exc}") from None

    def _rebuild_transform(self):
        with self._settings_lock:
            self._transform = self._make_transform(self._settings)

    def _start(self):
        self._stopping = threading.Event()
        self._thread = NodeThread(self, target=self._run, name=f"{self.name or 'TimeFreqWorker'}")
        self._thread.start()

    def _stop(self):
        self._stopping.set()
        self._thread.join(timeout=10.0)
        if self._thread.is_alive():
            raise RuntimeError(f"{self._describe()}: its computing thread did not stop within 10 s")

    def _run(self):
        last_map, computed_head = 0.0, None
        while not self._stopping.is_set():
            self._receive_pending()
            with self._settings_lock:
                interval = self._settings["refresh_interval"] / 1000.0
                transform = self._transform
            now = time.monotonic()
            head = self.input.buffer.index()
            if head != computed_head and now - last_map >= interval and head > 0:
                last_map, computed_head = now, head
                self._send_map(transform, head)
            self._stopping.wait(min(POLL_TIMEOUT_S, max(0.0, last_map + interval - time.monotonic())))

    def _receive_pending(self):
        """Take every chunk already queued (fills the worker's own copy when it has one)."""
        while self.input.poll(0):
            try:
                self.input.recv(return_data=False)
            except BufferOverrunError:
                continue

    def _send_map(self, transform, head):
        start = head - transform.n_samples
        try:
            signal = np.array(self.input.buffer.get_data(max(start, head - self._buffer_size), head)[
                :, self.channel], dtype=np.float64)
        except BufferOverrunError:
            logger.warning("%s: samples overwritten while reading them; map skipped", self._describe())
            return
        if len(signal) < transform.n_samples:
            signal = np.concatenate([np.zeros(transform.n_samples - len(signal)), signal])
        self.map_count += 1
        self.map_head = head
        self.output.send(transform(signal)[None], index=self.map_count)

    def _close(self):
        self._transform = None
