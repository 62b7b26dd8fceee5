"""Remote nodes created by name in spawned NodeGroups, and streams between processes."""
import numpy as np
import pytest
from process_checks import wait_until
from pyacq.core.rpc import Future, RemoteCallException, RPCClient
from pyacq.core.stream import InputStream

SAMPLE_RATE = 2000.0
CHUNK = 50


def receive(input_stream, n_samples, timeout_ms=10000):
    """Receive chunks until *n_samples* samples arrived; return them and the chunk indexes."""
    chunks, indexes, received = [], [], 0
    while received < n_samples:
        assert input_stream.poll(timeout_ms), f"no chunk within {timeout_ms} ms"
        index, data = input_stream.recv(return_data=True)
        chunks.append(np.array(data))
        indexes.append(index)
        received += len(data)
    return np.concatenate(chunks), indexes


def looped(buffer, n_samples):
    """The first *n_samples* samples a NumpyDeviceBuffer playing *buffer* sends."""
    reps = -(-n_samples // len(buffer))
    return np.concatenate([buffer] * reps)[:n_samples]


def make_device(nodegroup_or_class, buffer, transfermode="plaindata"):
    """A configured, initialized NumpyDeviceBuffer (local class or created in a NodeGroup)."""
    if isinstance(nodegroup_or_class, type):
        dev = nodegroup_or_class(name="local_dev")
    else:
        dev = nodegroup_or_class.create_node("NumpyDeviceBuffer", name="dev")
    dev.configure(nb_channel=buffer.shape[1], sample_interval=1 / SAMPLE_RATE, chunksize=CHUNK,
                  buffer=buffer)
    extra = {"buffer_size": 20000} if transfermode == "sharedmem" else {}
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode=transfermode, **extra)
    dev.initialize()
    return dev


@pytest.fixture
def signal():
    rng = np.random.default_rng(7)
    return (rng.standard_normal((1000, 4)) * 100).astype("float32")


def test_plugin_node_created_by_name_in_fresh_nodegroup(manager):
    """The example plugin's SineGenerator (entry point only, no registration call) is created
    by name in a freshly spawned NodeGroup, and its stream reaches this process."""
    nodegroup = manager.create_nodegroup(name="plugins", qt=False)
    assert {"SineGenerator", "NumpyDeviceBuffer"} <= set(nodegroup.list_node_types())
    sine = nodegroup.create_node("SineGenerator", name="sine")
    sine.configure(nb_channel=3, sample_rate=1000.0, chunksize=100, frequency=5.0)
    sine.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    sine.initialize()
    receiver = InputStream()
    receiver.connect(sine.output)
    try:
        manager.start_all()
        assert nodegroup.any_node_running()
        data, _ = receive(receiver, 300)
        manager.stop_all()
        assert not nodegroup.any_node_running()
    finally:
        receiver.close()
    t = np.arange(300)[:, None] / 1000.0
    expected = np.sin(2 * np.pi * np.array([5.0, 10.0, 15.0]) * t).astype("float32")
    np.testing.assert_allclose(data, expected, atol=1e-5)


def test_seed_scenario_device_processing_receiver_bit_exact(manager, signal):
    """A device in one NodeGroup, a processing node (registered from its module) in another,
    a receiver here: every sample arrives bit-exactly, in order, without gaps."""
    acquisition = manager.create_nodegroup(name="acquisition", qt=False)
    processing = manager.create_nodegroup(name="processing", qt=False)
    processing.register_node_type_from_module("pyacq.core.streamconverter", "StreamConverter")
    assert "StreamConverter" in processing.list_node_types()
    dev = make_device(acquisition, signal, transfermode="plaindata")
    conv = processing.create_node("StreamConverter", name="conv")
    conv.configure()
    conv.input.connect(dev.output)
    conv.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="sharedmem",
                          buffer_size=20000)
    conv.initialize()
    receiver = InputStream()
    receiver.connect(conv.output)
    try:
        manager.start_all()
        data, indexes = receive(receiver, 2500)
        manager.stop_all()
        assert receiver.gap_count == 0
    finally:
        receiver.close()
    assert data.tobytes() == looped(signal, len(data)).tobytes()
    assert indexes[0] == CHUNK and np.all(np.diff(indexes) == CHUNK)


def test_local_to_remote_and_within_one_nodegroup(manager, signal):
    """A local device streams to a remote node (local->remote), which feeds another node of its
    own NodeGroup (connected there directly), which streams back here (remote->local)."""
    from pyacq.devices.npbufferdevice import NumpyDeviceBuffer
    nodegroup = manager.create_nodegroup(name="workers", qt=False)
    nodegroup.register_node_type_from_module("pyacq.core.streamconverter", "StreamConverter")
    dev = make_device(NumpyDeviceBuffer, signal)
    first = nodegroup.create_node("StreamConverter", name="first")
    first.configure()
    first.input.connect(dev.output)
    first.output.configure(protocol="ipc", transfermode="plaindata")
    first.initialize()
    second = nodegroup.create_node("StreamConverter", name="second")
    second.configure()
    second.input.connect(first.output)
    second.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    second.initialize()
    receiver = InputStream()
    receiver.connect(second.output)
    try:
        nodegroup.start_all_nodes()
        dev.start()
        data, _ = receive(receiver, 1500)
        dev.stop()
        nodegroup.stop_all_nodes()
    finally:
        receiver.close()
        dev.close()
    assert data.tobytes() == looped(signal, len(data)).tobytes()


