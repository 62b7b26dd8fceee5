"""Node lifecycle: hook order, state queries, and a clear error for every misuse."""
import inspect
import logging
import pydoc
import threading

import numpy as np
import pytest
from process_checks import wait_until
from pyacq.core import InputPoller, Node, NodeStateError, OutputStream
from pyacq.core.node_thread import NodeThread


class RecordingNode(Node):
    """Records which hooks ran, in order."""

    _input_specs = {"signals": {}}
    _output_specs = {"filtered": dict(streamtype="analogsignal", dtype="float32", shape=(-1, 2))}

    def __init__(self, **kargs):
        self.calls = []
        Node.__init__(self, **kargs)

    def _configure(self, gain=1.0):
        self.calls.append(("configure", gain))

    def _initialize(self):
        self.calls.append("initialize")

    def _start(self):
        self.calls.append("start")

    def _stop(self):
        self.calls.append("stop")

    def _close(self):
        self.calls.append("close")

    def check_input_specs(self):
        self.calls.append("check_input_specs")

    def check_output_specs(self):
        self.calls.append("check_output_specs")

    def after_output_configure(self, outputname):
        self.calls.append(("after_output_configure", outputname))


def configured_node(name=""):
    """A RecordingNode configured, with its output configured: ready for initialize()."""
    node = RecordingNode(name=name)
    node.configure()
    node.output.configure(protocol="inproc", transfermode="plaindata")
    return node


def test_full_lifecycle_calls_hooks_in_order():
    """configure -> initialize -> start/stop (twice) -> close runs each hook once per step."""
    node = RecordingNode(name="rec")
    assert not node.configured() and not node.initialized() and not node.running()
    node.configure(gain=2.0)
    assert node.configured() and not node.initialized()
    node.output.configure(protocol="inproc", transfermode="plaindata")
    node.initialize()
    assert node.initialized() and not node.running()
    for _ in range(2):
        node.start()
        assert node.running()
        node.stop()
        assert not node.running() and node.initialized()
    node.close()
    assert node.closed() and not node.configured() and not node.initialized()
    assert node.calls == [("configure", 2.0), ("after_output_configure", "filtered"),
                          "check_input_specs", "check_output_specs", "initialize",
                          "start", "stop", "start", "stop", "close"]


def test_streams_created_from_specs():
    """_input_specs/_output_specs create node.inputs/node.outputs holding their spec."""
    node = RecordingNode()
    assert list(node.inputs) == ["signals"] and list(node.outputs) == ["filtered"]
    assert node.input is node.inputs["signals"]
    assert node.output is node.outputs["filtered"]
    assert node.output.spec["shape"] == (-1, 2)
    assert node.output.node is node and node.output.name == "filtered"
    node.close()


def test_documented_constructor_signature():
    """``Node(name='', parent=None)`` as pyacq 2.0 documents it: the name by position or
    keyword, and a ``parent`` that is accepted (and changes nothing)."""
    assert list(inspect.signature(Node).parameters) == ["name", "parent"]
    for node in (Node("by_position", None), Node(name="by_keyword", parent=object())):
        assert node.name in ("by_position", "by_keyword") and not node.configured()
        node.close()


def test_specs_are_per_instance():
    """A node mutating its output spec does not change the class spec or other instances."""
    a, b = RecordingNode(), RecordingNode()
    a.output.spec["sample_rate"] = 10.0
    assert "sample_rate" not in b.output.spec
    assert "sample_rate" not in RecordingNode._output_specs["filtered"]
    a.close()
    b.close()


class TwoOutputs(Node):
    _output_specs = {"signals": {}, "triggers": {}}


def test_single_stream_shortcut_refused_with_several():
    """node.output with several outputs (or node.input with none) names the streams."""
    node = TwoOutputs(name="amp")
    with pytest.raises(AssertionError, match=r"TwoOutputs node 'amp' has 2 outputs \('signals', 'triggers'\)"):
        _ = node.output
    with pytest.raises(AssertionError, match="has 0 inputs"):
        _ = node.input
    node.close()


