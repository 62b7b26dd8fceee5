"""Telling a dead server (its port refuses connections) from a live or unknown one."""
import socket
import time

from pyacq.core.distributed._port_probe import refuses_connections


def test_a_listening_port_is_not_dead_and_a_closed_one_is():
    """A port something listens on is not reported dead, even after the patience runs out;
    once the listener closes, the same port is reported dead at once; an ipc address (no
    port to look at) is never reported dead."""
    listener = socket.create_server(("127.0.0.1", 0))
    address = f"tcp://127.0.0.1:{listener.getsockname()[1]}"
    try:
        start = time.monotonic()
        assert refuses_connections(address, 0.2) is False
        waited = time.monotonic() - start
        print(f"\nport probe: a live port is looked at for {waited * 1000:.0f} ms", flush=True)
        assert waited >= 0.2
    finally:
        listener.close()
    start = time.monotonic()
    assert refuses_connections(address, 5.0) is True
    assert time.monotonic() - start < 1.0
    assert refuses_connections("ipc:///tmp/nothing-here", 1.0) is False
