"""``pyacq demo``: a simulated EEG amplifier, a band-pass filter and four live viewers.

The pipeline spreads over four processes, as a real acquisition would:

* NodeGroup ``acquisition``: a NumpyDeviceBuffer plays a simulated 9-channel
  EEG (1/f background, posterior alpha bursts, 50 Hz mains, slow drift, an
  evoked response after each stimulus) plus a ``stim`` channel of pulses;
* NodeGroup ``filtering``: a SosFilter band-pass (0.5-40 Hz) of that stream;
* NodeGroup ``timefreq_workers``: the TimeFreqWorkers of the spectrogram;
* this process: a QOscilloscope of the raw signals, one of the filtered
  signals, a QTimeFreq of the filtered signals and a QTriggeredOscilloscope
  of the filtered signals aligned on the stimulus pulses (with their mean, the
  evoked response).

With a display the windows stay open until closed. Without one (or with
``--headless SECONDS``) Qt renders offscreen, every window is saved as a PNG
after that time, and the run fails (exit 1) if a stream lost data or a viewer
drew nothing. Every node is created by name: pyacq-core depends on no plugin,
so a missing plugin ends the demo with the distribution to install.
"""
import logging
import os
import shlex
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from pyacq.core.rpc.bootstrap import has_display
from pyacq.core.stream import InputStream

logger = logging.getLogger(__name__)

#: Node types the demo creates, and the distribution that provides each.
REQUIRED_NODE_TYPES = {
    "NumpyDeviceBuffer": "pyacq-devices",
    "SosFilter": "pyacq-dsp",
    "QOscilloscope": "pyacq-viewers",
    "QTimeFreq": "pyacq-viewers",
    "TimeFreqWorker": "pyacq-viewers",
    "QTriggeredOscilloscope": "pyacq-viewers",
}

#: Seconds a run without a display lasts when no ``--headless SECONDS`` is given.
DEFAULT_HEADLESS_SECONDS = 10.0

SAMPLE_RATE = 1000.0
CHUNKSIZE = 20
#: The simulated recording loops every LOOP_SECONDS (its periodic parts fit it exactly).
LOOP_SECONDS = 10.0
EEG_CHANNELS = ("Fp1", "Fp2", "C3", "Cz", "C4", "P3", "P4", "O1", "O2")
STIM_CHANNEL = "stim"
#: Relative strength, per EEG channel, of the alpha rhythm and of the evoked response.
ALPHA_WEIGHTS = np.array([0.1, 0.1, 0.3, 0.2, 0.3, 0.6, 0.6, 1.0, 1.0])
EVOKED_WEIGHTS = np.array([0.3, 0.3, 0.7, 1.0, 0.7, 0.8, 0.8, 0.4, 0.4])
#: Band-pass of the filtering NodeGroup: Butterworth, order 2 (a steeper causal filter
#: would distort the slow evoked wave it is meant to reveal).
BAND_HZ, FILTER_ORDER = (0.5, 40.0), 2
#: Height of a stimulus pulse on the stim channel, and how long it lasts (s).
STIM_LEVEL, STIM_PULSE_S = 50.0, 0.02
#: Vertical distance between two stacked channels in the oscilloscopes (µV).
TRACE_SPACING = 100.0
EPOCH_S = (-0.2, 0.8)

WINDOW_SIZE = (900, 600)
SCREENSHOT_FILES = {"raw": "raw_oscilloscope.png", "filtered": "filtered_oscilloscope.png",
                    "timefreq": "timefreq.png", "triggered": "triggered_oscilloscope.png"}


class DemoError(RuntimeError):
    """The demo cannot run here (a plugin is missing); the message says what to install."""


def headless_seconds(requested):
    """How long to run offscreen: ``requested``, the default when there is no display,
    or None to open windows on the display."""
    if requested is not None:
        if isinstance(requested, bool) or not isinstance(requested, (int, float)) or not requested > 0:
            raise ValueError(f"headless needs a positive number of seconds, got {requested!r}")
        return float(requested)
    return None if has_display() else DEFAULT_HEADLESS_SECONDS


