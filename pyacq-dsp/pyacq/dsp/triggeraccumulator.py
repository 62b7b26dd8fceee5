"""TriggerAccumulator: a stack of the signal epochs around the latest trigger events.

It is the engine of a triggered oscilloscope or an online evoked-response
average: it keeps the last ``stack_size`` epochs ``[position + left_sweep,
position + right_sweep)`` of its ``signals`` input around each position
received on its ``events`` input. It has no output because the stack's
shape changes whenever the sweeps or ``stack_size`` change.
"""
import logging
import math

import numpy as np
from pyacq.core.stream import RingBuffer
from pyacq.core.validation import check_int, check_number, check_signal_input, connected_input_params

from .liveparams import LiveParams
from .notifier import make_notifier
from .processingnode import ProcessingNode

logger = logging.getLogger(__name__)

#: How late (seconds) an event may arrive after the signal samples it points to,
#: beyond the sweep itself, and still find its epoch in the signal buffer.
EVENT_LATENCY_MARGIN = 1.0


class TriggerAccumulator(ProcessingNode):
    """Accumulates epochs of a multi-channel signal around trigger events.

    Live parameters (``node.params[key] = value``): ``left_sweep`` and
    ``right_sweep`` (seconds relative to the event, ``-max_xsize <=
    left_sweep < right_sweep``), ``stack_size`` (``1..max_stack_size``);
    changing one empties the stack. A configure() that the current sweeps
    do not fit is refused and changes nothing; one that lowers
    ``max_stack_size`` below ``stack_size`` lowers ``stack_size`` to it (as
    pyacq 2.0's limits did) and logs a warning saying so.

    ``stack`` has shape (stack_size, nb_channel, nb_time) and is a ring
    along axis 0: epoch number ``k`` (counting from 0 since the last
    :meth:`reset_stack`) is ``stack[k % stack_size]``; :attr:`total_trig`
    counts epochs, :attr:`t_vect` gives their times (s) relative to the
    event. An epoch is taken once its last sample has arrived, and then
    ``new_chunk(total_trig)`` is emitted (a Qt signal with
    ``emit_qt_signal=True``, else plain callbacks run in the processing
    thread). Events whose epoch starts before the stream or is no longer
    buffered are counted in :attr:`missed_trig` and logged.

    Parameters
    ----------
    *args
        Node's positional parameters (``name``, ``parent``), passed on unchanged.
    **kwargs
        Node's keywords, passed on unchanged.
    """

    _input_specs = {"signals": dict(), "events": dict()}
    _output_specs = {}
    _chunk_handlers = {"signals": "_process_signals", "events": "_process_events"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.max_stack_size = 10
        self.max_xsize = 2.0
        self.events_dtype_field = None
        self.stack = None
        self.t_vect = None
        self.total_trig = 0
        self.missed_trig = 0
        self._ring = None
        self._pending = np.empty(0, dtype=np.int64)
        self.new_chunk, self._qt_owner = make_notifier("new_chunk", use_qt=False)
        self.params = LiveParams(self._describe(),
                                 dict(left_sweep=-0.1, right_sweep=0.2, stack_size=10),
                                 self._validate_param, check_combination=self._check_sweeps,
                                 on_change=self._on_param_change)

    def _configure(self, max_stack_size=10, max_xsize=2.0, events_dtype_field=None,
                   emit_qt_signal=False):
        """Set the limits of the live parameters and how events and epochs are announced.

        A configure() that the current sweeps do not fit is refused and changes
        nothing (see the class docstring for ``stack_size``).

        Parameters
        ----------
        max_stack_size : int, default 10
            The largest ``params['stack_size']`` (epochs kept), an int >= 1;
            it bounds the memory of the stack.
        max_xsize : float, default 2.0
            The longest epoch, in seconds (> 0): ``right_sweep - left_sweep``
            and ``-left_sweep`` may not exceed it. The signal buffer holds
            twice this plus one second, so a larger value costs memory at
            high sample rates.
        events_dtype_field : str, optional
            For events with a structured dtype: the field holding each event's
            absolute sample position (an integer). Plain integer events are
            positions themselves, and need none.
        emit_qt_signal : bool, default False
            True: ``new_chunk(total_trig)`` is a Qt signal (Qt is imported only
            then), for a viewer; False: plain callbacks, run in the processing
            thread.
        """
        max_stack_size = check_int(self, "max_stack_size", max_stack_size, minimum=1)
        max_xsize = check_number(self, "max_xsize", max_xsize, above=0, unit="seconds")
        if events_dtype_field is not None and not isinstance(events_dtype_field, str):
            raise TypeError(f"{self._describe()}: events_dtype_field must be a field name (str) or "
                            f"None, got {events_dtype_field!r}")
        self._check_sweeps(self.params, max_xsize)
        notifier = make_notifier("new_chunk", use_qt=bool(emit_qt_signal))
        # Everything is checked: from here on nothing fails, so a refused configure() changed nothing.
        self.max_stack_size, self.max_xsize = max_stack_size, max_xsize
        self.events_dtype_field = events_dtype_field
        self.new_chunk, self._qt_owner = notifier
        stack_size = self.params["stack_size"]
        if stack_size > max_stack_size:
            logger.warning("%s: stack_size %d is more than the new max_stack_size=%d, so it is now %d; "
                           "set params['stack_size'] after configure() to choose another",
                           self._describe(), stack_size, max_stack_size, max_stack_size)
            self.params["stack_size"] = max_stack_size

    def _validate_param(self, key, value):
        if key == "stack_size":
            return check_int(self, "stack_size", value, minimum=1, maximum=self.max_stack_size,
                             maximum_name="max_stack_size")
        return check_number(self, key, value, finite=True, unit="seconds", error=TypeError)

    def _check_sweeps(self, params, max_xsize=None):
        """Refuse sweeps ``params`` that make no epoch, or one longer than ``max_xsize`` allows.

        ``max_xsize`` defaults to the configured one; configure() passes the one it is given.
        """
        max_xsize = self.max_xsize if max_xsize is None else max_xsize
        left, right = params["left_sweep"], params["right_sweep"]
        if not left < right:
            raise ValueError(f"{self._describe()}: left_sweep ({left}) must be before right_sweep "
                             f"({right})")
        if right - left > max_xsize or left < -max_xsize:
            raise ValueError(f"{self._describe()}: epochs are limited by max_xsize={max_xsize} s "
                             f"(-max_xsize <= left_sweep, right_sweep - left_sweep <= max_xsize); "
                             f"got left_sweep={left}, right_sweep={right}")

    def check_input_specs(self):
        """Check both inputs: real numeric ``signals`` with a sample rate, integer positions on ``events``.

        The positions are the events themselves, or their field ``events_dtype_field``
        when the events have a structured dtype.

        Raises
        ------
        RuntimeError, TypeError, ValueError
            An input is not connected or carries something else; the message
            names the input and what it needs.
        """
        params, dtype, self.nb_channel = check_signal_input(
            self, "signals", dtype_kinds="fiu", kind_description="real numeric",
            streamtypes=("analogsignal",))
        self.sample_rate = float(params["sample_rate"])
        self._signal_dtype = dtype
        events = connected_input_params(self, "events")
        events_dtype = np.dtype(events["dtype"])
        problem = f"{self._describe()}: input 'events'"
        if events_dtype.names is None:
            position_dtype = events_dtype
            if self.events_dtype_field is not None:
                raise TypeError(f"{problem} has plain dtype {events_dtype}, but "
                                f"events_dtype_field={self.events_dtype_field!r} was configured")
        else:
            if self.events_dtype_field is None:
                raise TypeError(f"{problem} has structured dtype with fields {events_dtype.names}: "
                                f"configure(events_dtype_field=...) with the position field")
            if self.events_dtype_field not in events_dtype.names:
                raise TypeError(f"{problem} has no field {self.events_dtype_field!r}; its fields "
                                f"are {events_dtype.names}")
            position_dtype = events_dtype[self.events_dtype_field]
        if position_dtype.kind not in "iu" or position_dtype.shape:
            raise TypeError(f"{problem}: event positions must be integer sample indexes, got "
                            f"{position_dtype}")
        shape = events.get("shape")
        if shape is not None and len(shape) != 1:
            raise ValueError(f"{problem} needs shape (-1,) (one position per event), got {shape!r}")

    def _initialize(self):
        size = math.ceil((2 * self.max_xsize + EVENT_LATENCY_MARGIN) * self.sample_rate)
        fill = np.nan if self._signal_dtype.kind == "f" else None
        self._ring = RingBuffer((size, self.nb_channel), self._signal_dtype, double=False, fill=fill)
        self._allocate_stack()

    def _close(self):
        if self._ring is not None:
            self._ring.close()
            self._ring = None

    def _on_param_change(self, keys):
        if self._ring is not None:
            with self._processing_lock:
                self._allocate_stack()

    def _allocate_stack(self):
        rate = self.sample_rate
        self._limit1 = round(self.params["left_sweep"] * rate)
        self._limit2 = max(round(self.params["right_sweep"] * rate), self._limit1 + 1)
        nb_time = self._limit2 - self._limit1
        self.t_vect = np.arange(self._limit1, self._limit2) / rate
        stack_dtype = self._signal_dtype if self._signal_dtype.kind == "f" else np.float64
        self.stack = np.zeros((self.params["stack_size"], self.nb_channel, nb_time), dtype=stack_dtype)
        self.total_trig = 0

    def reset_stack(self):
        """Empty the stack: zeros, and total_trig back to 0."""
        with self._processing_lock:
            if self.stack is not None:
                self.stack[...] = 0
            self.total_trig = 0

    def _reset_processing(self):
        self._ring.reset()
        self._pending = np.empty(0, dtype=np.int64)

    def _process_signals(self, index, data, lost):
        if lost is None and self._ring.index() > 0:
            self._ring.reset()
        size = self._ring.shape[0]
        self._ring.new_chunk(np.ascontiguousarray(data[-size:]), index)
        self._take_ready_epochs()

    def _process_events(self, index, data, lost):
        positions = data if self.events_dtype_field is None else data[self.events_dtype_field]
        self._pending = np.concatenate([self._pending, positions.astype(np.int64)])
        self._take_ready_epochs()

    def _take_ready_epochs(self):
        head = self._ring.index()
        ready = self._pending + self._limit2 <= head
        if not ready.any():
            return
        starts = self._pending[ready] + self._limit1
        self._pending = self._pending[~ready]
        available = starts >= max(0, self._ring.first_index())
        if not available.all():
            missed = int((~available).sum())
            self.missed_trig += missed
            logger.warning("%s: %d events missed (epochs starting at %s are before the stream "
                           "or no longer buffered); %d missed so far", self._describe(), missed,
                           starts[~available].tolist(), self.missed_trig)
            starts = starts[available]
        if not len(starts):
            return
        first = int(starts.min())
        block = self._ring.get_data(first, head)
        offsets = (starts - first)[-len(self.stack):]
        epochs = block[offsets[:, None] + np.arange(self.stack.shape[2])]
        slots = (self.total_trig + len(starts) - len(offsets) + np.arange(len(offsets))) % len(self.stack)
        self.stack[slots] = epochs.transpose(0, 2, 1)
        self.total_trig += len(starts)
        self.new_chunk.emit(self.total_trig)
