"""A new RPC server bound at the address of one that closed is reached by a fresh client.

Ephemeral ports are reused: a Manager process spawned late in a test run may bind the
port of a server an earlier test closed, while this thread still holds the client
that received that server's 'disconnect' notice.
"""
import socket
import threading

import pytest
from process_checks import wait_until


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _ServerThread:
    """An RPCServer serving in its own thread at a given address."""

    def __init__(self, address):
        from pyacq.core.rpc import RPCServer
        self.server = RPCServer(address)
        self.thread = threading.Thread(target=self.server.run_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.close()
        self.thread.join(10)
        assert not self.thread.is_alive()


def _port_is_free(address):
    """True once nothing listens at *address* (ZeroMQ closes a listener in the background)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", int(address.rsplit(":", 1)[1])))
        except OSError:
            return False
    return True


def _closed_server_client(address):
    """A client of this thread that a server at *address* served, then told it closed; returns
    once the address is free for a new server."""
    from pyacq.core.rpc import RPCClient
    first = _ServerThread(address)
    client = RPCClient.get_client(address)
    assert client.ping(timeout=10) == "pong"
    first.close()
    assert wait_until(lambda: _port_is_free(address), timeout=10)
    return client


def test_get_client_replaces_a_client_whose_server_closed():
    """After a server closed (its notice read), get_client() returns a new client, and a
    new server at the same address answers it; the old client still says it disconnected."""
    from pyacq.core.rpc import RPCClient
    address = f"tcp://127.0.0.1:{_free_port()}"
    old = _closed_server_client(address)
    assert wait_until(lambda: old._read_replies() or old._disconnected, timeout=10)
    second = _ServerThread(address)
    try:
        client = RPCClient.get_client(address)
        assert client is not old
        assert client.ping(timeout=10) == "pong"
        with pytest.raises(RuntimeError, match="disconnected"):
            old.ping(timeout=1)
    finally:
        RPCClient.get_client(address).close()
        old.close()
        second.close()


def test_unread_disconnect_notice_does_not_fail_the_next_server():
    """A 'disconnect' notice still waiting unread in the old client's socket when a new
    server binds the address does not make the first call to the new server fail."""
    import zmq
    from pyacq.core.rpc import RPCClient
    address = f"tcp://127.0.0.1:{_free_port()}"
    old = _closed_server_client(address)
    assert wait_until(lambda: old._socket.getsockopt(zmq.EVENTS) & zmq.POLLIN, timeout=10)
    assert not old._disconnected  # the notice is there, unread
    second = _ServerThread(address)
    try:
        assert RPCClient.get_client(address).ping(timeout=10) == "pong"
    finally:
        RPCClient.get_client(address).close()
        old.close()
        second.close()


def test_process_spawner_at_the_address_of_a_closed_server(spawn):
    """ProcessSpawner starts (ensure_connection succeeds) when its child binds the address of
    a server that closed before, whose client this thread still holds."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    old = _closed_server_client(address)
    assert wait_until(lambda: old._read_replies() or old._disconnected, timeout=10)
    try:
        proc = spawn(name="reused-port", address=address)
        assert proc.address == address
        assert proc.client.ping(timeout=10) == "pong"
    finally:
        old.close()