def check_plugins():
    """Raise DemoError naming the distributions that provide the missing node types."""
    from pyacq.core.plugins.registry import list_node_types
    installed = set(list_node_types())
    missing = sorted({dist for name, dist in REQUIRED_NODE_TYPES.items() if name not in installed})
    if missing:
        raise DemoError("pyacq demo needs the plugin distribution(s) " + ", ".join(missing)
                        + "; install them with: " + install_command(missing))


def install_command(distributions):
    """The pip command that installs pyacq *distributions*, which no package index serves.

    When this pyacq-core runs from a checkout (an editable install), the
    command names the distributions' directories in it; otherwise it names
    them relative to the root of a checkout, where it must be run.
    """
    checkout = Path(__file__).resolve().parents[2]
    if all((checkout / name / "pyproject.toml").is_file() for name in distributions):
        return "pip install " + " ".join(shlex.quote(str(checkout / name)) for name in distributions)
    return ("pip install " + " ".join(f"./{name}" for name in distributions)
            + " (from the root of a pyacq checkout)")


def simulated_eeg(sample_rate=SAMPLE_RATE, seconds=LOOP_SECONDS, seed=0):
    """A (n_samples, 10) float32 recording in µV: the 9 EEG channels then ``stim``.

    The background is 1/f noise built in the frequency domain, so the loop
    has no seam; the rhythms have a whole number of periods in ``seconds``.
    A stimulus every ~1 s (jittered) marks the stim channel and evokes an
    N100/P300-like wave on the EEG channels.
    """
    rng = np.random.default_rng(seed)
    n_samples, nb_eeg = round(seconds * sample_rate), len(EEG_CHANNELS)
    t = np.arange(n_samples) / sample_rate
    freqs = np.fft.rfftfreq(n_samples, 1.0 / sample_rate)
    slope = np.zeros_like(freqs)
    slope[1:] = 1.0 / np.sqrt(freqs[1:])
    spectrum = slope[:, None] * (rng.standard_normal((len(freqs), nb_eeg))
                                 + 1j * rng.standard_normal((len(freqs), nb_eeg)))
    background = np.fft.irfft(spectrum, n_samples, axis=0)
    eeg = 8.0 * background / background.std(axis=0)
    envelope = 0.5 * (1.0 + np.sin(2 * np.pi * 0.2 * t))
    eeg += (25.0 * envelope * np.sin(2 * np.pi * 10.0 * t))[:, None] * ALPHA_WEIGHTS
    eeg += 10.0 * np.sin(2 * np.pi * 50.0 * t[:, None] + rng.uniform(0, 2 * np.pi, nb_eeg))
    eeg += 30.0 * np.sin(2 * np.pi * 0.1 * t[:, None] + rng.uniform(0, 2 * np.pi, nb_eeg))

    nominal_onsets = np.arange(0.5, seconds - 0.8, 1.0)
    jitter = rng.uniform(-0.15, 0.15, len(nominal_onsets))
    onsets = np.round((nominal_onsets + jitter) * sample_rate).astype(int)
    tk = np.arange(round(0.6 * sample_rate)) / sample_rate
    wave = (-12.0 * np.exp(-(tk - 0.1) ** 2 / (2 * 0.02 ** 2))
            + 25.0 * np.exp(-(tk - 0.3) ** 2 / (2 * 0.05 ** 2)))
    evoked = np.zeros(n_samples)
    np.add.at(evoked, onsets[:, None] + np.arange(len(wave)), np.broadcast_to(wave, (len(onsets), len(wave))))
    eeg += evoked[:, None] * EVOKED_WEIGHTS

    stim = np.zeros(n_samples)
    stim[onsets[:, None] + np.arange(round(STIM_PULSE_S * sample_rate))] = STIM_LEVEL
    return np.column_stack([eeg, stim]).astype(np.float32)


