"""The Node base class: the unit of acquisition, processing, display and recording.

A node walks one lifecycle, checked at every step so that a misuse fails loudly
at the call that made it rather than later inside a thread::

    created --configure()--> configured --initialize()--> initialized
    initialized --start()--> running --stop()--> initialized   (any number of times)
    running --a worker thread dies--> failed --stop()--> initialized
    created | configured | initialized | failed --close()--> closed

``close()`` on a closed node does nothing, as for files.

Failures and losses
-------------------
A node reports what goes wrong while it runs in one of two ways, according to
whether it can go on:

* **A failure** ends the run. A worker thread (a device's sending thread, a
  polling thread) that ends with an exception makes the node ``failed``: it is
  not running, ``node.error`` holds the exception, ``node.error_message()``
  names the thread and the exception (a plain string, also through a proxy),
  and the exception was logged once, with its traceback. ``stop()`` releases
  what the run used and ``start()`` may then run it again; ``close()`` works
  directly. Every worker thread reports this way: it is a
  :class:`~pyacq.core.node_thread.NodeThread` or runs its work with
  ``run_reporting_failure``, and a thread pyacq does not start (a library's
  callback thread) calls :meth:`Node.report_thread_failure`.
* **A loss** is counted and the node goes on: samples that never arrived, a
  chunk a processing node could not process. Each is logged when it happens
  and counted in an attribute (``node.gap_count``; through a proxy
  ``int(proxy.gap_count)``): ``<event>_count`` counts events (``gap_count``,
  ``overrun_count``, ``processing_error_count``), ``lost_<unit>`` (or the
  device's own word: ``dropped_frames``, ``skipped_bytes``) counts the data
  lost. Each node's docstring lists its counters and when they restart.

Subclasses write only the hooks they need (``_configure``, ``_initialize``,
``_start``, ``_stop``, ``_close``, ``after_input_connect``,
``after_output_configure``, ``update_output_specs``, ``check_input_specs``,
``check_output_specs``).

An output whose params follow an input (a filter's output has its input's
dtype and sample rate) is declared in ``_output_follows``; the node sets its
spec in ``update_output_specs`` and the output's params are derived again after
each input connects and at ``initialize()``, so that configuring the outputs
before or after connecting the inputs gives the same streams.
"""
import logging
import threading
from typing import Any, ClassVar

from ._node_configure import check_keywords, check_values, public_configure
from .stream import InputStream, OutputStream, StreamSpecError, StreamStateError

logger = logging.getLogger(__name__)

CREATED = "created"
CONFIGURED = "configured"
INITIALIZED = "initialized"
RUNNING = "running"
FAILED = "failed"
CLOSED = "closed"


class NodeStateError(RuntimeError):
    """A lifecycle step was called in a state that does not allow it."""


