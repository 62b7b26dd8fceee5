"""LslInlet / LslOutlet: round trips through real liblsl, confined to this machine.

``LSLAPICFG`` points liblsl at a configuration written here: machine-scope
resolution and IPv4 only, so no LSL packet leaves the host.
"""
import time

import numpy as np
import pytest
from pyacq.core import InputStream, OutputStream, get_node_type

pylsl = pytest.importorskip("pylsl", reason="the LSL tests need pylsl: pip install 'pyacq-devices[lsl]'")


pytestmark = pytest.mark.usefixtures("machine_scope_lsl")


def lsl_outlet(name, source_id, nb_channel, rate, channel_format="float32", labels=None):
    info = pylsl.StreamInfo(name, "EEG", nb_channel, rate, channel_format, source_id)
    channels = info.desc().append_child("channels")
    for label in labels or []:
        channels.append_child("channel").append_child_value("label", label)
    return pylsl.StreamOutlet(info)


def start_inlet(device_nodes, node_name, **configure):
    """Start an LslInlet configured with *configure*, its outputs inproc; return it and an
    InputStream connected to its ``signals`` output."""
    from pyacq.devices import LslInlet
    inlet = device_nodes.add(LslInlet(name=node_name))
    inlet.configure(**configure)
    for output in inlet.outputs.values():
        output.configure(protocol="inproc")
    signals = InputStream()
    signals.connect(inlet.outputs["signals"])
    inlet.initialize()
    inlet.start()
    return inlet, signals


@pytest.mark.parametrize("type_name", ["LslInlet", "LslOutlet"])
def test_registered_by_entry_point(type_name):
    """Both LSL nodes are created by name through the pyacq-devices entry points."""
    import pyacq.devices
    assert get_node_type(type_name) is getattr(pyacq.devices, type_name)


def test_outlet_publishes_exact_values_and_metadata(device_nodes):
    """pyacq -> LslOutlet -> pylsl inlet: values exact; name, type, source_id, rate, channel
    labels and units in the LSL metadata."""
    from pyacq.devices import LslOutlet
    from pyacq.devices.lsl import lsl_channel_labels
    output = OutputStream(spec=dict(channel_info=[{"name": n} for n in ("Fp1", "Fp2", "Oz")]))
    output.configure(protocol="inproc", shape=(-1, 3), dtype="float32", sample_rate=512.0, units="uV")
    outlet = LslOutlet(name="out")
    device_nodes.add(outlet)
    outlet.configure(name="pyacq-test-out", type="EEG", source_id="pyacq-test-out-1")
    outlet.input.connect(output)
    outlet.initialize()
    outlet.start()
    found = pylsl.resolve_byprop("source_id", "pyacq-test-out-1", 1, 10.0)
    assert found, "the outlet was not found on this machine"
    inlet = pylsl.StreamInlet(found[0])
    info = inlet.info(timeout=10.0)
    inlet.open_stream(timeout=10.0)
    assert (info.name(), info.type(), info.channel_count(), info.nominal_srate()) == (
        "pyacq-test-out", "EEG", 3, 512.0)
    assert lsl_channel_labels(info) == ["Fp1", "Fp2", "Oz"]
    assert info.desc().child("channels").child("channel").child_value("unit") == "uV"
    data = np.random.default_rng(1).standard_normal((1000, 3)).astype("float32")
    for k in range(0, 1000, 100):
        output.send(data[k:k + 100])
    received, deadline = [], time.monotonic() + 20
    while sum(map(len, received)) < 1000 and time.monotonic() < deadline:
        samples, timestamps = inlet.pull_chunk(timeout=0.2)
        if timestamps:
            received.append(np.asarray(samples, dtype="float32"))
    np.testing.assert_array_equal(np.concatenate(received), data)
    inlet.close_stream()
    outlet.stop()
    output.close()