class StreamMonitor:
    """Receives one stream in its own thread to measure its rate and count its gaps."""

    def __init__(self, label, output):
        self.label = label
        self.input = InputStream(name=f"monitor {label}")
        self.input.connect(output)
        self._lock = threading.Lock()
        self._first = self._last = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._receive, name=f"monitor-{label}", daemon=True)
        self._thread.start()

    def _receive(self):
        while not self._stopping.is_set():
            if not self.input.poll(100):
                continue
            index, _ = self.input.recv(return_data=False)
            now = time.monotonic()
            with self._lock:
                if self._first is None:
                    self._first = (now, index)
                self._last = (now, index)

    def samples(self):
        """Index of the last sample received + 1 (0 before any chunk)."""
        with self._lock:
            return 0 if self._last is None else self._last[1]

    def rate(self):
        """Samples per second between the first and the last chunk received (0 before two)."""
        with self._lock:
            if self._first is None or self._last[0] <= self._first[0]:
                return 0.0
            return (self._last[1] - self._first[1]) / (self._last[0] - self._first[0])

    def close(self):
        """Stop the receiving thread (waiting up to 10 s for it), then close the monitor's input."""
        self._stopping.set()
        self._thread.join(timeout=10.0)
        self.input.close()


def _losses(stream_input):
    """(gaps, lost samples, sharedmem overruns) an InputStream (or a proxy to one) counted."""
    return (int(stream_input.gap_count), int(stream_input.lost_samples), int(stream_input.overrun_count))


