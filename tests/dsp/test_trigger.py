"""AnalogTrigger / DigitalTrigger: exact crossing positions through real streams."""
import numpy as np
import pytest
from pyacq.core import get_node_type
from pyacq.dsp import AnalogTrigger, DigitalTrigger

SAMPLE_RATE = 1000.0
DEBOUNCE_TIME = 0.02  # 20 samples
# Rising edges, grouped in bursts: inside a burst each edge is < 20 samples after the
# previous one (the last burst is chained: 34 samples from first to last edge).
BURSTS = [[100, 105, 112], [300], [500, 515], [800, 810, 819, 828], [950]]
PULSE_WIDTH = 3
N_SAMPLES = 1200
# Chunk boundaries forced onto crossings: an edge as the first sample of a chunk.
FORCED_CUTS = [300, 515, 810, 813, 953]


def pulse_train(low=-1.0, high=1.0):
    signal = np.full(N_SAMPLES, low)
    for start in (edge for burst in BURSTS for edge in burst):
        signal[start:start + PULSE_WIDTH] = high
    return signal


def expected_positions(front, mode):
    bursts = BURSTS if front == "+" else [[e + PULSE_WIDTH for e in b] for b in BURSTS]
    if mode == "no-debounce":
        return [edge for burst in bursts for edge in burst]
    return [burst[0] if mode == "before-stable" else burst[-1] for burst in bursts]


def run_trigger(node, source, make_sink, closing, data, cuts, params, stream_params):
    closing(node)
    source.configure(sample_rate=SAMPLE_RATE, **stream_params)
    node.configure()
    node.inputs["signals"].connect(source.output)
    node.outputs["events"].configure(protocol="inproc", transfermode="plaindata")
    for key, value in params.items():
        node.params[key] = value
    sink = make_sink(node.outputs["events"])
    node.initialize()
    node.start()
    source.send_in_chunks(data, cuts)
    events = sink.receive_all(node, "signals", len(data))
    return sink, (np.array([], dtype=np.int64) if events is None else events)


def test_registered_by_entry_points():
    """Both triggers are found by name through the pyacq-dsp entry points."""
    assert get_node_type("AnalogTrigger") is AnalogTrigger
    assert get_node_type("DigitalTrigger") is DigitalTrigger


@pytest.mark.parametrize("front", ["+", "-"])
@pytest.mark.parametrize("mode", ["no-debounce", "before-stable", "after-stable"])
def test_analog_trigger_exact_positions(front, mode, source, make_sink, closing, random_cuts):
    """Each debounce mode returns exactly the expected crossing positions, for both fronts,
    with random chunk sizes and crossings on chunk boundaries; the output index counts events."""
    rng = np.random.default_rng([ord(front), len(mode)])
    data = np.zeros((N_SAMPLES, 3), dtype="float32")
    data[:, 1] = pulse_train(low=0.2, high=2.0)
    data[:, 0] = 5.0 * np.sin(np.arange(N_SAMPLES))  # another channel crossing all the time
    node = AnalogTrigger(name="trig")
    params = dict(channel=1, threshold=1.0, front=front, debounce_mode=mode,
                  debounce_time=DEBOUNCE_TIME)
    sink, events = run_trigger(node, source, make_sink, closing, data,
                               random_cuts(N_SAMPLES, 37, rng, FORCED_CUTS), params,
                               dict(dtype="float32", shape=(-1, 3)))
    expected = expected_positions(front, mode)
    assert events.dtype == np.int64
    assert events.tolist() == expected
    assert sink.indexes[-1] == len(expected)


def test_debounce_decision_waits_for_data(source, make_sink, closing):
    """'after-stable' sends a crossing only once debounce_time of data has followed it."""
    data = np.zeros((400, 1), dtype="float64")
    data[100:] = 1.0
    node = AnalogTrigger()
    closing(node)
    source.configure(sample_rate=SAMPLE_RATE, dtype="float64", shape=(-1, 1))
    node.configure()
    node.input.connect(source.output)
    node.output.configure(protocol="inproc")
    node.params.update(threshold=0.5, debounce_mode="after-stable", debounce_time=0.05)
    sink = make_sink(node.output)
    node.initialize()
    node.start()
    source.output.send(data[:149], index=149)
    assert sink.receive_all(node, "signals", 149) is None
    source.output.send(data[149:150], index=150)
    assert sink.receive_all(node, "signals", 150).tolist() == [100]


def test_live_threshold_change(source, make_sink, closing):
    """params['threshold'] changed while running applies from the next chunk on."""
    ramp = np.tile(np.arange(10, dtype="float32"), 20)[:, None]  # saw tooth 0..9
    node = AnalogTrigger()
    closing(node)
    source.configure(sample_rate=SAMPLE_RATE, dtype="float32", shape=(-1, 1))
    node.configure()
    node.input.connect(source.output)
    node.output.configure(protocol="inproc")
    node.params["threshold"] = 2.5
    sink = make_sink(node.output)
    node.initialize()
    node.start()
    source.output.send(ramp[:100], index=100)
    first = sink.receive_all(node, "signals", 100).tolist()
    node.params["threshold"] = 7.5
    source.output.send(ramp[100:], index=200)
    events = sink.receive_all(node, "signals", 200).tolist()
    assert first == list(range(3, 100, 10))
    assert events == first + list(range(108, 200, 10))


