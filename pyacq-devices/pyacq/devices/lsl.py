"""Lab Streaming Layer bridge: LslInlet brings an LSL stream into pyacq, LslOutlet publishes one.

LSL (pylsl, extra ``pyacq-devices[lsl]``) is what LabRecorder, MNE-LSL,
OpenViBE and many amplifier drivers speak. The LSL network scope is set by
liblsl's configuration (``LSLAPICFG``, ``lsl_api.cfg``), not by these nodes.
"""
import logging
import threading

import numpy as np
from pyacq.core import Node
from pyacq.core.inputpoller import InputPoller

try:
    import pylsl
    HAVE_PYLSL = True
except ImportError:
    pylsl = None
    HAVE_PYLSL = False

logger = logging.getLogger(__name__)

#: LSL channel formats and the numpy dtypes they travel as in pyacq.
LSL_DTYPES = {"float32": "float32", "double64": "float64", "int8": "int8", "int16": "int16",
              "int32": "int32", "int64": "int64"}
#: pylsl's numeric codes of the channel formats (StreamInfo.channel_format()).
LSL_FORMAT_NAMES = {1: "float32", 2: "double64", 3: "string", 4: "int32", 5: "int16", 6: "int8",
                    7: "int64"}
#: Longest marker string kept in an event (bytes, UTF-8); longer ones are cut and logged.
MARKER_BYTES = 256
#: Samples pulled at most per read, and wait of one read (s) before checking for stop().
PULL_MAX_SAMPLES, PULL_TIMEOUT = 4096, 0.1


def _require_pylsl(node):
    if not HAVE_PYLSL:
        raise ImportError(f"{node._describe()} needs pylsl: pip install pylsl "
                          "(or pip install 'pyacq-devices[lsl]')")


def _xml_escape(value):
    return str(value).replace("'", "&apos;")


def lsl_channel_labels(info):
    """Channel labels from an LSL StreamInfo's ``desc/channels/channel/label`` (``ch<i>`` if absent)."""
    labels = []
    channel = info.desc().child("channels").child("channel")
    while not channel.empty() and len(labels) < info.channel_count():
        labels.append(channel.child_value("label"))
        channel = channel.next_sibling("channel")
    labels += [""] * (info.channel_count() - len(labels))
    return [label or f"ch{i}" for i, label in enumerate(labels)]


class LslInlet(Node):
    """Device node reading an LSL stream: ``configure(name=None, type=None, source_id=None, timeout=5.)``.

    The stream matching every given property is resolved (any stream if none
    is given; LookupError after ``timeout`` s). Regular-rate numeric streams
    come out of ``signals`` as analog (nb_channel, sample_rate and channel
    names from the LSL metadata); irregular-rate streams (markers) as events
    with fields ``timestamp`` and ``value``. ``timestamps`` carries the LSL
    time of every sample, corrected to this machine's LSL clock. A jump of the
    timestamps of a regular stream by more than ``gap_tolerance`` s past the
    expected spacing is lost data: logged, counted in ``lost_samples`` and sent
    as a gap in both outputs.
    """

    _output_specs = {
        "signals": dict(streamtype="analogsignal"),
        "timestamps": dict(streamtype="analogsignal", dtype="float64", shape=(-1,)),
    }

    def _configure(self, name=None, type=None, source_id=None, timeout=5.0, gap_tolerance=0.05):
        _require_pylsl(self)
        query = [f"{key}='{_xml_escape(value)}'" for key, value in
                 (("name", name), ("type", type), ("source_id", source_id)) if value is not None]
        predicate = " and ".join(query)
        found = (pylsl.resolve_bypred(predicate, 1, timeout) if predicate
                 else pylsl.resolve_streams(wait_time=timeout))
        if not found:
            raise LookupError(f"{self._describe()}: no LSL stream matching "
                              f"{predicate or 'anything'} within {timeout} s")
        self.inlet = pylsl.StreamInlet(found[0], max_buflen=360, recover=True,
                                       processing_flags=pylsl.proc_clocksync)
        try:
            self.info = self.inlet.info(timeout=timeout)
        except pylsl.TimeoutError:
            self.inlet.close_stream()
            raise LookupError(f"{self._describe()}: the LSL stream {found[0].name()!r} did not "
                              f"answer within {timeout} s") from None
        self.nb_channel = self.info.channel_count()
        self.sample_rate = self.info.nominal_srate()
        self.channel_format = LSL_FORMAT_NAMES[self.info.channel_format()]
        self.channel_info = [{"name": label} for label in lsl_channel_labels(self.info)]
        self.gap_tolerance = gap_tolerance
        self.lost_samples = 0
        spec = self.outputs["signals"].spec
        spec.update(nb_channel=self.nb_channel, channel_info=self.channel_info,
                    lsl_name=self.info.name(), lsl_type=self.info.type(),
                    lsl_source_id=self.info.source_id())
        if self.sample_rate > 0 and self.channel_format != "string":
            self.dtype = np.dtype(LSL_DTYPES[self.channel_format])
            spec.update(streamtype="analogsignal", dtype=self.dtype.str, shape=(-1, self.nb_channel),
                        sample_rate=self.sample_rate)
            self.outputs["timestamps"].spec.update(sample_rate=self.sample_rate)
        else:
            value = (f"S{MARKER_BYTES}" if self.channel_format == "string"
                     else LSL_DTYPES[self.channel_format])
            field = ("value", value) if self.nb_channel == 1 else ("value", value, (self.nb_channel,))
            self.dtype = np.dtype([("timestamp", "<f8"), field])
            spec.update(streamtype="event", dtype=self.dtype, shape=(-1,))

    def _initialize(self):
        self.inlet.open_stream(timeout=10.0)

    def _start(self):
        self._stopping = threading.Event()
        self._index = 0
        self._next_timestamp = None
        self._thread = threading.Thread(target=self._pull_loop, daemon=True,
                                        name=f"{self.name or 'lsl'}-inlet")
        self._thread.start()

    def _stop(self):
        self._stopping.set()
        self._thread.join(timeout=10.0)
        if self._thread.is_alive():
            raise RuntimeError(f"{self._describe()}: the LSL reading thread did not stop within 10 s")

    def _close(self):
        if hasattr(self, "inlet"):
            self.inlet.close_stream()
            del self.inlet

    def _pull_loop(self):
        regular = self.outputs["signals"].spec["streamtype"] == "analogsignal"
        while not self._stopping.is_set():
            samples, timestamps = self.inlet.pull_chunk(timeout=PULL_TIMEOUT,
                                                        max_samples=PULL_MAX_SAMPLES)
            if not timestamps:
                continue
            timestamps = np.asarray(timestamps, dtype=np.float64)
            if regular:
                self._send_signal(np.asarray(samples, dtype=self.dtype), timestamps)
            else:
                self._send_events(samples, timestamps)

    def _send_signal(self, samples, timestamps):
        missing = self._missing_before(timestamps[0])
        self._next_timestamp = timestamps[-1] + 1.0 / self.sample_rate
        self._index += missing + len(samples)
        self.outputs["signals"].send(samples.reshape(-1, self.nb_channel), index=self._index)
        self.outputs["timestamps"].send(timestamps, index=self._index)

    def _missing_before(self, first_timestamp):
        """Samples lost between the previous chunk and one starting at ``first_timestamp``."""
        if self._next_timestamp is None:
            return 0
        late = first_timestamp - self._next_timestamp
        if late <= self.gap_tolerance:
            return 0
        missing = round(late * self.sample_rate)
        self.lost_samples += missing
        logger.warning("%s: about %d samples lost (LSL timestamps jump by %.3f s); %d lost so far",
                       self._describe(), missing, late, self.lost_samples)
        return missing

    def _send_events(self, samples, timestamps):
        events = np.zeros(len(timestamps), self.dtype)
        events["timestamp"] = timestamps
        values = np.asarray(samples).reshape(len(timestamps), self.nb_channel)
        if self.channel_format == "string":
            encoded = np.char.encode(values.astype(str), "utf-8")
            if encoded.dtype.itemsize > MARKER_BYTES:
                logger.warning("%s: marker longer than %d bytes cut", self._describe(), MARKER_BYTES)
            values = encoded.astype(f"S{MARKER_BYTES}")
        events["value"] = values if self.nb_channel > 1 else values[:, 0]
        self._index += len(events)
        self.outputs["signals"].send(events, index=self._index)
        self.outputs["timestamps"].send(timestamps, index=self._index)


