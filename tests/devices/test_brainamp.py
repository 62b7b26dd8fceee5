"""BrainAmpSocket against the RDA simulator: exact µV values and marker positions, gaps shown."""
import socket
import threading
import time

import numpy as np
import pytest
from process_checks import wait_until
from pyacq.core import get_node_type
from pyacq.devices import BrainAmpSocket
from pyacq.devices.simulators import RDAServer

RESOLUTIONS = [0.5, 1.0, 2.0, 0.125]


def known_signal(n_samples=400, nb_channel=4):
    """µV values that are exact multiples of every resolution (so value / resolution is exact)."""
    values = (np.arange(n_samples * nb_channel).reshape(n_samples, nb_channel) % 251) - 125
    return values.astype("float32")


def collect(inputs, n_samples, timeout=20.0):
    """Receive from ``{'signals': inp, 'triggers': inp}`` until ``n_samples`` signal samples arrived."""
    chunks, events = [], []
    deadline = time.monotonic() + timeout
    while sum(len(c) for _, c in chunks) < n_samples:
        assert time.monotonic() < deadline, "signals did not arrive in time"
        if inputs["signals"].poll(timeout=50):
            index, data = inputs["signals"].recv()
            chunks.append((index, np.array(data)))
        while "triggers" in inputs and inputs["triggers"].poll(timeout=0):
            events.append(np.array(inputs["triggers"].recv()[1]))
    return chunks, (np.concatenate(events) if events else None)


@pytest.fixture
def run_node(device_nodes):
    """Configure a BrainAmpSocket on a server, connect both outputs, start it; clean up after."""
    def run(server, outputs=("signals", "triggers")):
        dev = device_nodes.add(BrainAmpSocket(name="amp"))
        dev.configure(brainamp_host="127.0.0.1", brainamp_port=server.port)
        inputs = device_nodes.connect(dev, outputs, protocol="tcp", transfermode="plaindata")
        dev.initialize()
        dev.start()
        return dev, inputs

    return run


def test_registered_by_entry_point():
    """BrainAmpSocket is found by name through the pyacq-devices entry point."""
    assert get_node_type("BrainAmpSocket") is BrainAmpSocket


def test_values_and_markers_exact_through_fragmented_reads(run_node):
    """Messages split in 3-byte TCP pieces (plus keep-alives) still give exact µV values,
    channel metadata, and markers at their absolute sample positions."""
    signal = known_signal()
    markers = [(3, "Stimulus", "S  1"), (57, "Response", "R  2"), (130, "Comment", "hello")]
    with RDAServer(nb_channel=4, sample_rate=1000.0, block_points=10, resolutions=RESOLUTIONS,
                   channel_names=["Fz", "Cz", "Pz", "Oz"], signal=signal, markers=markers,
                   fragment_size=3, keepalive_interval=0.01) as server:
        dev, inputs = run_node(server)
        params = inputs["signals"].params
        assert params["sample_rate"] == 1000.0 and params["shape"] == [-1, 4]
        assert params["nb_channel"] == 4
        assert [c["name"] for c in params["channel_info"]] == ["Fz", "Cz", "Pz", "Oz"]
        chunks, events = collect(inputs, 200)
        dev.stop()
    assert chunks[0][0] == 10
    for index, data in chunks:
        np.testing.assert_array_equal(data, signal[np.arange(index - len(data), index) % len(signal)])
    assert [(e["index"], e["type"], e["description"]) for e in events[:3]] == [
        (3, b"Stimulus", b"S  1"), (57, b"Response", b"R  2"), (130, b"Comment", b"hello")]
    assert dev.gap_count == 0 and inputs["signals"].gap_count == 0


