"""Several real processes: reentrant calls, proxies crossing processes, Qt, start-up."""
import subprocess
import sys

import pytest
from pyacq.core.rpc import ObjectProxy, RemoteCallException, RPCClient, RPCServer


def test_reentrant_ping_pong_seven_deep(spawn):
    """A calls B calls A ... 7 levels deep without deadlock (each server keeps serving)."""
    a, b = spawn(name="A"), spawn(name="B")
    ping = a.client._import("rpc_test_helpers").PingPong("A")
    pong = b.client._import("rpc_test_helpers").PingPong("B")
    ping.set_peer(pong)
    pong.set_peer(ping)
    assert ping.bounce(7, _timeout=30) == ["A", "B"] * 4


def test_reentrant_callback_into_this_process(child, lazy_server):
    """A child calling back a local object while we wait for it is served here."""
    calls = []

    def callback(x):
        calls.append(x)
        return x * 2

    calc = child.client._import("rpc_test_helpers").Calculator()
    assert calc.call(callback, 21) == 42
    assert calls == [21]


def test_proxy_passed_to_third_process(spawn):
    """A proxy to an object in B, handed to C, works in C; handed back to B it is unwrapped."""
    b, c = spawn(name="B"), spawn(name="C")
    b_obj = b.client._import("rpc_test_helpers").Calculator()
    c_calc = c.client._import("rpc_test_helpers").Calculator()
    assert c_calc.call(b_obj.add, 2, 3) == 5
    assert c_calc.type_name(b_obj) == "ObjectProxy"
    b_calc = b.client._import("rpc_test_helpers").Calculator()
    assert b_calc.type_name(b_obj) == "Calculator"
    assert b_calc.is_same(b_obj, b_obj)


def test_proxy_returning_to_its_owner_is_unwrapped(child, lazy_server):
    """A local object sent as a proxy comes back as the very same object."""
    obj = object()
    calc = child.client._import("rpc_test_helpers").Calculator()
    assert calc.identity(obj) is obj


def test_params_come_back_as_plain_values(child):
    """proxy.params._get_value() (a dict of plain values) arrives as a dict, as
    InputStream.connect needs."""
    calc = child.client._import("rpc_test_helpers").Calculator()
    params = calc.params._get_value()
    assert type(params) is dict and params["shape"] == [2, 3]


def test_local_client_reaches_own_server(lazy_server):
    """get_client() of our own server is None; local_client() talks to it reentrantly."""
    assert RPCClient.get_client(lazy_server.address) is None
    lazy_server["answer"] = 42
    assert RPCServer.local_client()["answer"] == 42
    proxy = lazy_server.get_proxy([1, 2])
    assert lazy_server.unwrap_proxy(proxy) == [1, 2]
    assert proxy._get_value() == [1, 2]


def test_one_server_per_thread(lazy_server):
    """A second server cannot be registered in the same thread."""
    other = RPCServer()
    try:
        with pytest.raises(RuntimeError, match="only one server per thread"):
            other.run_lazy()
    finally:
        other.close()


def test_qt_server_creates_widget_in_gui_thread(spawn):
    """With qt=True, requests run in the child's GUI (main) thread: widgets work there."""
    proc = spawn(name="qt-child", qt=True)
    helpers = proc.client._import("rpc_test_helpers")
    assert helpers.current_thread_is_main()
    qtwidgets = proc.client._import("PyQt5.QtWidgets")
    widget = qtwidgets.QWidget()
    widget.setWindowTitle("remote")
    widget.show()
    assert widget.isVisible() and widget.windowTitle() == "remote"
    app = qtwidgets.QApplication.instance()
    assert isinstance(app, ObjectProxy)
    assert widget.thread() == app.thread()
    widget.close()
    proc.stop()
    assert proc.wait(timeout=20) == 0


def test_startup_error_raised_with_child_traceback(spawn):
    """An error while the child starts is raised here with the child's traceback."""
    with pytest.raises(RemoteCallException) as info:
        spawn(address="tcp://127.0.0.1:notaport")
    text = str(info.value)
    assert "Error while starting child process" in text and "bind" in text


def test_startup_error_of_executable(spawn, tmp_path):
    """A child that dies before reporting is reported with its exit code."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(RuntimeError, match="exited with code 3"):
        spawn(executable=str(fake))


def test_a_proxy_made_by_hand_in_a_fresh_process_reaches_its_server(child):
    """In a new interpreter, a proxy built from its documented fields with
    ``pyacq.core.rpc.ObjectProxy`` (no client made first) reaches the server: the proxy
    finds, through ``connections``, the client class it needs."""
    published = child.client["self"]
    script = ("import sys\n"
              "from pyacq.core.rpc import ObjectProxy\n"
              "server = ObjectProxy(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))\n"
              "print(server.address._get_value())\n")
    result = subprocess.run([sys.executable, "-c", script, child.address,
                             str(published._obj_id), str(published._ref_id)],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == child.address