@pytest.mark.parametrize("misuse, step, state", [
    (lambda n: n.initialize(), "initialize", "created"),
    (lambda n: n.start(), "start", "created"),
    (lambda n: n.stop(), "stop", "created"),
])
def test_steps_before_configure(misuse, step, state):
    """Every step before configure() names the node, the step, the state and what it needs."""
    node = RecordingNode(name="early")
    with pytest.raises(NodeStateError) as info:
        misuse(node)
    message = str(info.value)
    assert "RecordingNode node 'early'" in message
    assert f"cannot {step}() while '{state}'" in message
    assert "needs the node to be" in message
    node.close()


def test_start_before_initialize():
    """start() on a configured node asks for initialize()."""
    node = RecordingNode(name="n")
    node.configure()
    with pytest.raises(NodeStateError, match=r"cannot start\(\) while 'configured'.*'initialized'"):
        node.start()
    node.close()


def test_configure_after_initialize_and_after_close():
    """configure() is refused once initialized, and once closed."""
    node = configured_node(name="n")
    node.configure(gain=3.0)
    node.initialize()
    with pytest.raises(NodeStateError, match=r"cannot configure\(\) while 'initialized'"):
        node.configure()
    node.close()
    with pytest.raises(NodeStateError, match=r"cannot configure\(\) while 'closed'"):
        node.configure()


def test_close_while_running_and_twice():
    """close() is refused while running (stop first); closing a closed node does nothing."""
    node = configured_node(name="n")
    node.initialize()
    node.start()
    with pytest.raises(NodeStateError, match=r"cannot close\(\) while 'running'"):
        node.close()
    with pytest.raises(NodeStateError, match=r"cannot start\(\) while 'running'"):
        node.start()
    node.stop()
    with pytest.raises(NodeStateError, match=r"cannot stop\(\) while 'initialized'"):
        node.stop()
    node.close()
    node.close()
    assert node.closed() and node.calls.count("close") == 1
    with pytest.raises(NodeStateError, match=r"cannot initialize\(\) while 'closed'"):
        node.initialize()


def test_failed_step_keeps_state():
    """A hook that raises leaves the node in the state it had, so the step can be retried."""
    class Picky(Node):
        def _configure(self, rate=None):
            if rate is None:
                raise ValueError("rate is required")

        def check_input_specs(self):
            if not getattr(self, "ready", False):
                raise ValueError("not ready")

    node = Picky()
    with pytest.raises(ValueError):
        node.configure()
    assert not node.configured()
    node.configure(rate=10)
    with pytest.raises(ValueError, match="not ready"):
        node.initialize()
    assert node.configured() and not node.initialized()
    node.ready = True
    node.initialize()
    assert node.initialized()
    node.close()


def test_base_configure_refuses_unknown_keywords():
    """A node that takes no configuration refuses keywords instead of ignoring them."""
    node = Node(name="plain")
    with pytest.raises(TypeError, match=r"Node node 'plain': Node.configure\(\) got unexpected keyword .*'rate'"):
        node.configure(rate=10)
    node.configure()
    node.close()


def test_documented_example_hooks_are_optional():
    """A subclass writing only some hooks (as the documentation's examples do) works."""
    class OnlyStart(Node):
        started = False

        def _start(self):
            self.started = True

    node = OnlyStart()
    node.configure()
    node.initialize()
    node.start()
    assert node.started
    node.stop()
    node.close()


def test_state_queries_are_thread_safe():
    """State queries from other threads see a consistent state while the node cycles."""
    node = configured_node()
    node.initialize()
    stop = threading.Event()
    errors = []

    def watch():
        while not stop.is_set():
            running, initialized = node.running(), node.initialized()
            if running and not node.configured():
                errors.append("running but not configured")
            if not initialized and not node.closed():
                errors.append("lost initialized state")

    watcher = threading.Thread(target=watch)
    watcher.start()
    for _ in range(500):
        node.start()
        node.stop()
    stop.set()
    watcher.join(timeout=10)
    assert not watcher.is_alive()
    assert errors == []
    node.close()


# -- a worker thread that dies -----------------------------------------------------

class ThreadedNode(Node):
    """Runs one NodeThread; ``crash`` (an Event) makes it raise."""

    def _configure(self, fail_at_once=False):
        self.fail_at_once = fail_at_once
        self.stops = 0

    def _start(self):
        self.crash, self.quit = threading.Event(), threading.Event()
        self.thread = NodeThread(self, target=self._work, name=f"{self.name}-worker")
        self.thread.start()
        if self.fail_at_once:
            self.crash.set()
            self.thread.join(timeout=10)

    def _work(self):
        while not self.quit.wait(0.01):
            if self.crash.is_set():
                raise ValueError("the device went away")

    def _stop(self):
        self.stops += 1
        self.quit.set()
        self.thread.join(timeout=10)


