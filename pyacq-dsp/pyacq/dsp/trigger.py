"""AnalogTrigger and DigitalTrigger: events where a signal crosses a threshold.

Both watch one channel of their ``signals`` input and send the absolute
sample positions of the crossings (int64) on their ``events`` output; the
output's index is the number of events sent so far. Detection and debouncing
are those of :mod:`pyacq.dsp.crossing`.
"""
import math

import numpy as np
from pyacq.core.validation import check_int, check_number, check_signal_input

from .crossing import DEBOUNCE_MODES, FRONTS, CrossingDetector
from .liveparams import LiveParams
from .notifier import make_notifier
from .processingnode import ProcessingNode


class TriggerBase(ProcessingNode):
    """What both triggers share: live parameters, debouncing, the events output.

    ``new_chunk`` is emitted with the array of positions after each batch of
    events is sent (see ``emit_qt_signal`` in configure()).
    """

    _input_specs = {"signals": dict()}
    _output_specs = {"events": dict(streamtype="event", dtype="int64", shape=(-1,))}
    _chunk_handlers = {"signals": "_process_signals"}
    _default_params = dict(channel=0, front="+", debounce_mode="no-debounce", debounce_time=0.01)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_size = 2.0
        self._nb_watchable = None
        self._detector = CrossingDetector()
        self.new_chunk, self._qt_owner = make_notifier("new_chunk", use_qt=False)
        self.params = LiveParams(self._describe(), self._default_params, self._validate_param)

    def _configure(self, max_size=2.0, emit_qt_signal=False):
        """Bound the debounce time and choose how ``new_chunk`` notifies.

        The detection itself (channel, threshold, front, debouncing) is set
        through the live ``params``, also while running (see the class
        docstring).

        Parameters
        ----------
        max_size : float, default 2.0
            The longest ``debounce_time`` accepted, in seconds (> 0), hence the
            longest an 'after-stable' decision waits for data; it must not be
            shorter than the current ``params['debounce_time']``.
        emit_qt_signal : bool, default False
            True: ``new_chunk`` is a Qt signal (Qt is imported only then), for
            a GUI to connect to; False: a plain list of callbacks, called in
            the processing thread with the array of event positions.
        """
        max_size = check_number(self, "max_size", max_size, error=TypeError)
        if not max_size > 0:
            raise ValueError(f"{self._describe()}: max_size must be > 0 seconds, got {max_size!r}")
        if self.params["debounce_time"] > max_size:
            raise ValueError(f"{self._describe()}: max_size={max_size} is shorter than the current "
                             f"debounce_time {self.params['debounce_time']}")
        self.max_size = max_size
        self.new_chunk, self._qt_owner = make_notifier("new_chunk", use_qt=bool(emit_qt_signal))

    def _validate_param(self, key, value):
        if key == "channel":
            value = check_int(self, "channel", value, minimum=0)
            if self._nb_watchable is not None and value >= self._nb_watchable:
                raise ValueError(f"{self._describe()}: channel {value} does not exist; the input has "
                                 f"{self._nb_watchable} {self._watchable_name}")
            return value
        if key == "threshold":
            value = check_number(self, key, value, error=TypeError)
            if not math.isfinite(value):
                raise ValueError(f"{self._describe()}: threshold must be finite, got {value!r}")
            return value
        if key == "front":
            if value not in FRONTS:
                raise ValueError(f"{self._describe()}: front must be '+' (rising) or '-' (falling), "
                                 f"got {value!r}")
            return value
        if key == "debounce_mode":
            if value not in DEBOUNCE_MODES:
                raise ValueError(f"{self._describe()}: debounce_mode must be one of {DEBOUNCE_MODES}, "
                                 f"got {value!r}")
            return value
        value = check_number(self, key, value, error=TypeError)
        if not 0 <= value <= self.max_size:
            raise ValueError(f"{self._describe()}: debounce_time must be between 0 and max_size="
                             f"{self.max_size} s, got {value!r}")
        return value

    def check_input_specs(self):
        """Check the input the trigger watches, then check ``params['channel']`` against it."""
        params = self._check_input()
        self._sample_rate = float(params["sample_rate"])
        self.params["channel"] = self.params["channel"]

    def _reset_processing(self):
        self._detector.reset()
        self._event_count = 0

    def _stop(self):
        """Stop reading, then decide the 'after-stable' crossing still waiting for data."""
        super()._stop()
        with self._processing_lock:
            self._send_events(self._detector.finish())

    def _send_events(self, events):
        if len(events):
            self._event_count += len(events)
            self.output.send(events, index=self._event_count)
            self.new_chunk.emit(events)

    def _process_signals(self, index, data, lost):
        if lost is None or lost:
            # The stream restarted or samples were lost: the data a pending decision waits
            # for will never come, so the crossing is final.
            self._send_events(self._detector.finish())
        if lost is None:
            self._detector.reset()
        elif lost:
            self._detector.forget_previous_sample()
        params = dict(self.params)
        values = self._watched_values(data, params)
        events = self._detector.process(values, index, self._threshold(params), params["front"],
                                        params["debounce_mode"],
                                        params["debounce_time"] * self._sample_rate)
        self._send_events(events)