def test_int16_blocks_are_scaled_to_microvolts(run_node):
    """Int16 data blocks (the Recorder's port 51234) are multiplied by each channel's resolution."""
    signal = 2 * known_signal()
    with RDAServer(nb_channel=4, block_points=25, data_type="int16", resolutions=RESOLUTIONS,
                   signal=signal) as server:
        dev, inputs = run_node(server, outputs=("signals",))
        chunks, _ = collect(inputs, 100)
        dev.stop()
    assert all(data.dtype == np.float32 for _, data in chunks)
    for index, data in chunks:
        np.testing.assert_array_equal(data, signal[np.arange(index - len(data), index) % len(signal)])


def test_dropped_block_is_a_counted_gap(run_node):
    """A missing block number is counted and logged; the signals index skips exactly its samples
    and the samples around it keep their true positions."""
    signal = known_signal()
    with RDAServer(nb_channel=4, block_points=10, resolutions=RESOLUTIONS, signal=signal,
                   drop_blocks=[4, 9, 10], markers=[(95, "Stimulus", "S  9")]) as server:
        dev, inputs = run_node(server)
        chunks, events = collect(inputs, 150)
        dev.stop()
    indexes = [index for index, _ in chunks]
    assert 40 not in indexes and 90 not in indexes and 100 not in indexes
    assert indexes[:5] == [10, 20, 30, 50, 60]
    assert dev.gap_count == 2 and dev.lost_blocks == 3 and dev.lost_samples == 30
    assert inputs["signals"].gap_count == 2 and inputs["signals"].lost_samples == 30
    for index, data in chunks:
        np.testing.assert_array_equal(data, signal[np.arange(index - len(data), index) % len(signal)])
    assert events is None or 95 not in events["index"]


def test_unreachable_server_fails_at_configure():
    """configure() on a port where nothing listens raises ConnectionError naming host and port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dev = BrainAmpSocket(name="nowhere")
    with pytest.raises(ConnectionError, match=rf"'nowhere'.*RDA server .* at 127\.0\.0\.1:{port}"):
        dev.configure(brainamp_host="127.0.0.1", brainamp_port=port)
    dev.close()


def test_server_not_speaking_rda_is_refused():
    """A server whose first message has a wrong GUID is rejected at configure."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)

    def serve():
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            conn.recv(1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    dev = BrainAmpSocket(name="web")
    try:
        with pytest.raises(ConnectionError, match="bad RDA GUID"):
            dev.configure(brainamp_host="127.0.0.1", brainamp_port=listener.getsockname()[1])
    finally:
        dev.close()
        thread.join(timeout=10)
        listener.close()


def test_runs_in_a_spawned_nodegroup_created_by_name(spawned_nodegroup):
    """A BrainAmpSocket created by name in a Manager's spawned NodeGroup streams the server's
    signals, exact, to a receiver in this process."""
    with RDAServer(nb_channel=3, block_points=10, signal=known_signal(400, 3)) as server:
        dev = spawned_nodegroup.create_node("BrainAmpSocket", name="remote-amp")
        dev.configure(brainamp_host="127.0.0.1", brainamp_port=server.port)
        indexes, data, params = spawned_nodegroup.stream(dev, "signals", 100)
    assert indexes[0] == 10 and np.all(np.diff(indexes) == 10)
    assert params["nb_channel"] == 3
    np.testing.assert_array_equal(data, np.resize(known_signal(400, 3), data.shape))


def test_lost_connection_makes_the_node_failed(run_node):
    """The Recorder going away while the node runs makes it 'failed' (not running), with a
    ConnectionError naming the server in node.error; stop() and close() still work."""
    server = RDAServer(nb_channel=4, block_points=10, resolutions=RESOLUTIONS, signal=known_signal())
    with server:
        dev, inputs = run_node(server, outputs=("signals",))
        collect(inputs, 50)
        server.close()
        assert wait_until(dev.failed, 10.0)
    assert not dev.running()
    assert isinstance(dev.error, ConnectionError)
    assert f"acquisition from 127.0.0.1:{server.port} ended" in dev.error_message()
    dev.stop()
    assert dev.initialized() and not dev.failed()