def test_dead_worker_thread_makes_the_node_failed(caplog):
    """A NodeThread that raises makes its node 'failed' (not running), keeps the exception in
    node.error, logs it once naming the node and the thread; stop() and start() work again."""
    node = ThreadedNode(name="amp")
    node.configure()
    node.initialize()
    node.start()
    assert node.running() and not node.failed() and node.error is None
    with caplog.at_level(logging.ERROR, logger="pyacq.core.node"):
        node.crash.set()
        assert wait_until(node.failed, 10.0)
    assert not node.running() and node.initialized() and node.configured()
    assert isinstance(node.error, ValueError)
    assert node.error_message() == "thread 'amp-worker' failed: ValueError: the device went away"
    records = [r for r in caplog.records if r.name == "pyacq.core.node"]
    assert len(records) == 1
    assert "ThreadedNode node 'amp'" in records[0].getMessage()
    assert "'amp-worker' failed" in records[0].getMessage() and records[0].exc_info is not None
    assert repr(node) == "<ThreadedNode 'amp' failed>"
    with pytest.raises(NodeStateError, match=r"cannot start\(\) while 'failed' \(thread 'amp-worker' "
                                             r"failed: ValueError.*stop\(\) or close\(\) it\)"):
        node.start()
    node.stop()
    assert node.initialized() and not node.failed() and node.stops == 1
    assert isinstance(node.error, ValueError), "the error stays readable after stop()"
    node.start()
    assert node.running() and node.error is None
    node.stop()
    node.close()


def test_failure_while_start_runs_is_not_lost():
    """A thread failing before start() returns leaves the node 'failed', not 'running'."""
    node = ThreadedNode(name="quick")
    node.configure(fail_at_once=True)
    node.initialize()
    node.start()
    assert node.failed() and not node.running()
    assert "ValueError: the device went away" in node.error_message()
    node.stop()
    node.close()


def test_close_of_a_failed_node_stops_it_first():
    """close() works on a failed node and releases what its run used (_stop runs)."""
    node = ThreadedNode(name="n")
    node.configure()
    node.initialize()
    node.start()
    node.crash.set()
    assert wait_until(node.failed, 10.0)
    node.close()
    assert node.closed() and node.stops == 1 and not node.thread.is_alive()


class Consumer(Node):
    """A node reading its input with an InputPoller whose callback raises on a negative value."""

    _input_specs = {"signals": {}}

    def _start(self):
        self.poller = InputPoller(self.input, self._on_chunk, timeout=20)
        self.poller.start()

    def _on_chunk(self, index, data):
        if data.min() < 0:
            raise RuntimeError("negative sample")

    def _stop(self):
        self.poller.stop()
        self.poller.join(timeout=10)


def test_input_poller_failure_reaches_the_node():
    """An exception in an InputPoller's callback makes the node owning the input 'failed'."""
    source = OutputStream(name="source")
    source.configure(protocol="inproc", transfermode="plaindata", dtype="float32", shape=(-1, 1))
    node = Consumer(name="consumer")
    node.configure()
    node.input.connect(source)
    node.initialize()
    node.start()
    source.send(np.ones((4, 1), "float32"))
    source.send(-np.ones((4, 1), "float32"))
    assert wait_until(node.failed, 10.0)
    assert node.error_message().startswith("thread 'InputPoller-signals' failed: RuntimeError")
    node.stop()
    node.close()
    source.close()


class CallbackNode(Node):
    """Fed by a thread it did not start (as a library's callback thread), which reports its own
    failures with report_thread_failure."""

    def _start(self):
        self.callback_thread = threading.Thread(target=self._library_thread, daemon=True)
        self.callback_thread.start()

    def _library_thread(self):
        wait_until(self.running, 10.0)
        for attempt in ("first", "second"):
            try:
                raise OSError(f"{attempt} callback failed")
            except OSError as error:
                self.report_thread_failure(error, "library callback")

    def _stop(self):
        self.callback_thread.join(timeout=10)