class AnalogTrigger(TriggerBase):
    """Events where one channel of an analog signal crosses a threshold.

    Live parameters (``node.params[key] = value``, also while running; each
    chunk uses the values set before it arrived): ``channel`` (column of the
    input), ``threshold``, ``front`` ('+' rising, '-' falling),
    ``debounce_mode`` ('no-debounce': every crossing; 'after-stable': of a
    burst of crossings closer than ``debounce_time``, the last one;
    'before-stable': the first one), ``debounce_time`` (seconds).

    An 'after-stable' crossing is sent once ``debounce_time`` of data has
    followed it; when no such data can come (``stop()``, lost samples, a
    restarted input stream) the last crossing of the burst is final and sent then.
    """

    _default_params = dict(TriggerBase._default_params, threshold=0.0)
    _watchable_name = "channels"

    def _check_input(self):
        params, _, nb_channel = check_signal_input(self, "signals", dtype_kinds="fiu",
                                                   kind_description="real numeric",
                                                   streamtypes=("analogsignal",))
        self._nb_watchable = nb_channel
        return params

    def after_input_connect(self, inputname):
        """Learn the input's channel count: ``params['channel']`` is checked against it from now on."""
        shape = self.inputs[inputname].params.get("shape")
        if shape is not None and len(shape) == 2:
            self._nb_watchable = int(shape[1])

    def _watched_values(self, data, params):
        return data[:, params["channel"]]

    def _threshold(self, params):
        return params["threshold"]


class DigitalTrigger(TriggerBase):
    """Events where one bit of an integer digital signal changes.

    ``channel`` is a bit number: bit ``channel % B`` of column
    ``channel // B`` of the input, for samples of B bits (bit 10 of a uint8
    stream is bit 2 of column 1). Front '+' is a 0 → 1 change, '-' a 1 → 0
    change. Other live parameters and debouncing as in :class:`AnalogTrigger`.
    """

    _watchable_name = "bits"

    def _check_input(self):
        params, dtype, nb_column = check_signal_input(
            self, "signals", dtype_kinds="iu", kind_description="integer",
            streamtypes=("digitalsignal", "analogsignal"))
        self._nb_watchable = nb_column * dtype.itemsize * 8
        return params

    def after_input_connect(self, inputname):
        """Learn how many bits the input's samples carry: ``params['channel']`` is checked against it."""
        params = self.inputs[inputname].params
        shape, dtype = params.get("shape"), np.dtype(params["dtype"])
        if shape is not None and len(shape) == 2 and dtype.kind in "iu":
            self._nb_watchable = int(shape[1]) * dtype.itemsize * 8

    def _watched_values(self, data, params):
        bits = data.dtype.itemsize * 8
        column, bit = divmod(params["channel"], bits)
        return (data[:, column] >> bit) & 1

    def _threshold(self, params):
        # The watched values are 0 or 1: '+' finds 0 -> 1, '-' finds 1 -> 0.
        return 0.5