class DemoPipeline:
    """Builds, runs and closes the demo's nodes (see the module docstring)."""

    def __init__(self, report=print):
        self.report = report
        self.manager = None
        self.viewers = {}
        self.monitors = []
        self._had_rpc_server = False
        #: time.monotonic() at start(), None while stopped.
        self._started = None

    # -- building ---------------------------------------------------------------------

    def build(self):
        """Create the Manager, its three NodeGroups, the nodes and the viewers, all initialized.

        The device and the filter live in the ``acquisition`` and ``filtering``
        NodeGroups, the time-frequency workers in ``timefreq_workers``; the viewers
        and the rate monitors live in this process. Nothing runs before :meth:`start`.
        """
        import scipy.signal

        from pyacq.core.distributed.manager import create_manager
        from pyacq.core.plugins.registry import get_node_type
        from pyacq.core.rpc.server import RPCServer

        self._had_rpc_server = RPCServer.get_server() is not None
        self.manager = create_manager(auto_close_at_exit=True)
        acquisition = self.manager.create_nodegroup(name="acquisition", qt=False)
        filtering = self.manager.create_nodegroup(name="filtering", qt=False)
        workers = self.manager.create_nodegroup(name="timefreq_workers", qt=False)

        channel_names = [*EEG_CHANNELS, STIM_CHANNEL]
        self.device = acquisition.create_node("NumpyDeviceBuffer", name="simulated_eeg")
        self.device.configure(nb_channel=len(channel_names), sample_interval=1.0 / SAMPLE_RATE,
                              chunksize=CHUNKSIZE, buffer=simulated_eeg(), channel_names=channel_names)
        self.device.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        self.device.initialize()

        self.filter = filtering.create_node("SosFilter", name="bandpass")
        sos = scipy.signal.butter(FILTER_ORDER, BAND_HZ, btype="bandpass", fs=SAMPLE_RATE, output="sos")
        self.filter.configure(coefficients=sos)
        self.filter.input.connect(self.device.output)
        self.filter.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        self.filter.initialize()

        self.monitors = [StreamMonitor("raw", self.device.output),
                         StreamMonitor("filtered", self.filter.output)]

        raw = self._oscilloscope(get_node_type("QOscilloscope"), "raw", self.device.output,
                                 "raw EEG (acquisition NodeGroup)")
        filtered = self._oscilloscope(get_node_type("QOscilloscope"), "filtered", self.filter.output,
                                      f"band-pass {BAND_HZ[0]:g}-{BAND_HZ[1]:g} Hz (filtering NodeGroup)")
        timefreq = self._timefreq(get_node_type("QTimeFreq"), self.filter.output, workers)
        triggered = self._triggered(get_node_type("QTriggeredOscilloscope"), self.filter.output)
        self.viewers = {"raw": raw, "filtered": filtered, "timefreq": timefreq, "triggered": triggered}

    def _stack_channels(self, viewer, nb_channel):
        """Gain 1 and one horizontal slot per channel, the first at the top."""
        for channel in range(nb_channel):
            viewer.by_channel_params[f"Signal{channel}", "gain"] = 1.0
            viewer.by_channel_params[f"Signal{channel}", "offset"] = (nb_channel - 1 - channel) * TRACE_SPACING
        viewer.params["ylim_min"] = -TRACE_SPACING
        viewer.params["ylim_max"] = nb_channel * TRACE_SPACING

    def _oscilloscope(self, node_class, key, output, title):
        viewer = node_class(name=f"{key}_oscilloscope")
        viewer.configure(with_user_dialog=True, max_xsize=30.0)
        viewer.input.connect(output)
        viewer.initialize()
        viewer.setWindowTitle(f"pyacq demo: {title}")
        viewer.params["xsize"] = 5.0
        viewer.params["display_labels"] = True
        viewer.params["show_bottom_axis"] = True
        self._stack_channels(viewer, len(EEG_CHANNELS) + 1)
        return viewer

    def _timefreq(self, node_class, output, workers):
        viewer = node_class(name="timefreq")
        viewer.configure(with_user_dialog=True, max_xsize=10.0, nodegroup_friends=[workers])
        viewer.input.connect(output)
        viewer.initialize()
        viewer.setWindowTitle("pyacq demo: Morlet spectrogram of the filtered EEG "
                              "(workers in the timefreq_workers NodeGroup)")
        viewer.params["xsize"] = 5.0
        viewer.params["nb_column"] = 3
        viewer.params["timefreq", "f_start"] = 2.0
        viewer.params["timefreq", "f_stop"] = 45.0
        viewer.params["timefreq", "deltafreq"] = 1.0
        for channel in range(len(EEG_CHANNELS)):
            viewer.by_channel_params[f"Signal{channel}", "clim"] = 15.0
        viewer.by_channel_params[f"Signal{len(EEG_CHANNELS)}", "visible"] = False
        return viewer

    def _triggered(self, node_class, output):
        viewer = node_class(name="triggered")
        viewer.configure(with_user_dialog=True, max_xsize=EPOCH_S[1] - EPOCH_S[0], max_stack_size=10)
        viewer.input.connect(output)
        viewer.initialize()
        viewer.setWindowTitle("pyacq demo: filtered EEG epochs aligned on the stimuli, and their mean")
        viewer.trigger.params["channel"] = len(EEG_CHANNELS)
        viewer.trigger.params["threshold"] = STIM_LEVEL / 2
        viewer.trigger.params["front"] = "+"
        viewer.triggeraccumulator.params["left_sweep"] = EPOCH_S[0]
        viewer.triggeraccumulator.params["right_sweep"] = EPOCH_S[1]
        viewer.triggeraccumulator.params["stack_size"] = 10
        viewer.params["show_mean"] = True
        self._stack_channels(viewer, len(EEG_CHANNELS) + 1)
        return viewer

    # -- running ----------------------------------------------------------------------

    def start(self):
        """Start the viewers, then the filter, then the device: every reader runs before a chunk is sent.

        If one of them fails to start, those already started are stopped again
        (newest first) before the error is raised: a failed start leaves nothing running.
        """
        started = []
        try:
            for node in (*self.viewers.values(), self.filter, self.device):
                node.start()
                started.append(node)
        except BaseException:
            for node in reversed(started):
                try:
                    node.stop()
                except Exception as exc:  # noqa: BLE001 -- the start failure is what is raised
                    logger.error("pyacq demo: stopping %r after a failed start failed too: %s", node, exc)
            raise
        self._started = time.monotonic()

    def progress_line(self):
        """The progress line: seconds since start(), each stream's rate and gaps, the epochs so far."""
        elapsed = time.monotonic() - self._started
        rates = "  ".join(f"{m.label} {m.rate():7.1f} Hz gaps {m.input.gap_count}" for m in self.monitors)
        return f"t={elapsed:5.1f}s  {rates}  epochs {self.viewers['triggered'].triggeraccumulator.total_trig}"

    def consumers(self):
        """(stream, consumer, input stream or proxy to it) for every reader of the demo's streams."""
        timefreq = self.viewers["timefreq"]
        table = [("raw", "bandpass (filtering)", self.filter.input),
                 ("raw", "raw_oscilloscope", self.viewers["raw"].input),
                 ("filtered", "filtered_oscilloscope", self.viewers["filtered"].input),
                 ("filtered", "triggered", self.viewers["triggered"].input),
                 ("filtered", "timefreq", timefreq.input)]
        table += [("filtered", f"{worker.name} (timefreq_workers)", worker.input)
                  for worker in timefreq.workers]
        table += [(m.label, "rate monitor", m.input) for m in self.monitors]
        return table

    def stop(self):
        """Stop the device, the filter, then the viewers; do nothing unless started since the last stop().

        Every part is stopped even when one of them fails to (a node left
        running would keep its threads and streams busy); the first failure is
        raised afterwards, the later ones are logged.
        """
        if self._started is None:
            return
        self._started = None
        first_failure = None
        for node in (self.device, self.filter, *self.viewers.values()):
            try:
                node.stop()
            except Exception as exc:  # noqa: BLE001 -- the first is re-raised below, the others logged
                if first_failure is None:
                    first_failure = exc
                else:
                    logger.error("pyacq demo: stopping %r failed too: %s", node, exc)
        if first_failure is not None:
            raise first_failure

    def close(self):
        """Close the viewers, the monitors, then every NodeGroup and the Manager."""
        from pyqtgraph.Qt import QtCore, QtWidgets

        from pyacq.core.rpc.server import RPCServer
        for viewer in self.viewers.values():
            if viewer.running():
                viewer.stop()
            if not viewer.closed():
                viewer.close()
            viewer.deleteLater()
        # Destroy the widgets now, while the QApplication exists: left to the interpreter's
        # shutdown, they may outlive it and crash the process on exit.
        QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
        self.viewers.clear()
        for monitor in self.monitors:
            monitor.close()
        if self.manager is not None:
            self.manager.close()
            self.manager = None
            server = RPCServer.get_server()
            if not self._had_rpc_server and server is not None:
                server.close()


