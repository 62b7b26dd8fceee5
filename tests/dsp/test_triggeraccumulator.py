"""TriggerAccumulator: epochs equal the input slices around each trigger."""
import itertools
import threading
import time

import numpy as np
import pytest
from pyacq.dsp import TriggerAccumulator

RATE = 1000.0


def setup_accumulator(closing, make_source, events_dtype="int64", nb_channel=3, **configure):
    node = TriggerAccumulator(name="acc")
    closing(node)
    signals, events = make_source(), make_source()
    signals.configure(sample_rate=RATE, dtype="float32", shape=(-1, nb_channel))
    events.configure(streamtype="event", dtype=events_dtype, shape=(-1,))
    node.configure(**configure)
    node.inputs["signals"].connect(signals.output)
    node.inputs["events"].connect(events.output)
    return node, signals.output, events.output


def wait_for(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.005)


def test_epochs_equal_input_slices(closing, make_source, random_cuts):
    """Each epoch in the stack equals signal[pos + left : pos + right] (channels first), for
    events sent before and after their signal; the stack is a ring along axis 0; epochs are
    taken only once right_sweep has arrived, and new_chunk(total_trig) is emitted then."""
    rng = np.random.default_rng(0)
    data = rng.standard_normal((3000, 3)).astype("float32")
    node, signals, events = setup_accumulator(closing, make_source, max_stack_size=4)
    node.params.update(left_sweep=-0.05, right_sweep=0.12, stack_size=4)
    notified = []
    node.new_chunk.connect(notified.append)
    node.initialize()
    node.start()
    positions = [100, 400, 410, 1200, 1500, 2100, 2900]
    events.send(np.array(positions[:3], dtype=np.int64))  # before their signal
    wait_for(lambda: node.processed_until["events"] == 3)
    cuts = random_cuts(1500, 64, rng)
    bounds = [0, *cuts, 1500]
    for start, stop in itertools.pairwise(bounds):
        signals.send(np.ascontiguousarray(data[start:stop]), index=stop)
    wait_for(lambda: node.processed_until["signals"] == 1500)
    assert node.total_trig == 3  # all three right sweeps (<= 530) have arrived
    signals.send(data[1500:], index=3000)
    wait_for(lambda: node.processed_until["signals"] == 3000)
    events.send(np.array(positions[3:], dtype=np.int64))  # after their signal
    wait_for(lambda: node.total_trig == 6)
    assert node.stack.shape == (4, 3, 170)
    np.testing.assert_allclose(node.t_vect[[0, -1]], [-0.05, 0.119])
    for k, pos in enumerate(positions[:6]):
        if k >= 6 - 4:
            np.testing.assert_array_equal(node.stack[k % 4], data[pos - 50:pos + 120].T)
    # 2900 + 120 > 3000: still pending, not missing
    assert node.total_trig == 6 and node.missed_trig == 0
    assert notified[-1] == 6 and notified == sorted(notified)
    node.reset_stack()
    assert node.total_trig == 0 and not node.stack.any()


def test_structured_events_and_missed_triggers(closing, make_source):
    """Structured events use events_dtype_field; an event whose epoch starts before the
    stream is counted in missed_trig instead of being filled in."""
    dtype = np.dtype([("label", "S4"), ("position", "int64")])
    node, signals, events = setup_accumulator(closing, make_source, events_dtype=dtype, nb_channel=2,
                                              events_dtype_field="position")
    node.params.update(left_sweep=-0.02, right_sweep=0.03, stack_size=5)
    node.initialize()
    node.start()
    data = np.arange(400 * 2, dtype="float32").reshape(400, 2)
    signals.send(data, index=400)
    events.send(np.array([(b"a", 10), (b"b", 200)], dtype=dtype))
    wait_for(lambda: node.total_trig == 1 and node.missed_trig == 1)
    np.testing.assert_array_equal(node.stack[0], data[180:230].T)