def test_inlet_streams_exact_values_metadata_and_timestamps(device_nodes, receive_chunks):
    """pylsl outlet -> LslInlet -> pyacq: values exact, sample rate and channel names from LSL,
    and the LSL timestamps (clock-corrected) of every sample on the timestamps output."""
    from pyacq.devices import LslInlet
    source = lsl_outlet("ext-eeg", "ext-eeg-1", 4, 250.0, labels=["C3", "C4", "P3", "P4"])
    inlet = LslInlet(name="in")
    device_nodes.add(inlet)
    inlet.configure(name="ext-eeg", source_id="ext-eeg-1", timeout=10.0)
    for output in inlet.outputs.values():
        output.configure(protocol="tcp", transfermode="plaindata")
    signals, stamps = InputStream(), InputStream()
    signals.connect(inlet.outputs["signals"])
    stamps.connect(inlet.outputs["timestamps"])
    assert signals.params["sample_rate"] == 250.0 and signals.params["nb_channel"] == 4
    assert [c["name"] for c in signals.params["channel_info"]] == ["C3", "C4", "P3", "P4"]
    assert np.dtype(signals.params["dtype"]) == np.float32 and signals.params["shape"] == [-1, 4]
    inlet.initialize()
    inlet.start()
    data = np.arange(2000, dtype="float32").reshape(500, 4)
    t0 = pylsl.local_clock()
    sent_stamps = t0 + np.arange(500) / 250.0
    for k in range(0, 500, 50):
        source.push_chunk(data[k:k + 50], list(sent_stamps[k:k + 50]))
    np.testing.assert_array_equal(receive_chunks(signals, 500, timeout=20.0)[1], data)
    np.testing.assert_allclose(receive_chunks(stamps, 500, timeout=20.0)[1], sent_stamps, atol=1e-3)
    assert signals.gap_count == 0 and inlet.lost_samples == 0
    inlet.stop()
    signals.close()
    stamps.close()


def test_inlet_shows_lost_samples_as_a_gap(device_nodes, receive_chunks):
    """Samples missing from a regular LSL stream (its timestamps jump) are counted and sent as
    a gap in the stream index."""
    source = lsl_outlet("gappy", "gappy-1", 1, 100.0)
    inlet, signals = start_inlet(device_nodes, "gappy", source_id="gappy-1", timeout=10.0)
    t0 = pylsl.local_clock()
    source.push_chunk(np.zeros((10, 1), "float32"), list(t0 + np.arange(10) / 100))
    receive_chunks(signals, 10, timeout=20.0)
    source.push_chunk(np.ones((10, 1), "float32"), list(t0 + np.arange(30, 40) / 100))
    receive_chunks(signals, 10, timeout=20.0)
    assert inlet.lost_samples == 20
    assert signals.gap_count == 1 and signals.lost_samples == 20
    inlet.stop()
    signals.close()


def test_inlet_turns_string_markers_into_events(device_nodes, receive_chunks):
    """An irregular-rate string LSL stream comes out as events (timestamp, value)."""
    source = lsl_outlet("markers", "markers-1", 1, pylsl.IRREGULAR_RATE, "string")
    inlet, events = start_inlet(device_nodes, "markers", type="EEG", name="markers", timeout=10.0)
    assert events.params["streamtype"] == "event"
    t0 = pylsl.local_clock()
    for k, label in enumerate(["start", "stimulus", "réponse"]):
        source.push_sample([label], t0 + k)
    received = receive_chunks(events, 3, timeout=20.0)[1]
    assert [v.decode("utf-8") for v in received["value"]] == ["start", "stimulus", "réponse"]
    np.testing.assert_allclose(received["timestamp"], t0 + np.arange(3), atol=1e-3)
    inlet.stop()
    events.close()


