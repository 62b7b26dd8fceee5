"""pyacq.core.rpc behaviours that pyacq 2.0 scripts rely on, used the way such a script does."""
import subprocess
import sys
import threading
import time

import pytest
from process_checks import wait_until
from pyacq.core.rpc import RPCClient

#: Run in a fresh interpreter: a lazy server answers requests until one sets 'done', then
#: the script ends without closing it.
LAZY_SERVER_SCRIPT = """
import sys, time
from pyacq.core.rpc import RPCServer
server = RPCServer()
server.run_lazy()
server["done"] = False
print(server.address, flush=True)
deadline = time.monotonic() + 60
while not server["done"] and time.monotonic() < deadline:
    server._process_available()
    time.sleep(0.005)
"""


def test_every_server_publishes_itself_as_self(spawn):
    """client['self'] is a proxy to the server: its address is the one we reach it at."""
    proc = spawn(name="selfish")
    server = proc.client["self"]
    assert server.address._get_value() == proc.address and server.running()


def test_a_host_made_next_to_a_running_server_is_reachable_by_the_manager(spawn, manager):
    """A Host created in a process that already serves RPC publishes itself as 'host', so
    Manager.get_host(address) connects to it and it creates NodeGroups."""
    proc = spawn(name="hand-made-host")
    made = proc.client._import("pyacq.core.host").Host("hand-made")
    try:
        host = manager.get_host(proc.address)
        assert host.name._get_value() == "hand-made"
        nodegroup = manager.create_nodegroup(name="via-hand-made-host", host=host, qt=False)
        assert "ChunkResizer" in nodegroup.list_node_types()
        assert made.list_nodegroups() == ["via-hand-made-host"]
    finally:
        made.close()
        proc.close()  # the manager fixture checks that no process it saw start is left


def test_close_server_leaves_the_client_disconnected(spawn):
    """Once close_server() returns True the caller's client is disconnected(), and a call
    through it says so at once."""
    proc = spawn(name="closing")
    client = proc.client
    assert client.close_server() is True and client.disconnected()
    with pytest.raises(RuntimeError, match="has disconnected"):
        client.ping()


def test_other_clients_see_the_notice_without_a_call(spawn):
    """A client of another thread sees disconnected() once the server's notice arrived,
    without making a new call."""
    proc = spawn(name="noticed")
    seen = {}
    pinged, closed = threading.Event(), threading.Event()

    def other_thread():
        client = RPCClient.get_client(proc.address)
        client.ping()
        pinged.set()
        closed.wait(30)
        seen["disconnected"] = wait_until(client.disconnected, 10.0, 0.02)
        client.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert pinged.wait(30)
    proc.client.close_server()
    closed.set()
    thread.join(30)
    assert seen == {"disconnected": True}


def test_a_server_whose_loop_ends_without_close_still_notifies(spawn):
    """A request that makes the server's loop end (sys.exit in the served process) still
    sends its clients the 'disconnect' notice."""
    proc = spawn(name="exiting")
    proc.client._import("sys").exit(0, _sync="off")
    assert wait_until(proc.client.disconnected, 10.0, 0.02)
    assert proc.wait(timeout=20) == 0


def test_a_process_ending_without_closing_its_server_notifies(tmp_path):
    """A script whose lazy server is still open when the interpreter exits tells its clients."""
    script = subprocess.Popen([sys.executable, "-c", LAZY_SERVER_SCRIPT], stdout=subprocess.PIPE,
                              text=True)
    client = None
    try:
        address = script.stdout.readline().strip()
        client = RPCClient(address)
        assert client.ping() == "pong"
        client["done"] = True
        assert script.wait(timeout=30) == 0
        assert wait_until(client.disconnected, 10.0, 0.02)
    finally:
        script.kill()
        script.wait(timeout=30)
        script.stdout.close()
        if client is not None:
            client.close()


def test_setting_an_attribute_does_not_wait(calc):
    """proxy.attr = value returns while the server is still busy; later calls see the value
    (requests stay in order), and a failing assignment leaves the proxy usable."""
    busy = calc.sleep(1.0, _sync="async")
    start = time.monotonic()
    calc.value = 42
    assert time.monotonic() - start < 0.5
    assert busy.result(timeout=10) == 1.0 and calc.value._get_value() == 42
    calc.add.bogus = 1  # a bound method takes no attribute: the server logs the error
    assert calc.add(1, 2) == 3


def test_small_names_scripts_read(child):
    """RPCClient.serializer.type, RPCClient.clients_by_thread, RPCClient.default_proxy_options,
    RPCLogHandler.flush_records() and serializer.HAVE_MSGPACK exist and say what they mean."""
    from pyacq.core.rpc.log import RPCLogHandler
    from pyacq.core.rpc.serializer import HAVE_MSGPACK
    client = child.client
    assert client.serializer.type == "msgpack" and HAVE_MSGPACK is True
    assert RPCClient.clients_by_thread[(threading.get_ident(), child.address)] is client
    options = RPCClient.default_proxy_options
    assert options["timeout"] == 10.0 and options["sync"] == "sync"
    with pytest.raises(TypeError):
        options["timeout"] = 1.0
    handler = RPCLogHandler()
    handler.flush_records()
    handler.close()


def test_deferred_attributes_resolve_on_use(calc):
    """With defer_getattr, proxy.some.attr costs no round trip; _get_value() and _undefer()
    resolve it, a method path is called in one request, and a missing attribute surfaces at
    the first real use."""
    from pyacq.core.rpc import ObjectProxy, RemoteCallException
    calc._set_proxy_options(defer_getattr=True)
    try:
        deferred = calc.array.dtype.name
        assert isinstance(deferred, ObjectProxy)
        assert deferred._get_value() == "float32" and deferred._undefer() == "float32"
        assert isinstance(calc.child._undefer(), ObjectProxy)
        assert calc.add(2, 3) == 5
        missing = calc.no_such_attribute
        with pytest.raises(RemoteCallException) as info:
            missing._undefer()
        assert info.value.type_str == "AttributeError" and "no_such_attribute" in str(info.value)
    finally:
        calc._set_proxy_options(defer_getattr=None)
