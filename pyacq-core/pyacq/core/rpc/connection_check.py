"""ZMTP heartbeats that make a socket notice a connection its peer no longer has.

A TCP connection survives a network cut: what was sent is retransmitted once
the link is back. But when the other side forgot the connection meanwhile (its
host aborted it, a firewall or NAT dropped it), the side that only waits (an
InputStream's SUB socket, an RPC client between calls) holds it open forever
and nothing ever arrives again. A socket pinging its peer notices: the ping is
answered by a reset, or not at all, and ZeroMQ drops the connection and
reconnects.
"""
import zmq

#: A checked socket pings its peer this often (ms) ...
HEARTBEAT_INTERVAL_MS = 1000
#: ... and drops the connection, then reconnects, when no answer came for this long (ms).
#: Longer than the outages TCP rides out losing nothing (a link cut for a few seconds, a
#: peer process stopped for a few seconds); the pings are answered by libzmq's I/O thread,
#: so a peer busy in a long call answers them.
HEARTBEAT_TIMEOUT_MS = 10_000


def check_connections(sock: zmq.Socket, address: str) -> None:
    """Make *sock*, about to connect to *address*, ping its peers (nothing for inproc)."""
    if not address.startswith("inproc://"):
        sock.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_INTERVAL_MS)
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