def test_unresolved_stream_and_bad_input_are_refused(device_nodes):
    """No matching stream: LookupError naming the query; LslOutlet refuses samples no LSL format
    holds (complex)."""
    from pyacq.devices import LslInlet, LslOutlet
    inlet = LslInlet(name="nothing")
    device_nodes.add(inlet)
    with pytest.raises(LookupError, match="no LSL stream matching name='no-such-stream'"):
        inlet.configure(name="no-such-stream", timeout=0.5)
    output = OutputStream()
    output.configure(protocol="inproc", shape=(-1, 2), dtype="complex64")
    outlet = LslOutlet(name="bad")
    device_nodes.add(outlet)
    outlet.configure(name="bad")
    outlet.input.connect(output)
    with pytest.raises(ValueError, match="LSL publishes analog streams"):
        outlet.initialize()
    output.close()


def test_outlet_without_input_is_refused_at_initialize(device_nodes):
    """initialize() of an LslOutlet whose input is not connected raises RuntimeError naming
    the node, the input and how to connect it (not a bare KeyError from its params)."""
    from pyacq.devices import LslOutlet
    outlet = LslOutlet(name="unconnected")
    device_nodes.add(outlet)
    outlet.configure(name="pyacq-test-unconnected")
    with pytest.raises(RuntimeError, match="LslOutlet node 'unconnected': input 'signals' is not "
                                           "connected; connect it .*before initialize"):
        outlet.initialize()
    assert not outlet.initialized()


def resolve_inlet(source_id):
    found = pylsl.resolve_byprop("source_id", source_id, 1, 10.0)
    assert found, f"the outlet {source_id!r} was not found on this machine"
    inlet = pylsl.StreamInlet(found[0])
    info = inlet.info(timeout=10.0)
    inlet.open_stream(timeout=10.0)
    return inlet, info


def pull_markers(inlet, n, timeout=20.0):
    values, stamps, deadline = [], [], time.monotonic() + timeout
    while len(values) < n:
        assert time.monotonic() < deadline, f"only {len(values)} of {n} markers in {timeout} s"
        samples, timestamps = inlet.pull_chunk(timeout=0.2)
        values += samples
        stamps += timestamps
    return values, stamps


def start_marker_outlet(device_nodes, dtype, source_id, **configure):
    from pyacq.devices import LslOutlet
    output = OutputStream()
    output.configure(protocol="inproc", streamtype="event", shape=(-1,), dtype=dtype)
    outlet = LslOutlet(name=source_id)
    device_nodes.add(outlet)
    outlet.configure(name=source_id, type="Markers", source_id=source_id, **configure)
    outlet.input.connect(output)
    outlet.initialize()
    outlet.start()
    return output, outlet


def test_outlet_publishes_string_events_as_an_irregular_marker_stream(device_nodes):
    """Events with a bytes 'label' field -> LslOutlet -> pylsl inlet: an irregular-rate string
    stream, one LSL sample per event with the label as value (UTF-8 kept), each stamped with
    the event's 'timestamp' field."""
    dtype = [("index", "<i8"), ("label", "S16"), ("timestamp", "<f8")]
    output, _ = start_marker_outlet(device_nodes, dtype, "pyacq-test-markers")
    inlet, info = resolve_inlet("pyacq-test-markers")
    assert info.nominal_srate() == pylsl.IRREGULAR_RATE and info.channel_count() == 1
    assert info.channel_format() == pylsl.cf_string and info.type() == "Markers"
    labels = ["start", "stimulus", "réponse", "stop"]
    t0 = pylsl.local_clock()
    events = np.array([(10 * k, label.encode("utf-8"), t0 + k) for k, label in enumerate(labels)],
                      dtype=dtype)
    output.send(events[:1], index=1)
    output.send(events[1:], index=4)
    values, stamps = pull_markers(inlet, 4)
    assert values == [[label] for label in labels]
    np.testing.assert_allclose(stamps, t0 + np.arange(4), atol=1e-3)
    inlet.close_stream()
    output.close()