def drawing_problems(viewers):
    """What each viewer failed to show of the live data (an empty list when all drew)."""
    problems = []
    for key in ("raw", "filtered"):
        viewer = viewers[key]
        if viewer.frame_count == 0 or viewer.history.head()[0] == 0:
            problems.append(f"{viewer.name}: drew no samples")
    timefreq = viewers["timefreq"]
    for channel, image in enumerate(timefreq.images):
        if not timefreq.by_channel_params[f"Signal{channel}", "visible"]:
            continue
        if image.image is None or not np.ptp(image.image) > 0:
            problems.append(f"{timefreq.name}: channel {timefreq.channel_names[channel]} has no map")
    accumulator = viewers["triggered"].triggeraccumulator
    if accumulator.total_trig == 0:
        problems.append(f"{viewers['triggered'].name}: no epoch was triggered")
    return problems


def save_screenshots(viewers, directory):
    """Save every viewer window as a PNG in ``directory``; return the paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for key, filename in SCREENSHOT_FILES.items():
        path = directory / filename
        if not viewers[key].grab().save(str(path)):
            raise OSError(f"could not write the screenshot {path}")
        paths.append(path)
    return paths


def loss_report(pipeline, report):
    """Print the rate of each stream and what each consumer lost; return the total loss count."""
    report(f"{'stream':<9} {'rate (Hz)':>10} {'nominal':>8} {'samples':>8}")
    for monitor in pipeline.monitors:
        report(f"{monitor.label:<9} {monitor.rate():10.1f} {SAMPLE_RATE:8.0f} {monitor.samples():8d}")
    report(f"{'stream':<9} {'consumer':<36} {'gaps':>5} {'lost':>6} {'overruns':>8}")
    total = 0
    for stream, consumer, stream_input in pipeline.consumers():
        gaps, lost, overruns = _losses(stream_input)
        total += gaps + overruns
        report(f"{stream:<9} {consumer:<36} {gaps:5d} {lost:6d} {overruns:8d}")
    return total


#: Qt warnings that say nothing about the demo: the offscreen platform cannot pass size hints
#: on, and Qt falls back to a runtime directory of its own when XDG_RUNTIME_DIR is unset.
KNOWN_QT_NOISE = ("This plugin does not support propagateSizeHints()", "XDG_RUNTIME_DIR not set")


def _qt_message_without_known_noise(kind, context, message):
    """Qt message handler: Qt's messages on stderr, as by default, minus KNOWN_QT_NOISE."""
    if not any(noise in message for noise in KNOWN_QT_NOISE):
        print(message, file=sys.stderr)