class Node:
    """Base class of every pyacq node.

    ``_input_specs`` and ``_output_specs`` map stream names to the default
    configuration of each stream; ``node.inputs[name]`` / ``node.outputs[name]``
    are created from them (and ``node.input`` / ``node.output`` when there is
    exactly one). ``_output_follows`` maps an output name to the names of the
    inputs its params are derived from (see :meth:`update_output_specs`).

    Parameters
    ----------
    name : str
        The node's name, shown in its errors and log records.
    parent : object, optional
        Accepted and not used: pyacq 2.0 documents ``Node(name='', parent=None)`` and its
        nodes' ``(parent=None, **kargs)``, so scripts may pass it.
        :class:`~pyacq.core.widgetnode.WidgetNode` gives its own ``parent`` to Qt.
    """

    _input_specs: ClassVar[dict[str, dict[str, Any]]] = {}
    _output_specs: ClassVar[dict[str, dict[str, Any]]] = {}
    _output_follows: ClassVar[dict[str, tuple[str, ...] | list[str]]] = {}
    #: Names of outputs the node can run without; initialize() refuses any other
    #: output that is not configured.
    _optional_outputs: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        inherited = cls.configure
        if "configure" not in vars(cls) and (
                inherited is Node.configure or getattr(inherited, "derived_from_configure_hook", False)):
            # A class-level replacement of the method: the point of __init_subclass__ here.
            cls.configure = public_configure(cls, Node.configure)  # type: ignore[method-assign]

    def __init__(self, name: str = "", parent: object = None) -> None:
        self.name = name
        self._lifecycle_state = CREATED
        self._state_lock = threading.Lock()
        self._thread_error: BaseException | None = None
        self._error_thread: str | None = None
        self._failure_lock = threading.Lock()
        self.inputs: dict[str, InputStream] = {
            stream_name: InputStream(spec=dict(spec), node=self, name=stream_name)
            for stream_name, spec in self._input_specs.items()
        }
        self.outputs: dict[str, OutputStream] = {
            stream_name: OutputStream(spec=dict(spec), node=self, name=stream_name)
            for stream_name, spec in self._output_specs.items()
        }
        self._track_awaited_inputs()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} {self._lifecycle_state}>"

    def _describe(self) -> str:
        label = f"{type(self).__name__} node"
        return f"{label} {self.name!r}" if self.name else label

    # -- thread-safe state queries ------------------------------------------------

    def _get_state(self) -> str:
        with self._state_lock:
            return self._lifecycle_state

    def _set_state(self, state: str) -> None:
        with self._state_lock:
            self._lifecycle_state = state

    def running(self) -> bool:
        """True between start() and stop(), unless a worker thread failed. Thread-safe."""
        return self._get_state() == RUNNING

    def failed(self) -> bool:
        """True when a worker thread died while running (see ``error``), until stop(). Thread-safe."""
        return self._get_state() == FAILED

    def configured(self) -> bool:
        """True once configure() has succeeded, until close(). Thread-safe."""
        return self._get_state() in (CONFIGURED, INITIALIZED, RUNNING, FAILED)

    def initialized(self) -> bool:
        """True once initialize() has succeeded, until close(). Thread-safe."""
        return self._get_state() in (INITIALIZED, RUNNING, FAILED)

    @property
    def error(self) -> BaseException | None:
        """The exception that ended a worker thread of the current (or last) run, else None."""
        return self._thread_error

    def error_message(self) -> str | None:
        """``node.error`` as text naming the thread (a plain value, also through a proxy), or None."""
        with self._state_lock:
            error, thread = self._thread_error, self._error_thread
        if error is None:
            return None
        return f"thread {thread!r} failed: {type(error).__name__}: {error}"

    def report_thread_failure(self, error: BaseException, thread_name: str) -> None:
        """Report that the node's worker thread ``thread_name`` ended with ``error``.

        :class:`~pyacq.core.node_thread.NodeThread` calls it; call it yourself
        from a thread pyacq does not start (a library's callback thread) that
        catches the exception ending its work. The first failure of a run is
        logged (with the traceback), then kept in ``error`` as the running node
        becomes ``failed``, both at once: whoever sees the error sees a node
        that no longer runs, and finds the error in the log. Later failures of
        the same run are logged at debug level only.

        Parameters
        ----------
        error : BaseException
            The exception that ended the thread's work.
        thread_name : str
            Names the thread in the log and in :meth:`error_message`.
        """
        with self._failure_lock:
            with self._state_lock:
                first = self._thread_error is None
            if not first:
                logger.debug("%s: thread %r also failed: %r", self._describe(), thread_name, error)
                return
            logger.error("%s: its thread %r failed, the node no longer runs (node.error holds the "
                         "exception; stop() or close() the node)", self._describe(), thread_name,
                         exc_info=(type(error), error, error.__traceback__))
            with self._state_lock:
                self._thread_error, self._error_thread = error, thread_name
                if self._lifecycle_state == RUNNING:
                    self._lifecycle_state = FAILED

    def closed(self) -> bool:
        """True once close() has been called. Thread-safe."""
        return self._get_state() == CLOSED

    def _require_state(self, step: str, allowed: tuple[str, ...]) -> None:
        state = self._get_state()
        if state not in allowed:
            needed = " or ".join(repr(s) for s in allowed)
            failure = f" ({self.error_message()}; stop() or close() it)" if state == FAILED else ""
            raise NodeStateError(
                f"{self._describe()}: cannot {step}() while {state!r}{failure}; "
                f"{step}() needs the node to be {needed}"
            )

    # -- single stream shortcuts --------------------------------------------------

    @property
    def input(self) -> InputStream:
        """The node's only input; an error names the inputs when there is not exactly one."""
        return self._only_stream(self.inputs, "input")

    @property
    def output(self) -> OutputStream:
        """The node's only output; an error names the outputs when there is not exactly one."""
        return self._only_stream(self.outputs, "output")

    def _only_stream(self, streams: dict[str, Any], kind: str) -> Any:
        if len(streams) != 1:
            names = ", ".join(repr(n) for n in streams) or "none"
            raise AssertionError(
                f"{self._describe()} has {len(streams)} {kind}s ({names}); "
                f"use node.{kind}s[name] instead of node.{kind}"
            )
        return next(iter(streams.values()))

    # -- lifecycle ------------------------------------------------------------------

    def configure(self, **kargs: Any) -> None:
        """Set the node's global parameters; the accepted keywords are those of ``_configure``.

        A wrong or missing keyword is refused before ``_configure`` runs, with
        the valid keywords; so is an argument that reached a remote node as a
        proxy because it has no value form (see ``_node_configure``).

        Parameters
        ----------
        **kargs
            The node type's parameters, given by name: each node class documents
            them in its own ``configure`` (built from its ``_configure``). Node
            itself takes none.
        """
        self._require_state("configure", (CREATED, CONFIGURED))
        class_name = type(self).__name__
        check_keywords(self._describe(), class_name, self._configure, kargs)
        check_values(self._describe(), class_name, kargs)
        self._configure(**kargs)
        self._outputs_follow_inputs(strict=False)
        self._set_state(CONFIGURED)

    def initialize(self) -> None:
        """Check the streams, then allocate memory and prepare devices (``_initialize``).

        Every output must be configured first, except those the class lists in
        ``_optional_outputs``.
        """
        self._require_state("initialize", (CONFIGURED,))
        self.check_input_specs()
        self._check_outputs_configured()
        self._outputs_follow_inputs(strict=True)
        self.check_output_specs()
        self._initialize()
        self._set_state(INITIALIZED)

    def _check_outputs_configured(self):
        missing = [name for name, output in self.outputs.items()
                   if not output.configured and name not in self._optional_outputs]
        if missing:
            fixes = "; ".join(f"node.outputs[{name!r}].configure(protocol=..., transfermode=...)"
                              for name in missing)
            plural = "s" if len(missing) > 1 else ""
            raise NodeStateError(
                f"{self._describe()}: cannot initialize() with output{plural} "
                f"{', '.join(repr(name) for name in missing)} not configured; configure "
                f"{'them' if plural else 'it'} first: {fixes}"
            )

    def start(self) -> None:
        """Begin reading inputs and writing outputs; output indexes restart at 0.

        ``error`` is cleared: it describes the run that failed until the next start().
        """
        self._require_state("start", (INITIALIZED,))
        with self._state_lock:
            self._thread_error = self._error_thread = None
        for output in self.outputs.values():
            if output.configured:
                output.reset_buffer_index()
        self._start()
        with self._state_lock:
            # A thread may already have failed while _start() was starting it.
            self._lifecycle_state = FAILED if self._thread_error is not None else RUNNING

    def stop(self) -> None:
        """Stop processing (also a failed node: that releases what its run used); it may start again."""
        self._require_state("stop", (RUNNING, FAILED))
        self._stop()
        self._set_state(INITIALIZED)

    def close(self) -> None:
        """Release devices, memory and every stream.

        A running node must be stopped first; a failed one is stopped here; a
        closed one is left as it is (closing twice does nothing).
        """
        state = self._get_state()
        if state == CLOSED:
            return
        self._require_state("close", (CREATED, CONFIGURED, INITIALIZED, FAILED))
        try:
            if state == FAILED:
                self._stop()
        finally:
            try:
                self._close()
            finally:
                streams: list[InputStream | OutputStream] = [*self.inputs.values(), *self.outputs.values()]
                for stream in streams:
                    stream.close()
                self._set_state(CLOSED)

    # -- outputs that follow inputs ---------------------------------------------

    def _followed_inputs(self, outputname: str) -> tuple[str, ...] | list[str]:
        """Names of the inputs output ``outputname`` follows (``_output_follows``)."""
        return self._output_follows.get(outputname, ())

    def _track_awaited_inputs(self):
        """Tell each output which of the inputs it follows are not connected yet."""
        for name, output in self.outputs.items():
            missing = [n for n in self._followed_inputs(name) if not self.inputs[n].connected]
            output.awaiting = (f"the node's input{'s' if len(missing) > 1 else ''} "
                               f"{', '.join(map(repr, missing))}" if missing else None)

    def _input_connected(self, inputname: str) -> None:
        """Called by InputStream.connect(): the node's hook, then the outputs follow the input."""
        self.after_input_connect(inputname)
        self._outputs_follow_inputs(strict=False)

    def _outputs_follow_inputs(self, strict):
        """Let :meth:`update_output_specs` set the outputs' spec; configured outputs re-derive params.

        At an input's connection (``strict=False``) an output that cannot follow
        (a keyword of its configure() contradicts the input) is logged and left
        out of date; initialize() (``strict=True``) raises the error.
        """
        self.update_output_specs()
        self._track_awaited_inputs()
        for name, output in self.outputs.items():
            if not output.configured:
                continue
            if output.awaiting is not None:
                if strict:
                    raise RuntimeError(f"{self._describe()}: output {name!r} follows {output.awaiting}, "
                                       "which is not connected; connect it before initialize()")
                continue
            try:
                output.follow_spec()
            except (StreamSpecError, StreamStateError) as exc:
                if strict:
                    raise
                logger.warning("%s (initialize() will refuse until this is fixed)", exc)

    # -- hooks for subclasses ---------------------------------------------------

    def _configure(self) -> None:
        """Store configuration; its parameters are the keywords configure() accepts."""

    def _initialize(self) -> None:
        """Allocate memory, open devices, start nothing yet (override)."""

    def _start(self) -> None:
        """Start the worker threads or timers that read inputs and write outputs (override)."""

    def _stop(self) -> None:
        """Stop what _start() started; the node may start again (override)."""

    def _close(self) -> None:
        """Release devices and memory; the streams are closed after it (override)."""

    def after_input_connect(self, inputname: str) -> None:
        """Called when input ``inputname`` has been connected (override).

        A node reads the input's ``params`` here, for example to size what it
        will allocate in ``_initialize``; Node's version does nothing.

        Parameters
        ----------
        inputname : str
            The name of the input just connected (a key of ``self.inputs``).
        """

    def after_output_configure(self, outputname: str) -> None:
        """Called when output ``outputname`` has been configured (override).

        Node's version does nothing.

        Parameters
        ----------
        outputname : str
            The name of the output just configured (a key of ``self.outputs``).
        """

    def update_output_specs(self) -> None:
        """Set the spec of the outputs that follow inputs from the connected inputs (override).

        Called after each input connects and by initialize(), after
        check_input_specs(); an input may not be connected yet at the first
        calls. Edit ``output.spec`` only: the node then derives the params of
        the outputs already configured again (``OutputStream.follow_spec``).
        """

    def check_input_specs(self) -> None:
        """Called by initialize(); raise an exception when an input is misconfigured."""

    def check_output_specs(self) -> None:
        """Called by initialize(); raise an exception when an output is misconfigured."""