def test_qt_signal_reaches_the_gui_thread(closing, make_source):
    """With emit_qt_signal=True, new_chunk is a Qt signal emitted from the processing thread
    and delivered to a slot in the Qt (main) thread."""
    pg = pytest.importorskip("pyqtgraph")
    from pyqtgraph.Qt import QtCore
    app = pg.mkQApp()
    node, signals, events = setup_accumulator(closing, make_source, nb_channel=1, emit_qt_signal=True)
    node.params.update(left_sweep=0.0, right_sweep=0.01, stack_size=2)

    class Receiver(QtCore.QObject):
        def __init__(self):
            super().__init__()
            self.calls = []

        def on_new_chunk(self, total_trig):
            self.calls.append((total_trig, threading.current_thread() is threading.main_thread()))

    receiver = Receiver()
    node.new_chunk.connect(receiver.on_new_chunk)
    node.initialize()
    node.start()
    events.send(np.array([5], dtype=np.int64))
    signals.send(np.zeros((100, 1), dtype="float32"), index=100)
    deadline = time.monotonic() + 30
    while not receiver.calls:
        assert time.monotonic() < deadline, "the Qt signal never arrived"
        app.processEvents()
        time.sleep(0.005)
    assert receiver.calls == [(1, True)]


def test_invalid_configuration_is_refused(closing, make_source):
    """Sweeps and stack_size outside their limits, and structured events without a field,
    are refused with errors naming the problem."""
    node, _, _ = setup_accumulator(closing, make_source, events_dtype=[("pos", "int64")],
                                   max_stack_size=3, max_xsize=0.5)
    with pytest.raises(ValueError, match="stack_size must be an int from 1 to max_stack_size=3"):
        node.params["stack_size"] = 4
    with pytest.raises(ValueError, match="left_sweep .* must be before right_sweep"):
        node.params["left_sweep"] = 0.3
    with pytest.raises(ValueError, match="limited by max_xsize=0.5"):
        node.params["right_sweep"] = 0.6
    with pytest.raises(TypeError, match="configure\\(events_dtype_field=...\\)"):
        node.initialize()


def test_refused_configure_changes_nothing(closing, make_source):
    """configure(max_xsize=0.2) is refused while the sweeps (-0.1..0.2 s by default) need
    0.3 s, and leaves max_xsize, max_stack_size, events_dtype_field, the notifier and the
    parameters as they were; the node then configures as before."""
    node, _, _ = setup_accumulator(closing, make_source)
    notifier, params = node.new_chunk, dict(node.params)
    with pytest.raises(ValueError, match="acc.*limited by max_xsize=0.2.*left_sweep=-0.1, right_sweep=0.2"):
        node.configure(max_stack_size=4, max_xsize=0.2, events_dtype_field="position")
    assert (node.max_xsize, node.max_stack_size, node.events_dtype_field) == (2.0, 10, None)
    assert node.new_chunk is notifier and dict(node.params) == params
    node.configure(max_xsize=0.5)
    assert node.max_xsize == 0.5 and dict(node.params) == params


def test_stack_size_beyond_a_new_max_is_lowered_with_a_warning(closing, make_source, caplog):
    """A stack_size above a newly configured max_stack_size is lowered to it, as pyacq 2.0's
    limits did, and a warning says so once, with the value given and how to choose another;
    a stack_size that fits is left alone without a warning."""
    node, _, _ = setup_accumulator(closing, make_source)
    node.params["stack_size"] = 8
    with caplog.at_level("WARNING", logger="pyacq.dsp.triggeraccumulator"):
        node.configure(max_stack_size=3)
    assert node.params["stack_size"] == 3
    warnings = [r.getMessage() for r in caplog.records if "stack_size" in r.getMessage()]
    assert len(warnings) == 1, warnings
    assert "acc" in warnings[0] and "stack_size 8" in warnings[0] and "max_stack_size=3" in warnings[0]
    assert "params['stack_size']" in warnings[0]
    caplog.clear()
    with caplog.at_level("WARNING", logger="pyacq.dsp.triggeraccumulator"):
        node.configure(max_stack_size=5)
    assert node.params["stack_size"] == 3 and not caplog.records
