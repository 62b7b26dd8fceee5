"""Lab Streaming Layer bridge: LslInlet brings an LSL stream into pyacq, LslOutlet publishes one.

LSL (pylsl, extra ``pyacq-devices[lsl]``) is what LabRecorder, MNE-LSL,
OpenViBE and many amplifier drivers speak. The LSL network scope is set by
liblsl's configuration (``LSLAPICFG``, ``lsl_api.cfg``), not by these nodes.
"""
import inspect
import logging
import threading
import time

import numpy as np
from pyacq.core import Node
from pyacq.core.node_thread import NodeThread
from pyacq.core.streamtools.inputpoller import InputPoller
from pyacq.core.validation import channel_names, connected_input_params

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
#: Event fields published by LslOutlet when ``marker_field`` is not given, in this order.
MARKER_FIELDS = ("label", "value", "description", "marker", "type", "code")
#: Longest marker string kept in an event (bytes, UTF-8); longer ones are cut and logged.
MARKER_BYTES = 256
#: Samples pulled at most per read, and wait of one read (s) before checking for stop().
PULL_MAX_SAMPLES, PULL_TIMEOUT = 4096, 0.1
#: Seconds between two refreshes of the clock offset added to the LSL timestamps.
CLOCK_OFFSET_PERIOD = 1.0


def _require_pylsl(node):
    if not HAVE_PYLSL:
        raise ImportError(f"{node._describe()} needs pylsl: pip install pylsl "
                          "(or pip install 'pyacq-devices[lsl]')")


def _fast_pull_options():
    """Options of recent pylsl's ``pull_chunk``: timestamps as an array, return at the first sample.

    ``min_samples=1`` returns as soon as samples are there instead of waiting
    for ``max_samples`` or the timeout; older pylsl (no such keywords) waits.
    """
    parameters = inspect.signature(pylsl.StreamInlet.pull_chunk).parameters
    return {key: value for key, value in (("as_numpy", True), ("min_samples", 1))
            if key in parameters}


def _xml_escape(value):
    return str(value).replace("'", "&apos;")