def test_digital_trigger_watches_one_bit(make_source, make_sink, closing, random_cuts):
    """DigitalTrigger channel=10 watches bit 2 of column 1 of a uint8 stream, ignoring
    the other bits, with exact positions for both fronts."""
    rng = np.random.default_rng(3)
    data = rng.integers(0, 256, size=(N_SAMPLES, 2), dtype=np.uint8)
    line = pulse_train(low=0, high=1).astype(np.uint8)
    data[:, 1] = (data[:, 1] & ~np.uint8(4)) | (line << 2)
    for front in "+-":
        node = DigitalTrigger(name=f"digital{front}")
        _, events = run_trigger(node, make_source(), make_sink, closing, data,
                                random_cuts(N_SAMPLES, 50, rng, FORCED_CUTS),
                                dict(channel=10, front=front, debounce_mode="no-debounce"),
                                dict(dtype="uint8", shape=(-1, 2), streamtype="digitalsignal"))
        assert events.tolist() == expected_positions(front, "no-debounce")
        node.stop()


def test_bad_parameters_and_inputs_are_refused(source, closing):
    """Invalid live parameters raise at once, naming the parameter; an input of the
    wrong kind or a channel beyond the input is refused at initialize()."""
    node = AnalogTrigger(name="bad")
    closing(node)
    with pytest.raises(ValueError, match="front must be"):
        node.params["front"] = "up"
    with pytest.raises(ValueError, match="debounce_mode must be one of"):
        node.params["debounce_mode"] = "sometimes"
    with pytest.raises(KeyError, match="unknown parameter 'thresold'"):
        node.params["thresold"] = 1.0
    node.configure(max_size=0.5)
    with pytest.raises(ValueError, match="debounce_time must be between 0 and max_size=0.5"):
        node.params["debounce_time"] = 1.0
    source.configure(sample_rate=SAMPLE_RATE, dtype="float32", shape=(-1, 2))
    node.input.connect(source.output)
    node.output.configure(protocol="inproc")
    with pytest.raises(ValueError, match="channel 2 does not exist; the input has 2 channels"):
        node.params["channel"] = 2
    digital = DigitalTrigger(name="dig")
    closing(digital)
    digital.configure()
    digital.input.connect(source.output)
    digital.output.configure(protocol="inproc")
    with pytest.raises(TypeError, match="needs integer samples, got dtype float32"):
        digital.initialize()


def test_qt_signal_only_when_asked(run_python):
    """Without emit_qt_signal no Qt module is imported; with it, new_chunk is a Qt signal
    whose slot receives the event positions."""
    out = run_python("""
        import sys
        import numpy as np
        from pyacq.dsp import AnalogTrigger
        node = AnalogTrigger()
        node.configure()
        received = []
        node.new_chunk.connect(received.append)
        node.new_chunk.emit(np.array([3]))
        print("qt_loaded_without" if any(m.startswith(("PyQt", "pyqtgraph")) for m in sys.modules)
              else "no_qt_without", received[0].tolist())
        node.close()
        from pyqtgraph.Qt import QtCore
        app = QtCore.QCoreApplication([])
        qt_node = AnalogTrigger()
        qt_node.configure(emit_qt_signal=True)
        print(type(qt_node.new_chunk).__name__)
        qt_node.new_chunk.connect(received.append)
        qt_node.new_chunk.emit(np.array([7, 8]))
        print(received[-1].tolist())
        qt_node.close()
    """).stdout.splitlines()
    assert out[0] == "no_qt_without [3]"
    assert "BoundSignal" in out[1]
    assert out[2] == "[7, 8]"


def after_stable_trigger(source, make_sink, closing, debounce_time=0.05):
    node = AnalogTrigger(name="after")
    closing(node)
    source.configure(sample_rate=SAMPLE_RATE, dtype="float64", shape=(-1, 1))
    node.configure()
    node.input.connect(source.output)
    node.output.configure(protocol="inproc")
    node.params.update(threshold=0.5, debounce_mode="after-stable", debounce_time=debounce_time)
    sink = make_sink(node.output)
    node.initialize()
    node.start()
    return node, sink


def test_pending_after_stable_crossing_is_decided_at_stop(source, make_sink, closing):
    """A burst whose last crossing has less than debounce_time of data after it when the node
    stops: stop() decides it (the last crossing, 105) and sends it instead of dropping it;
    a restart then begins with nothing pending."""
    signal = np.zeros((130, 1))
    signal[100:102] = 1.0
    signal[105:] = 1.0
    node, sink = after_stable_trigger(source, make_sink, closing)
    source.output.send(signal, index=130)
    assert sink.receive_all(node, "signals", 130) is None
    node.stop()
    sink.receive_until(lambda s: len(s.chunks) == 1, timeout=10)
    assert sink.data().tolist() == [105] and sink.indexes == [1]
    node.start()
    source.output.send(np.ones((200, 1)), index=330)
    assert sink.receive_all(node, "signals", 330).tolist() == [105]
    node.stop()
    assert not sink.input.poll(300) and sink.indexes == [1]


def test_pending_after_stable_crossing_is_decided_at_a_gap(source, make_sink, closing):
    """Samples lost after a pending 'after-stable' crossing: the data its decision waits for
    never comes, so it is sent when the chunk after the gap arrives, before that chunk's events."""
    node, sink = after_stable_trigger(source, make_sink, closing)
    first = np.zeros((120, 1))
    first[110:] = 1.0
    source.output.send(first, index=120)
    after_gap = np.zeros((100, 1))
    after_gap[50:] = 1.0  # crossing at 200 + 50 = 250, decided 50 samples later (300 = index)
    source.output.send(after_gap, index=300)
    assert sink.receive_all(node, "signals", 300).tolist() == [110, 250]