def test_remote_node_lifecycle_errors_and_async_calls(manager, signal):
    """A remote node is driven like a local one: `_sync='async'` returns a Future, a lifecycle
    error is raised here naming the node, and a running node cannot be removed."""
    nodegroup = manager.create_nodegroup(name="lifecycle", qt=False)
    dev = nodegroup.create_node("NumpyDeviceBuffer", name="amp")
    future = dev.configure(nb_channel=4, sample_interval=0.001, chunksize=10, buffer=signal,
                           _sync="async")
    assert isinstance(future, Future)
    assert future.result(timeout=10) is None
    assert dev.configured()
    with pytest.raises(RemoteCallException, match="NumpyDeviceBuffer node 'amp'.*start"):
        dev.start()
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    dev.start()
    with pytest.raises(RemoteCallException, match="cannot remove a running node"):
        nodegroup.remove_node(dev)
    dev.stop()
    nodegroup.remove_node(dev)
    assert dev.closed()
    assert nodegroup.list_nodes() == []
    with pytest.raises(RemoteCallException, match="unknown node type 'NoSuchNode'"):
        nodegroup.create_node("NoSuchNode")


def test_manager_create_node_places_nodes(manager):
    """create_node() with no host uses the default NodeGroup; with host=NodeGroup it uses that
    one; both are real processes listed by the Manager with their pids."""
    worker = manager.create_nodegroup(name="worker", qt=False)
    in_default = manager.create_node("SineGenerator", name="a")
    in_worker = manager.create_node("SineGenerator", host=worker, name="b")
    default = manager.default_nodegroup
    assert [n.name for n in default.list_nodes()] == ["a"]
    assert [n.name for n in worker.list_nodes()] == ["b"]
    assert in_default.name == "a" and in_worker.name == "b"
    table = manager.describe_nodegroups()
    assert set(table) == {"worker", "default_nodegroup"}
    assert all(info["alive"] and info["pid"] for info in table.values())
    assert len({info["pid"] for info in table.values()}) == 2
    assert len(manager.list_hosts()) == 1
    assert len(manager.list_nodegroups()) == 2


def test_nodes_made_by_the_manager_stay_usable(manager):
    """Proxies returned by manager.create_node() keep working after the Manager creates more
    nodes in the same NodeGroup (they share the Manager's reference, which it keeps); a
    NodeGroup a Host created directly may be given as host=; the Manager is published
    under the name 'manager' in its process, for clients that ask for it by name."""
    first = manager.create_node("SineGenerator", name="first")
    for name in ("second", "third"):
        manager.create_node("SineGenerator", name=name)
    first.configure(sample_rate=1000.0, chunksize=10)
    assert first.name == "first" and first.configured()
    host = manager.list_hosts()[0]
    direct = host.create_nodegroup("made-by-host", qt=False)
    node = manager.create_node("SineGenerator", host=direct, name="on-direct")
    assert [n.name for n in direct.list_nodes()] == ["on-direct"] and node.name == "on-direct"
    host.close_nodegroup("made-by-host")
    published = RPCClient.get_client(manager._rpc_addr)["manager"]
    assert published == manager


def test_qt_nodegroup_hosts_widget_nodes(manager):
    """A NodeGroup created with qt=True runs a QApplication: a widget node lives and shows there."""
    nodegroup = manager.create_nodegroup(name="gui", qt=True)
    nodegroup.register_node_type_from_module("distributed_helpers", "ProbeWidget")
    widget = nodegroup.create_node("ProbeWidget", name="probe")
    widget.configure(title="remote probe")
    widget.show()
    assert widget.isVisible()
    assert widget.windowTitle() == "remote probe"
    widget.initialize()
    nodegroup.remove_node(widget)


def test_logs_and_stdout_of_nodegroups_reach_the_log_server(manager, log_records):
    """What a NodeGroup process prints arrives at this process's log server, labelled with the
    NodeGroup's process name."""
    from pyacq.core.rpc import RPCClient
    nodegroup = manager.create_nodegroup(name="chatty", qt=False)
    remote_print = RPCClient.get_client(nodegroup._rpc_addr)._import("builtins").print
    remote_print("hello from the chatty NodeGroup", flush=True)
    assert wait_until(lambda: any(r.getMessage() == "hello from the chatty NodeGroup"
                                  and getattr(r, "process_name", None) == "chatty"
                                  for r in log_records), 20)
    assert manager.get_logger_info()["log_addr"].startswith("tcp://127.0.0.1:")
