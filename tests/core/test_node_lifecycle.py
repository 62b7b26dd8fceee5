"""Node lifecycle: hook order, state queries, and a clear error for every misuse."""
import threading

import pytest
from pyacq.core import Node, NodeStateError


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
    node = RecordingNode(name="n")
    node.configure()
    node.configure(gain=3.0)
    node.initialize()
    with pytest.raises(NodeStateError, match=r"cannot configure\(\) while 'initialized'"):
        node.configure()
    node.close()
    with pytest.raises(NodeStateError, match=r"cannot configure\(\) while 'closed'"):
        node.configure()


def test_close_while_running_and_twice():
    """close() is refused while running (stop first) and after close()."""
    node = RecordingNode(name="n")
    node.configure()
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
    with pytest.raises(NodeStateError, match=r"cannot close\(\) while 'closed'"):
        node.close()
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
    with pytest.raises(TypeError, match=r"Node node 'plain': configure\(\) got unexpected keyword .*'rate'"):
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
    node = RecordingNode()
    node.configure()
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
