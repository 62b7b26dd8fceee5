"""LslOutlet and LslInlet created by name in a Manager's spawned NodeGroup, through real liblsl.

``LSLAPICFG`` points liblsl (here and, inherited, in the spawned processes) at a machine-scope,
IPv4-only configuration, so no LSL packet leaves the host.
"""
import time

import numpy as np
import pytest
from pyacq.core import InputStream, OutputStream

pylsl = pytest.importorskip("pylsl", reason="the LSL tests need pylsl: pip install 'pyacq-devices[lsl]'")


pytestmark = pytest.mark.usefixtures("machine_scope_lsl")


def pull(inlet, n, timeout=20.0):
    """Pull *n* samples from a pylsl inlet; return them as float32."""
    received, total, deadline = [], 0, time.monotonic() + timeout
    while total < n:
        assert time.monotonic() < deadline, f"only {total} of {n} LSL samples in {timeout} s"
        samples, timestamps = inlet.pull_chunk(timeout=0.2)
        if timestamps:
            received.append(np.asarray(samples, dtype="float32"))
            total += len(timestamps)
    return np.concatenate(received)


def test_outlet_in_a_nodegroup_publishes_a_local_stream(spawned_nodegroup):
    """A local stream -> LslOutlet created by name in a spawned NodeGroup -> pylsl inlet here:
    values exact, metadata (name, rate, channel labels) taken from the pyacq stream."""
    from pyacq.devices.lsl import lsl_channel_labels
    output = OutputStream(spec=dict(channel_info=[{"name": n} for n in ("Cz", "Pz")]))
    output.configure(protocol="tcp", interface="127.0.0.1", shape=(-1, 2), dtype="float32",
                     sample_rate=200.0)
    try:
        outlet = spawned_nodegroup.create_node("LslOutlet", name="remote-outlet")
        outlet.configure(name="pyacq-remote-out", type="EEG", source_id="pyacq-remote-out-1")
        outlet.input.connect(output)
        outlet.initialize()
        outlet.start()
        found = pylsl.resolve_byprop("source_id", "pyacq-remote-out-1", 1, 20.0)
        assert found, "the outlet of the spawned NodeGroup was not found on this machine"
        inlet = pylsl.StreamInlet(found[0])
        info = inlet.info(timeout=10.0)
        inlet.open_stream(timeout=10.0)
        assert (info.name(), info.channel_count(), info.nominal_srate()) == ("pyacq-remote-out", 2, 200.0)
        assert lsl_channel_labels(info) == ["Cz", "Pz"]
        data = np.random.default_rng(3).standard_normal((600, 2)).astype("float32")
        for k in range(0, 600, 60):
            output.send(data[k:k + 60])
        np.testing.assert_array_equal(pull(inlet, 600), data)
        inlet.close_stream()
        outlet.stop()
        spawned_nodegroup.nodegroup.remove_node(outlet)
    finally:
        output.close()


def test_inlet_in_a_nodegroup_streams_lsl_here(spawned_nodegroup, receive_chunks):
    """A pylsl outlet here -> LslInlet created by name in a spawned NodeGroup -> receiver here:
    values exact, channel names and rate from LSL, LSL timestamps on the second output."""
    info = pylsl.StreamInfo("ext-remote", "EEG", 3, 100.0, "float32", "ext-remote-1")
    channels = info.desc().append_child("channels")
    for label in ("O1", "O2", "Oz"):
        channels.append_child("channel").append_child_value("label", label)
    source = pylsl.StreamOutlet(info)
    inlet = spawned_nodegroup.create_node("LslInlet", name="remote-inlet")
    inlet.configure(name="ext-remote", source_id="ext-remote-1", timeout=20.0)
    signals, stamps = InputStream(), InputStream()
    try:
        for name in ("signals", "timestamps"):
            inlet.outputs[name].configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        signals.connect(inlet.outputs["signals"])
        stamps.connect(inlet.outputs["timestamps"])
        assert signals.params["sample_rate"] == 100.0
        assert [c["name"] for c in signals.params["channel_info"]] == ["O1", "O2", "Oz"]
        inlet.initialize()
        inlet.start()
        data = np.arange(900, dtype="float32").reshape(300, 3)
        sent_stamps = pylsl.local_clock() + np.arange(300) / 100.0
        for k in range(0, 300, 30):
            source.push_chunk(data[k:k + 30], list(sent_stamps[k:k + 30]))
        np.testing.assert_array_equal(receive_chunks(signals, 300, timeout=20.0)[1], data)
        np.testing.assert_allclose(receive_chunks(stamps, 300, timeout=20.0)[1], sent_stamps, atol=1e-3)
        assert signals.gap_count == 0
        inlet.stop()
        spawned_nodegroup.nodegroup.remove_node(inlet)
    finally:
        signals.close()
        stamps.close()
        del source
