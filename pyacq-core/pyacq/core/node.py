"""The Node base class: the unit of acquisition, processing, display and recording.

A node walks one lifecycle, checked at every step so that a misuse fails loudly
at the call that made it rather than later inside a thread::

    created --configure()--> configured --initialize()--> initialized
    initialized --start()--> running --stop()--> initialized   (any number of times)
    created | configured | initialized --close()--> closed

Subclasses write only the hooks they need (``_configure``, ``_initialize``,
``_start``, ``_stop``, ``_close``, ``after_input_connect``,
``after_output_configure``, ``check_input_specs``, ``check_output_specs``).
"""
import threading

CREATED = "created"
CONFIGURED = "configured"
INITIALIZED = "initialized"
RUNNING = "running"
CLOSED = "closed"


class NodeStateError(RuntimeError):
    """A lifecycle step was called in a state that does not allow it."""


class Node:
    """Base class of every pyacq node.

    ``_input_specs`` and ``_output_specs`` map stream names to the default
    configuration of each stream; ``node.inputs[name]`` / ``node.outputs[name]``
    are created from them (and ``node.input`` / ``node.output`` when there is
    exactly one).
    """

    _input_specs = {}
    _output_specs = {}

    def __init__(self, name="", parent=None):
        self.name = name
        self._lifecycle_state = CREATED
        self._state_lock = threading.Lock()
        from pyacq.core.stream import InputStream, OutputStream
        self.inputs = {
            stream_name: InputStream(spec=dict(spec), node=self, name=stream_name)
            for stream_name, spec in self._input_specs.items()
        }
        self.outputs = {
            stream_name: OutputStream(spec=dict(spec), node=self, name=stream_name)
            for stream_name, spec in self._output_specs.items()
        }

    def __repr__(self):
        return f"<{type(self).__name__} {self.name!r} {self._lifecycle_state}>"

    def _describe(self):
        label = f"{type(self).__name__} node"
        return f"{label} {self.name!r}" if self.name else label

    # -- thread-safe state queries ------------------------------------------------

    def _get_state(self):
        with self._state_lock:
            return self._lifecycle_state

    def _set_state(self, state):
        with self._state_lock:
            self._lifecycle_state = state

    def running(self):
        """True between start() and stop(). Thread-safe."""
        return self._get_state() == RUNNING

    def configured(self):
        """True once configure() has succeeded, until close(). Thread-safe."""
        return self._get_state() in (CONFIGURED, INITIALIZED, RUNNING)

    def initialized(self):
        """True once initialize() has succeeded, until close(). Thread-safe."""
        return self._get_state() in (INITIALIZED, RUNNING)

    def closed(self):
        """True once close() has been called. Thread-safe."""
        return self._get_state() == CLOSED

    def _require_state(self, step, allowed):
        state = self._get_state()
        if state not in allowed:
            needed = " or ".join(repr(s) for s in allowed)
            raise NodeStateError(
                f"{self._describe()}: cannot {step}() while {state!r}; "
                f"{step}() needs the node to be {needed}"
            )

    # -- single stream shortcuts --------------------------------------------------

    @property
    def input(self):
        """The node's only input; an error names the inputs when there is not exactly one."""
        return self._only_stream(self.inputs, "input")

    @property
    def output(self):
        """The node's only output; an error names the outputs when there is not exactly one."""
        return self._only_stream(self.outputs, "output")

    def _only_stream(self, streams, kind):
        if len(streams) != 1:
            names = ", ".join(repr(n) for n in streams) or "none"
            raise AssertionError(
                f"{self._describe()} has {len(streams)} {kind}s ({names}); "
                f"use node.{kind}s[name] instead of node.{kind}"
            )
        return next(iter(streams.values()))

    # -- lifecycle ------------------------------------------------------------------

    def configure(self, **kargs):
        """Set the node's global parameters; the accepted keywords are those of ``_configure``."""
        self._require_state("configure", (CREATED, CONFIGURED))
        self._configure(**kargs)
        self._set_state(CONFIGURED)

    def initialize(self):
        """Check the streams, then allocate memory and prepare devices (``_initialize``)."""
        self._require_state("initialize", (CONFIGURED,))
        self.check_input_specs()
        self.check_output_specs()
        self._initialize()
        self._set_state(INITIALIZED)

    def start(self):
        """Begin reading inputs and writing outputs; output indexes restart at 0."""
        self._require_state("start", (INITIALIZED,))
        for output in self.outputs.values():
            if output.configured:
                output.reset_buffer_index()
        self._start()
        self._set_state(RUNNING)

    def stop(self):
        """Stop processing; the node may be started again."""
        self._require_state("stop", (RUNNING,))
        self._stop()
        self._set_state(INITIALIZED)

    def close(self):
        """Release devices, memory and every stream. A running node must be stopped first."""
        self._require_state("close", (CREATED, CONFIGURED, INITIALIZED))
        try:
            self._close()
        finally:
            for stream in (*self.inputs.values(), *self.outputs.values()):
                stream.close()
            self._set_state(CLOSED)

    # -- hooks for subclasses ---------------------------------------------------

    def _configure(self, **kargs):
        """Store configuration; a node accepting no keyword refuses any."""
        if kargs:
            raise TypeError(
                f"{self._describe()}: configure() got unexpected keyword arguments "
                f"{sorted(kargs)}"
            )

    def _initialize(self):
        pass

    def _start(self):
        pass

    def _stop(self):
        pass

    def _close(self):
        pass

    def after_input_connect(self, inputname):
        """Called when input ``inputname`` has been connected."""

    def after_output_configure(self, outputname):
        """Called when output ``outputname`` has been configured."""

    def check_input_specs(self):
        """Called by initialize(); raise an exception when an input is misconfigured."""

    def check_output_specs(self):
        """Called by initialize(); raise an exception when an output is misconfigured."""