class LslOutlet(Node):
    """Sink node publishing its input as an LSL outlet: ``configure(name, type='EEG', source_id=None)``.

    The input must be analog: samples of shape (nb_channel,) in an LSL numeric
    format (float32, float64, int8/16/32/64). Channel labels (from the input's
    ``channel_info``), units and the sample rate go into the LSL metadata, so
    LabRecorder and MNE-LSL show them. ``source_id`` defaults to
    ``pyacq-<name>``: LSL readers use it to find the stream again after a
    restart.
    """

    _input_specs = {"signals": dict()}

    def _configure(self, name=None, type="EEG", source_id=None):
        _require_pylsl(self)
        if not name:
            raise ValueError(f"{self._describe()}: configure() needs the LSL stream name (name=...)")
        self.lsl_name, self.lsl_type = str(name), str(type)
        self.source_id = source_id or f"pyacq-{name}"

    def check_input_specs(self):
        params = self.input.params
        shape, dtype = params.get("shape"), np.dtype(params["dtype"])
        formats = {np.dtype(d): f for f, d in LSL_DTYPES.items()}
        if shape is None or len(shape) != 2 or dtype not in formats:
            raise ValueError(f"{self._describe()}: LSL publishes analog streams of shape (-1, nb_channel) "
                             f"and dtype {sorted(LSL_DTYPES.values())}; the input has shape {shape} and "
                             f"dtype {dtype}")
        self._channel_format = formats[dtype]

    def _initialize(self):
        params = self.input.params
        nb_channel = params["shape"][1]
        names = [entry.get("name", f"ch{i}") for i, entry in enumerate(params.get("channel_info") or [])]
        names += [f"ch{i}" for i in range(len(names), nb_channel)]
        info = pylsl.StreamInfo(self.lsl_name, self.lsl_type, nb_channel,
                                params.get("sample_rate") or pylsl.IRREGULAR_RATE,
                                self._channel_format, self.source_id)
        channels = info.desc().append_child("channels")
        for label in names[:nb_channel]:
            channel = channels.append_child("channel")
            channel.append_child_value("label", label)
            channel.append_child_value("unit", params.get("units") or "")
            channel.append_child_value("type", self.lsl_type)
        info.desc().append_child("acquisition").append_child_value("manufacturer", "pyacq")
        self.outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=360)

    def _start(self):
        self._poller = InputPoller(self.input, self._push, return_data=True,
                                   name=f"{self.name or 'lsl'}-outlet")
        self._poller.start()

    def _push(self, index, data):
        self.outlet.push_chunk(np.ascontiguousarray(data))

    def _stop(self):
        self._poller.stop()
        self._poller.join(timeout=10.0)
        if self._poller.is_alive():
            raise RuntimeError(f"{self._describe()}: the LSL publishing thread did not stop within 10 s")

    def _close(self):
        if hasattr(self, "outlet"):
            del self.outlet

    def have_consumers(self):
        """True when at least one LSL inlet is connected to the outlet."""
        return self.outlet.have_consumers()