def test_outlet_publishes_integer_events_and_plain_trigger_positions(device_nodes):
    """Integer events go out as an int marker stream: a uint16 'code' field as int32 (exact,
    65535 included), and a plain int64 event stream (AnalogTrigger's positions) as int64."""
    from pyacq.devices.lsl import lsl_channel_labels
    coded, _ = start_marker_outlet(device_nodes, [("index", "<i8"), ("code", "<u2")], "pyacq-test-codes")
    plain, _ = start_marker_outlet(device_nodes, "int64", "pyacq-test-positions")
    code_inlet, code_info = resolve_inlet("pyacq-test-codes")
    position_inlet, position_info = resolve_inlet("pyacq-test-positions")
    assert code_info.channel_format() == pylsl.cf_int32
    assert position_info.channel_format() == pylsl.cf_int64
    assert code_info.nominal_srate() == position_info.nominal_srate() == pylsl.IRREGULAR_RATE
    assert lsl_channel_labels(code_info) == ["code"]
    codes = np.array([(5, 1), (9, 255), (20, 65535)], dtype=[("index", "<i8"), ("code", "<u2")])
    coded.send(codes, index=3)
    positions = np.array([3, 2**40 + 7], dtype="int64")
    plain.send(positions, index=2)
    assert pull_markers(code_inlet, 3)[0] == [[1], [255], [65535]]
    assert pull_markers(position_inlet, 2)[0] == [[3], [2**40 + 7]]
    for inlet in (code_inlet, position_inlet):
        inlet.close_stream()
    coded.close()
    plain.close()


def test_marker_field_choice_and_refusals(device_nodes):
    """marker_field picks the published field; an event dtype with no marker field, an unknown
    marker_field or a value no LSL format holds (uint64) is refused at initialize() by name."""
    from pyacq.devices import LslOutlet
    output, outlet = start_marker_outlet(device_nodes, [("index", "<i8"), ("label", "S8"), ("code", "<i2")],
                                         "pyacq-test-choice", marker_field="code")
    _, info = resolve_inlet("pyacq-test-choice")
    assert info.channel_format() == pylsl.cf_int16
    outlet.stop()
    output.close()
    cases = [([("index", "<i8"), ("points", "<f8")], {}, "none of .*configure\\(marker_field=...\\)"),
             ([("index", "<i8"), ("label", "S8")], dict(marker_field="nope"),
              "not marker_field='nope'"),
             ([("index", "<i8"), ("code", "<u8")], {}, "dtype uint64, which no LSL format holds")]
    for k, (dtype, configure, message) in enumerate(cases):
        bad = OutputStream()
        bad.configure(protocol="inproc", streamtype="event", shape=(-1,), dtype=dtype)
        refused = LslOutlet(name=f"refused{k}")
        device_nodes.add(refused)
        refused.configure(name=f"refused{k}", **configure)
        refused.input.connect(bad)
        with pytest.raises(ValueError, match=message):
            refused.initialize()
        bad.close()


def test_events_round_trip_through_lsl_outlet_and_inlet(device_nodes, receive_chunks):
    """pyacq events -> LslOutlet -> LSL -> LslInlet -> pyacq events: the labels and timestamps
    come back exactly, as an event stream."""
    dtype = [("timestamp", "<f8"), ("value", "S256")]
    output, _ = start_marker_outlet(device_nodes, dtype, "pyacq-test-roundtrip")
    inlet, events = start_inlet(device_nodes, "back", source_id="pyacq-test-roundtrip", timeout=10.0)
    assert events.params["streamtype"] == "event"
    t0 = pylsl.local_clock()
    sent = np.array([(t0 + 0.5 * k, f"trial{k}".encode()) for k in range(5)], dtype=dtype)
    output.send(sent, index=5)
    received = receive_chunks(events, 5, timeout=20.0)[1]
    assert received["value"].tolist() == sent["value"].tolist()
    np.testing.assert_allclose(received["timestamp"], sent["timestamp"], atol=1e-3)
    inlet.stop()
    events.close()
    output.close()