def _place_windows(app, viewers):
    """Tile the four windows over the screen."""
    area = app.primaryScreen().availableGeometry()
    width, height = area.width() // 2, area.height() // 2
    for position, viewer in enumerate(viewers.values()):
        viewer.resize(width, height)
        viewer.move(area.x() + (position % 2) * width, area.y() + (position // 2) * height)


def run_demo(headless=None, screenshots=None, report=print):
    """Run the demo; return the exit status (0: every stream complete and every viewer drew).

    ``headless``: seconds to run offscreen (None: offscreen for
    DEFAULT_HEADLESS_SECONDS when there is no display, else open the windows
    until they are closed). ``screenshots``: directory for the PNG files
    (headless default: a new temporary directory).
    """
    check_plugins()
    headless = headless_seconds(headless)
    if headless is not None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        if screenshots is None:
            screenshots = tempfile.mkdtemp(prefix="pyacq-demo-")
    from pyqtgraph.Qt import QtCore, QtWidgets
    previous_qt_handler = QtCore.qInstallMessageHandler(_qt_message_without_known_noise)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(["pyacq demo"])

    pipeline = DemoPipeline(report)
    previous_sigint = signal.getsignal(signal.SIGINT)
    try:
        pipeline.build()
        if headless is None:
            _place_windows(app, pipeline.viewers)
        else:
            for viewer in pipeline.viewers.values():
                viewer.resize(*WINDOW_SIZE)
        for viewer in pipeline.viewers.values():
            viewer.show()
        report(f"simulated_eeg: {len(EEG_CHANNELS)} EEG channels + {STIM_CHANNEL} at {SAMPLE_RATE:g} Hz; "
               "NodeGroups acquisition, filtering, timefreq_workers; "
               + (f"offscreen for {headless:g} s" if headless is not None else "close the windows to end"))
        # Python runs its SIGINT handler only between bytecodes: a short timer gives it the chance.
        wake = QtCore.QTimer()
        wake.timeout.connect(lambda: None)
        wake.start(200)
        signal.signal(signal.SIGINT, lambda *_: app.quit())
        if headless is not None:
            QtCore.QTimer.singleShot(round(headless * 1000), app.quit)
        pipeline.start()
        ticker = QtCore.QTimer()
        ticker.timeout.connect(lambda: report(pipeline.progress_line()))
        ticker.start(1000)
        app.exec_()
        ticker.stop()
        wake.stop()
        pipeline.stop()
        problems = drawing_problems(pipeline.viewers)
        if screenshots is not None:
            for path in save_screenshots(pipeline.viewers, Path(screenshots)):
                report(f"screenshot: {path}")
        lost = loss_report(pipeline, report)
    finally:
        signal.signal(signal.SIGINT, previous_sigint)
        pipeline.close()
        QtCore.qInstallMessageHandler(previous_qt_handler)
    for problem in problems:
        report(f"problem: {problem}")
    if lost:
        report(f"problem: {lost} gaps or overruns: data were lost")
    report("demo " + ("failed" if problems or lost else "ok"))
    return 1 if problems or lost else 0
