"""A call to a server whose process died fails at once, naming the process and how it died."""
import signal
import threading
import time

import pytest
from pyacq.core.rpc.errors import RemoteProcessDied

#: A call to a dead process must fail well before the 10 s default timeout.
PROMPT = 2.0


def test_call_after_the_process_was_killed_fails_at_once(spawn):
    """After SIGKILL, a call on a proxy to the child raises RemoteProcessDied (also a
    TimeoutError and a RuntimeError) within PROMPT seconds, naming the process, its pid,
    its address and the signal; later calls fail the same way without waiting."""
    proc = spawn(name="doomed")
    calc = proc.client._import("rpc_test_helpers").Calculator()
    proc.kill()
    assert proc.wait(timeout=20) == -signal.SIGKILL
    start = time.monotonic()
    with pytest.raises(RemoteProcessDied) as caught:
        calc.add(1, 2, _timeout=10)
    assert time.monotonic() - start < PROMPT
    message = str(caught.value)
    for part in ("'doomed'", str(proc.pid), proc.address, "SIGKILL"):
        assert part in message
    assert isinstance(caught.value, TimeoutError) and isinstance(caught.value, RuntimeError)
    start = time.monotonic()
    with pytest.raises(RemoteProcessDied):
        calc.add(1, 2, _timeout=10)
    assert time.monotonic() - start < 0.5


def test_process_dying_during_a_call_fails_the_call_at_once(spawn):
    """A process that exits while serving a call makes that call raise RemoteProcessDied
    with its exit code within PROMPT seconds, not after the call's timeout."""
    proc = spawn(name="quitter")
    remote_os = proc.client._import("os")
    start = time.monotonic()
    with pytest.raises(RemoteProcessDied, match="exit code 3"):
        remote_os._exit(3, _timeout=30)
    assert time.monotonic() - start < PROMPT


def test_a_live_server_that_is_slow_still_answers(spawn):
    """Watching the connection does not disturb a long call to a live server."""
    proc = spawn()
    calc = proc.client._import("rpc_test_helpers").Calculator()
    assert calc.sleep(0.5, _timeout=10) == 0.5
    assert proc.client.dead() is None


def test_first_call_of_a_thread_to_a_process_already_dead_fails_at_once(spawn):
    """A thread that never talked to the child calls it after the child was killed: its new
    client never gets a connection, and the call raises RemoteProcessDied within PROMPT s."""
    proc = spawn(name="gone-before")
    calc = proc.client._import("rpc_test_helpers").Calculator()
    proc.kill()
    assert proc.wait(timeout=20) == -signal.SIGKILL
    outcome = {}

    def call_from_a_new_thread():
        start = time.monotonic()
        try:
            calc.add(1, 2, _timeout=10)
        except Exception as exc:  # noqa: BLE001 -- the test asserts on what was raised
            outcome["error"] = exc
        outcome["seconds"] = time.monotonic() - start

    thread = threading.Thread(target=call_from_a_new_thread)
    thread.start()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert isinstance(outcome["error"], RemoteProcessDied), outcome
    assert "'gone-before'" in str(outcome["error"]) and outcome["seconds"] < PROMPT


def test_a_request_that_cannot_be_handed_to_zeromq_fails_after_a_bound(monkeypatch):
    """A request to a server whose endpoint is gone for good (an inproc server that closed
    before this client ever reached it) fails with ConnectionError naming the address after
    SEND_TIMEOUT_MS, instead of blocking its thread forever in the send. ZeroMQ tears the
    connection down asynchronously: a request sent before it has may still be swallowed
    (a TimeoutError), so the test asks until the send itself is refused."""
    from pyacq.core.rpc import client as client_module
    from pyacq.core.rpc.client import RPCClient
    from pyacq.core.rpc.server import RPCServer
    monkeypatch.setattr(client_module, "SEND_TIMEOUT_MS", 200)
    server = RPCServer(address="inproc://pyacq-test-send-bound")
    client = RPCClient(server.address)
    server.close()
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping(timeout=0.5)
            except TimeoutError:
                assert time.monotonic() < deadline, "the send was never refused"
                continue
            except ConnectionError as exc:
                assert "inproc://pyacq-test-send-bound: the 'ping' request could not be sent " \
                       "within 0.2 s" in str(exc)
                break
            pytest.fail("a closed inproc server answered a ping")
    finally:
        client.close()
