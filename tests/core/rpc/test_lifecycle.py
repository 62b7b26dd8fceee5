"""Closing, killing and dying: servers, clients and spawned processes."""
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pyacq
import pytest
from process_checks import assert_gone, pid_alive, wait_until
from pyacq.core.rpc import RPCClient


def test_stop_wait_poll(spawn):
    """stop() closes the child's server; the child then exits with code 0."""
    proc = spawn()
    assert proc.poll() is None
    proc.stop()
    assert proc.wait(timeout=20) == 0
    assert proc.poll() == 0
    assert proc.close() == 0


def test_wait_times_out(spawn):
    """wait(timeout) raises TimeoutError while the child runs."""
    proc = spawn()
    with pytest.raises(TimeoutError):
        proc.wait(timeout=0.1)


def test_server_killed(spawn):
    """Calls to a killed server time out with TimeoutError; closing afterwards is prompt."""
    proc = spawn()
    calc = proc.client._import("rpc_test_helpers").Calculator()
    calc._set_proxy_options(timeout=0.3)
    proc.kill()
    assert proc.wait(timeout=20) == -signal.SIGKILL
    with pytest.raises(TimeoutError):
        calc.add(1, 2)
    with pytest.raises(TimeoutError):
        proc.client.ensure_connection(timeout=0.3)


def test_close_server_disconnects_every_client(spawn):
    """close_server() tells all clients; later calls raise a clear 'disconnected' error."""
    proc = spawn()
    calc = proc.client._import("rpc_test_helpers").Calculator()
    other_thread_result = {}

    def close_from_other_thread():
        other = RPCClient.get_client(proc.address)
        other_thread_result["closed"] = other.close_server()
        other.close()

    thread = threading.Thread(target=close_from_other_thread)
    thread.start()
    thread.join(20)
    assert other_thread_result == {"closed": True}
    with pytest.raises(RuntimeError, match="disconnected"):
        calc.add(1, 2, _timeout=20)
    assert proc.client.disconnected()
    with pytest.raises(RuntimeError, match="disconnected"):
        calc.add(1, 2)
    assert proc.client.close_server() is True
    assert proc.wait(timeout=20) == 0


def test_client_killed_server_keeps_serving(spawn):
    """A client process killed mid-call does not disturb the server."""
    server = spawn(name="server")
    client_proc = spawn(name="client")
    remote_rpc = client_proc.client._import("pyacq.core.rpc")
    remote_client = remote_rpc.RPCClient.get_client(server.address)
    remote_calc = remote_client._import("rpc_test_helpers").Calculator()
    remote_calc.sleep(0.5, _sync="off")
    client_proc.kill()
    assert client_proc.wait(timeout=20) == -signal.SIGKILL
    assert server.client.ping() == "pong"
    assert server.client._import("rpc_test_helpers").Calculator().add(1, 1) == 2


PARENT_SCRIPT = textwrap.dedent("""
    import sys, threading
    from pyacq.core.rpc import ProcessSpawner
    holder = {}
    if sys.argv[1] == "thread":
        t = threading.Thread(target=lambda: holder.setdefault("p", ProcessSpawner()))
        t.start()
        t.join(60)
        proc = holder["p"]
        # The spawning thread has ended: the child must still be alive and serving.
        proc.client.ping(timeout=20)
    else:
        proc = ProcessSpawner()
    print(proc.pid, flush=True)
    sys.stdin.read()
""")


@pytest.mark.parametrize("spawned_from", ["main", "thread"])
def test_no_orphan_after_parent_sigkill(spawned_from):
    """A spawned child dies when its parent is SIGKILLed (spawner in main or other thread)."""
    env = dict(os.environ)
    search = [os.path.dirname(p) for p in pyacq.__path__]
    env["PYTHONPATH"] = os.pathsep.join(search + [env.get("PYTHONPATH", "")])
    parent = subprocess.Popen([sys.executable, "-c", PARENT_SCRIPT, spawned_from],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), f"parent did not report a child pid: {line!r}"
        child_pid = int(line)
        assert pid_alive(child_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait(20)
        assert_gone(child_pid, timeout=20)
    finally:
        parent.kill()
        parent.wait(20)
        parent.stdin.close()
        parent.stdout.close()


def test_spawner_close_is_idempotent_and_reaps(spawn):
    """close() ends the child and may be called again."""
    proc = spawn()
    pid = proc.pid
    assert proc.close() == 0
    assert proc.close() == 0
    assert wait_until(lambda: not pid_alive(pid))