def lsl_channel_labels(info):
    """Channel labels from an LSL StreamInfo's ``desc/channels/channel/label`` (``ch<i>`` if absent)."""
    labels = []
    channel = info.desc().child("channels").child("channel")
    while not channel.empty() and len(labels) < info.channel_count():
        labels.append(channel.child_value("label"))
        channel = channel.next_sibling("channel")
    return channel_names(labels, info.channel_count())


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
        """Find the LSL stream to read and take its description.

        The stream whose properties equal every one given among ``name``,
        ``type`` and ``source_id`` is looked for on the network (the first one
        found if several match, any stream if none is given), and its channel
        count, rate, format and labels become the outputs' params.

        Parameters
        ----------
        name : str, optional
            The LSL stream's name (``StreamInfo.name()``).
        type : str, optional
            The LSL stream's content type, e.g. ``'EEG'`` or ``'Markers'``.
        source_id : str, optional
            The LSL stream's source id, which names one device across its
            restarts: the most precise choice when several streams share a
            name.
        timeout : float, default 5.0
            Seconds to wait for a matching stream (and for its description)
            before LookupError.
        gap_tolerance : float, default 0.05
            Seconds of jitter accepted in the timestamps of a regular-rate
            stream: a chunk that starts later than the expected next sample
            by more than this counts the missing samples as lost (a gap in
            the outputs). Raise it for a sender whose clock jitters more.
        """
        _require_pylsl(self)
        query = [f"{key}='{_xml_escape(value)}'" for key, value in
                 (("name", name), ("type", type), ("source_id", source_id)) if value is not None]
        predicate = " and ".join(query)
        found = (pylsl.resolve_bypred(predicate, 1, timeout) if predicate
                 else pylsl.resolve_streams(wait_time=timeout))
        if not found:
            raise LookupError(f"{self._describe()}: no LSL stream matching "
                              f"{predicate or 'anything'} within {timeout} s")
        self.inlet = pylsl.StreamInlet(found[0], max_buflen=360, recover=True)
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
        self._clock_offset = self.inlet.time_correction(timeout=10.0)
        self._offset_updated = time.monotonic()

    def _corrected(self, timestamps):
        """LSL timestamps moved to this machine's LSL clock.

        The offset is liblsl's estimate (``time_correction()``), refreshed
        every :data:`CLOCK_OFFSET_PERIOD` s and added to the whole chunk:
        liblsl's own per-sample correction (``proc_clocksync``) costs about
        3 µs per sample, ten times the rest of the bridge.
        """
        if time.monotonic() - self._offset_updated > CLOCK_OFFSET_PERIOD:
            try:
                self._clock_offset = self.inlet.time_correction(timeout=PULL_TIMEOUT)
            except pylsl.TimeoutError:
                logger.debug("%s: no new LSL clock offset estimate yet", self._describe())
            self._offset_updated = time.monotonic()
        timestamps += self._clock_offset
        return timestamps

    def _start(self):
        self._stopping = threading.Event()
        self._index = 0
        self._next_timestamp = None
        self._thread = NodeThread(self, target=self._pull_loop, name=f"{self.name or 'lsl'}-inlet")
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
        if self.outputs["signals"].spec["streamtype"] == "analogsignal":
            self._pull_signal()
        else:
            self._pull_events()

    def _pull_signal(self):
        """Pull numeric samples straight into one preallocated buffer; copy out what arrived.

        liblsl writes into ``buffer`` (``dest_obj``): no per-sample Python.
        The chunk sent is a copy, because a plaindata send keeps a reference to
        its data and the buffer is refilled by the next pull.
        """
        buffer = np.empty((PULL_MAX_SAMPLES, self.nb_channel), dtype=self.dtype)
        options = _fast_pull_options()
        while not self._stopping.is_set():
            _, timestamps = self.inlet.pull_chunk(timeout=PULL_TIMEOUT, max_samples=PULL_MAX_SAMPLES,
                                                  dest_obj=buffer, **options)
            if len(timestamps):
                self._send_signal(buffer[:len(timestamps)].copy(),
                                  self._corrected(np.array(timestamps, dtype=np.float64)))

    def _pull_events(self):
        while not self._stopping.is_set():
            samples, timestamps = self.inlet.pull_chunk(timeout=PULL_TIMEOUT,
                                                        max_samples=PULL_MAX_SAMPLES)
            if timestamps:
                self._send_events(samples, self._corrected(np.array(timestamps, dtype=np.float64)))

    def _send_signal(self, samples, timestamps):
        missing = self._missing_before(timestamps[0])
        self._next_timestamp = timestamps[-1] + 1.0 / self.sample_rate
        self._index += missing + len(samples)
        self.outputs["signals"].send(samples, index=self._index)
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
    """Sink node publishing its input as an LSL outlet.

    ``configure(name, type='EEG', source_id=None, marker_field=None)``.

    An analog input (samples of shape (nb_channel,) in an LSL numeric format:
    float32, float64, int8/16/32/64) becomes a regular-rate stream; channel
    labels (from the input's ``channel_info``), units and the sample rate go
    into the LSL metadata, so LabRecorder and MNE-LSL show them.

    An event input (``streamtype='event'`` or a structured dtype) becomes an
    irregular-rate marker stream, one LSL sample per event, as LabRecorder
    expects of markers (give ``type='Markers'``). The published value is the
    field ``marker_field`` of each event, by default the first of
    :data:`MARKER_FIELDS` the dtype has (a plain dtype, like the triggers'
    int64 positions, is published as is). Byte or unicode strings become an
    LSL ``string`` stream, integers an integer stream (unsigned ones in the
    next wider signed format), floats a float stream; a field with a
    sub-shape (n,) gives n channels. An event with a float ``timestamp``
    field (as LslInlet sends) keeps it as its LSL timestamp; other events are
    stamped with the LSL clock when they are pushed.

    ``source_id`` defaults to ``pyacq-<name>``: LSL readers use it to find
    the stream again after a restart.
    """

    _input_specs = {"signals": dict()}

    def _configure(self, name=None, type="EEG", source_id=None, marker_field=None):
        """Name the LSL stream this node will publish its input as.

        The outlet itself is created at initialize(), from the connected
        input (see the class docstring).

        Parameters
        ----------
        name : str, required
            The LSL stream's name, as LSL readers (LabRecorder...) list it; an
            empty or missing name is refused.
        type : str, default 'EEG'
            The LSL content type; ``'Markers'`` for an event input, as
            LabRecorder expects.
        source_id : str, optional
            The LSL source id, by which readers find the stream again after a
            restart; default ``'pyacq-<name>'``.
        marker_field : str, optional
            For an event input with fields: the field published as each
            marker's value. By default the first of ``'label'``, ``'value'``,
            ``'description'``, ``'marker'``, ``'type'``, ``'code'`` that the
            dtype has; initialize() refuses an input with none of them.
        """
        _require_pylsl(self)
        if not name:
            raise ValueError(f"{self._describe()}: configure() needs the LSL stream name (name=...)")
        if marker_field is not None and not isinstance(marker_field, str):
            raise TypeError(f"{self._describe()}: marker_field must be a field name (str) or None, "
                            f"got {marker_field!r}")
        self.lsl_name, self.lsl_type = str(name), str(type)
        self.source_id = source_id or f"pyacq-{name}"
        self.marker_field = marker_field

    def check_input_specs(self):
        """Choose the LSL channel format from the input's dtype (analog or marker stream).

        Raises
        ------
        RuntimeError
            The input is not connected.
        ValueError
            LSL cannot carry the input: an analog input not of shape (-1, nb_channel)
            in an LSL numeric dtype, or an event input without a publishable field.
        """
        params = connected_input_params(self, "signals")
        shape, dtype = params.get("shape"), np.dtype(params["dtype"])
        if params.get("streamtype") == "event" or dtype.names is not None:
            self._check_marker_input(shape, dtype)
            return
        formats = {np.dtype(d): f for f, d in LSL_DTYPES.items()}
        if shape is None or len(shape) != 2 or dtype not in formats:
            raise ValueError(f"{self._describe()}: LSL publishes analog streams of shape (-1, nb_channel) "
                             f"and dtype {sorted(LSL_DTYPES.values())}, or event streams; the input "
                             f"has shape {shape} and dtype {dtype}")
        self._channel_format = formats[dtype]
        self._markers = False

    def _check_marker_input(self, shape, dtype):
        problem = f"{self._describe()}: event input"
        if shape is not None and len(shape) != 1:
            raise ValueError(f"{problem} must have shape (-1,) (one event per row), got {shape}")
        field = self.marker_field
        if dtype.names is None:
            if field is not None:
                raise ValueError(f"{problem} has the plain dtype {dtype}: it has no field {field!r}")
            value_dtype = dtype
        else:
            if field is None:
                field = next((name for name in MARKER_FIELDS if name in dtype.names), None)
                if field is None:
                    raise ValueError(f"{problem} has fields {list(dtype.names)}, none of "
                                     f"{list(MARKER_FIELDS)}: choose the published one with "
                                     "configure(marker_field=...)")
            elif field not in dtype.names:
                raise ValueError(f"{problem} has fields {list(dtype.names)}, not marker_field={field!r}")
            value_dtype = dtype.fields[field][0]
        base, subshape = value_dtype.base, value_dtype.shape
        if len(subshape) > 1:
            raise ValueError(f"{problem}: field {field!r} has shape {subshape}; LSL channels are 1-D")
        self._channel_format = marker_channel_format(base, f"{problem} value {field or 'itself'!r}")
        self._value_field, self._value_dtype = field, base
        self._marker_channels = int(subshape[0]) if subshape else 1
        timestamp = dtype.fields.get("timestamp") if dtype.names is not None else None
        self._has_timestamps = timestamp is not None and timestamp[0].kind == "f"
        self._markers = True

    def _initialize(self):
        params = self.input.params
        if self._markers:
            nb_channel, rate = self._marker_channels, pylsl.IRREGULAR_RATE
            label = self._value_field or "marker"
            names = [label] if nb_channel == 1 else [f"{label}{i}" for i in range(nb_channel)]
            unit = ""
        else:
            nb_channel, rate = params["shape"][1], params.get("sample_rate") or pylsl.IRREGULAR_RATE
            names = channel_names(params.get("channel_info"), nb_channel)
            unit = params.get("units") or ""
        info = pylsl.StreamInfo(self.lsl_name, self.lsl_type, nb_channel, rate,
                                self._channel_format, self.source_id)
        channels = info.desc().append_child("channels")
        for label in names[:nb_channel]:
            channel = channels.append_child("channel")
            channel.append_child_value("label", label)
            channel.append_child_value("unit", unit)
            channel.append_child_value("type", self.lsl_type)
        info.desc().append_child("acquisition").append_child_value("manufacturer", "pyacq")
        self.outlet = pylsl.StreamOutlet(info, chunk_size=0, max_buffered=360)

    def _start(self):
        self._poller = InputPoller(self.input, self._push_markers if self._markers else self._push,
                                   return_data=True, name=f"{self.name or 'lsl'}-outlet")
        self._poller.start()

    def _push(self, index, data):
        self.outlet.push_chunk(np.ascontiguousarray(data))

    def _push_markers(self, index, data):
        """One LSL sample per event, stamped with its ``timestamp`` field or the LSL clock now."""
        if not len(data):
            return
        values = (data if self._value_field is None else data[self._value_field])
        values = values.reshape(len(data), self._marker_channels)
        if self._channel_format == "string":
            values = values.tolist()
        else:
            values = np.ascontiguousarray(values, dtype=LSL_DTYPES[self._channel_format])
        stamps = data["timestamp"].tolist() if self._has_timestamps else pylsl.local_clock()
        self.outlet.push_chunk(values, stamps)

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


def marker_channel_format(dtype, what):
    """The LSL channel format that carries marker values of numpy ``dtype`` without loss."""
    if dtype.kind in "SU":
        return "string"
    if dtype.kind == "b":
        return "int8"
    if dtype.kind == "i":
        return f"int{dtype.itemsize * 8}"
    if dtype.kind == "u" and dtype.itemsize < 8:
        return f"int{dtype.itemsize * 16}"
    if dtype.kind == "f" and dtype.itemsize in (4, 8):
        return "float32" if dtype.itemsize == 4 else "double64"
    raise ValueError(f"{what} has dtype {dtype}, which no LSL format holds exactly; LSL markers are "
                     "strings, int8/16/32/64 or float32/64")