def test_failure_reported_by_a_foreign_thread_is_logged_then_published(caplog):
    """report_thread_failure (for threads pyacq does not start) makes the node failed like a
    NodeThread does. The error is logged before it is published, and published together with
    the failed state: while the log record is written the node still runs with no error, once
    error is set running() is False. Only the first failure of the run is kept and logged."""
    node = CallbackNode(name="cb")
    seen_while_logging = []

    class Watch(logging.Handler):
        def emit(self, record):
            seen_while_logging.append((record.levelno, node.running(), node.error))

    watch = Watch()
    logging.getLogger("pyacq.core.node").addHandler(watch)
    try:
        with caplog.at_level(logging.DEBUG, logger="pyacq.core.node"):
            node.configure()
            node.initialize()
            node.start()
            assert wait_until(lambda: not node.callback_thread.is_alive(), 10.0)
    finally:
        logging.getLogger("pyacq.core.node").removeHandler(watch)
    assert node.failed() and not node.running()
    assert node.error_message() == "thread 'library callback' failed: OSError: first callback failed"
    assert seen_while_logging == [(logging.ERROR, True, None), (logging.DEBUG, False, node.error)]
    node.stop()
    node.close()


# -- outputs needed at initialize() --------------------------------------------------

def test_initialize_refuses_an_unconfigured_output():
    """initialize() names the node, the unconfigured output and the call that configures it."""
    node = RecordingNode(name="filt")
    node.configure()
    with pytest.raises(NodeStateError) as info:
        node.initialize()
    message = str(info.value)
    assert "RecordingNode node 'filt'" in message and "output 'filtered' not configured" in message
    assert "node.outputs['filtered'].configure(" in message
    assert node.configured() and not node.initialized()
    node.output.configure(protocol="inproc", transfermode="plaindata")
    node.initialize()
    node.close()


def test_optional_outputs_may_stay_unconfigured():
    """Outputs a class lists in _optional_outputs need no configuration; the others do."""
    class Amplifier(Node):
        _output_specs = {"signals": dict(dtype="float32", shape=(-1, 2)),
                         "triggers": dict(dtype="int64", shape=(-1,))}
        _optional_outputs = ("triggers",)

    node = Amplifier(name="amp")
    node.configure()
    with pytest.raises(NodeStateError, match=r"output 'signals' not configured"):
        node.initialize()
    node.outputs["signals"].configure(protocol="inproc", transfermode="plaindata")
    node.initialize()
    node.close()


# -- configure(): keywords, signature, documentation ------------------------------------

class Gain(Node):
    def _configure(self, gain=1.0, nb_channel=2, channel_names=None):
        """Multiply every channel by ``gain``."""
        self.gain = gain


class RequiredRate(Gain):
    def _configure(self, rate, gain=1.0):
        self.rate = rate


def test_configure_typo_names_the_public_method_and_valid_keywords():
    """A wrong keyword is refused before _configure runs, naming Class.configure(), the closest
    valid keyword and all of them."""
    node = Gain(name="g")
    with pytest.raises(TypeError) as info:
        node.configure(nb_chanel=3)
    message = str(info.value)
    assert message.startswith("Gain node 'g': Gain.configure() got unexpected keyword argument "
                              "'nb_chanel' (did you mean 'nb_channel'?)")
    assert "valid keywords: gain=1.0, nb_channel=2, channel_names=None" in message
    assert "_configure" not in message
    assert not node.configured()
    with pytest.raises(TypeError, match=r"RequiredRate.configure\(\) needs the keyword argument 'rate'"):
        RequiredRate(name="r").configure(gain=2.0)
    node.close()


def test_configure_shows_the_node_parameters():
    """inspect.signature and help() of node.configure show the class's own _configure keywords
    and documentation, for subclasses too; the call still goes through the lifecycle."""
    gain, required = Gain(), RequiredRate()
    assert str(inspect.signature(gain.configure)) == "(*, gain=1.0, nb_channel=2, channel_names=None)"
    assert str(inspect.signature(required.configure)) == "(*, rate, gain=1.0)"
    assert "Multiply every channel by ``gain``." in gain.configure.__doc__
    assert Gain.configure.__qualname__ == "Gain.configure"
    assert "configure(*, gain=1.0, nb_channel=2, channel_names=None)" in pydoc.plain(
        pydoc.render_doc(gain.configure))
    required.configure(rate=10)
    assert required.configured() and required.rate == 10
    gain.close()
    required.close()
