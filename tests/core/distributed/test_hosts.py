"""Host servers: `python -m pyacq.core.host`, and a real second host in a network namespace."""
import os
import shutil
import subprocess

import numpy as np
import pytest
from host_servers import start_host_server, stop_host_server
from process_checks import assert_all_gone, descendants, wait_until
from pyacq.core.stream import InputStream


def test_host_server_serves_nodegroups_and_closes_them_on_ctrl_c(manager):
    """A Manager adds a `python -m pyacq.core.host` server and spawns a NodeGroup there; Ctrl-C
    on the server closes that NodeGroup and the server exits with status 0."""
    proc, address = start_host_server("tcp://127.0.0.1:*")
    try:
        host = manager.add_host(address)
        assert manager.get_host(address) == host
        assert len(manager.list_hosts()) == 1
        group = manager.create_nodegroup(name="on-server", host=address, qt=False)
        assert host.list_nodegroups() == ["on-server"]
        assert group.create_node("SineGenerator").closed() is False
        pids = descendants(proc.pid)
        assert pids
    finally:
        code = stop_host_server(proc)
    assert code == 0
    assert_all_gone(pids)
    assert wait_until(lambda: "on-server" in manager.list_dead_nodegroups() or
                      "on-server" not in manager.describe_nodegroups(), 10)


def test_host_address_is_checked():
    """A wildcard or malformed address is refused with an error saying what to give."""
    from pyacq.core.host import check_host_address
    with pytest.raises(ValueError, match="IP of the interface"):
        check_host_address("tcp://0.0.0.0:5000")
    with pytest.raises(ValueError, match="tcp://IP:PORT"):
        check_host_address("127.0.0.1:5000")
    assert check_host_address("tcp://10.1.2.3:5000") == "tcp://10.1.2.3:5000"


NETNS = f"pyacqtest{os.getpid()}"
OUTSIDE_IP, INSIDE_IP = "10.213.77.1", "10.213.77.2"


def _ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=True)


@pytest.fixture
def network_namespace():
    """A network namespace reachable at INSIDE_IP over a veth pair (removed afterwards)."""
    if shutil.which("ip") is None:
        pytest.skip("the `ip` command (iproute2) is missing: cannot create a network namespace")
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root (ip netns add)")
    veth = f"pq{os.getpid() % 100000}"
    try:
        _ip("netns", "add", NETNS)
        _ip("link", "add", f"{veth}a", "type", "veth", "peer", "name", f"{veth}b")
        _ip("link", "set", f"{veth}b", "netns", NETNS)
        _ip("addr", "add", f"{OUTSIDE_IP}/30", "dev", f"{veth}a")
        _ip("link", "set", f"{veth}a", "up")
        _ip("-n", NETNS, "addr", "add", f"{INSIDE_IP}/30", "dev", f"{veth}b")
        _ip("-n", NETNS, "link", "set", f"{veth}b", "up")
        _ip("-n", NETNS, "link", "set", "lo", "up")
    except subprocess.CalledProcessError as exc:
        subprocess.run(["ip", "netns", "del", NETNS], check=False, capture_output=True, timeout=30)
        pytest.skip(f"cannot set up a network namespace here: {exc.stderr.strip()}")
    yield ["ip", "netns", "exec", NETNS]
    subprocess.run(["ip", "link", "del", f"{veth}a"], check=False, capture_output=True, timeout=30)
    subprocess.run(["ip", "netns", "del", NETNS], capture_output=True, timeout=30, check=True)


def test_second_host_in_network_namespace(manager, network_namespace, log_records):
    """A Host served inside another network namespace (another machine as far as the network
    goes) runs NodeGroups driven from here: a device there streams to a NodeGroup on a second
    Host here and on to this process, bit-exactly; its processes' output reaches our log server."""
    remote_proc, remote_addr = start_host_server(f"tcp://{INSIDE_IP}:*", prefix=network_namespace)
    local_proc, local_addr = start_host_server(f"tcp://{OUTSIDE_IP}:*")
    try:
        remote_group = manager.create_nodegroup(name="far", host=manager.add_host(remote_addr), qt=False)
        near_group = manager.create_nodegroup(name="near", host=local_addr, qt=False)
        assert remote_group._rpc_addr.startswith(f"tcp://{INSIDE_IP}:")
        buffer = (np.arange(800, dtype="float32").reshape(400, 2) * 1.5)
        dev = remote_group.create_node("NumpyDeviceBuffer", name="far_dev")
        dev.configure(nb_channel=2, sample_interval=0.0005, chunksize=40, buffer=buffer)
        dev.output.configure(protocol="tcp", interface=INSIDE_IP, transfermode="plaindata")
        dev.initialize()
        near_group.register_node_type_from_module("pyacq.core.streamconverter", "StreamConverter")
        conv = near_group.create_node("StreamConverter")
        conv.configure()
        conv.input.connect(dev.output)
        conv.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        conv.initialize()
        receiver = InputStream()
        receiver.connect(conv.output)
        try:
            manager.start_all()
            chunks = []
            while sum(map(len, chunks)) < 1000:
                assert receiver.poll(10000)
                chunks.append(np.array(receiver.recv()[1]))
            manager.stop_all()
        finally:
            receiver.close()
        data = np.concatenate(chunks)
        assert data.tobytes() == np.concatenate([buffer] * 3)[:len(data)].tobytes()
        from pyacq.core.rpc import RPCClient
        RPCClient.get_client(remote_group._rpc_addr)._import("builtins").print("hello from far", flush=True)
        assert wait_until(lambda: any(r.getMessage() == "hello from far" and r.process_name == "far"
                                      for r in log_records), 20)
        pids = descendants(local_proc.pid)
    finally:
        manager.close()
        remote_code = stop_host_server(remote_proc)
        local_code = stop_host_server(local_proc)
    assert (remote_code, local_code) == (0, 0)
    assert_all_gone(pids)


def test_host_spawn_starts_a_host_in_a_child_process():
    """Host.spawn(name), as pyacq 2.0 scripts use it: a Host in a child process, reached
    by proxy, that creates NodeGroups of its own; it is among Host.spawners, and closing
    the parent Host ends it and its NodeGroups, leaving no process behind."""
    from pyacq.core.host import Host
    before = descendants(os.getpid())
    host = Host("parent")
    spawner, child = host.spawn("child-host")
    try:
        assert child.name == "child-host" and spawner in host.spawners
        assert spawner.client._import("os").getpid() == spawner.pid != os.getpid()
        nodegroup = child.create_nodegroup(name="grandchild", qt=False)
        assert nodegroup.list_node_types() and child.list_nodegroups() == ["grandchild"]
        started = descendants(os.getpid()) - before
        assert spawner.pid in started and len(started) >= 2
    finally:
        host.close()
    assert host.spawners == [] and spawner.poll() is not None
    assert_all_gone(started)
