"""Telling a dead server from a slow one, after a connection to it dropped.

A process that dies (killed, crashed) has its sockets closed by the kernel: its peers
see their connections drop, and its listening port then refuses new connections. A
server that is only slow, stopped (SIGSTOP) or behind a congested network keeps its
port: the kernel still accepts connections there. So a port that refuses connections
is the sign, on any machine that is up, that the server behind it is gone.
"""
import socket
import time

#: Seconds one connection attempt may take before the answer counts as "unknown".
PROBE_TIMEOUT = 0.5

#: Seconds between two connection attempts.
PROBE_INTERVAL = 0.02


def refuses_connections(address: str, patience: float) -> bool:
    """True if the TCP port of *address* (``tcp://IP:PORT``) refuses connections within
    *patience* seconds: no server listens there any more.

    Asked when a connection to it dropped, which a dying process does a moment before it
    closes its listening socket, hence the *patience*. False if it keeps accepting, if
    *address* is not TCP, or if an attempt takes longer than ``PROBE_TIMEOUT`` (a slow
    network is not a dead server).
    """
    if not address.startswith("tcp://"):
        return False
    ip, port = address[len("tcp://"):].rsplit(":", 1)
    try:
        target = (ip.strip("[]"), int(port))
    except ValueError:
        return False
    deadline = time.monotonic() + patience
    while True:
        try:
            with socket.create_connection(target, timeout=PROBE_TIMEOUT):
                pass
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
        if time.monotonic() >= deadline:
            return False
        time.sleep(PROBE_INTERVAL)
