"""The ZeroMQ context and socket settings shared by every RPC socket."""
import zmq

# Linger bounds how long closing a socket may wait for unsent messages
# (milliseconds): long enough to deliver a final reply, short enough that a dead
# peer never blocks shutdown.
SOCKET_LINGER_MS = 500


def get_context():
    """Return the process-wide ZeroMQ context (created on first use, not at import)."""
    return zmq.Context.instance()


def make_socket(kind):
    """Create a socket with the options every RPC socket needs.

    High-water marks are unlimited because ZeroMQ silently drops ROUTER messages
    past the mark: a lost reply would leave its caller waiting for nothing.
    """
    sock = get_context().socket(kind)
    sock.setsockopt(zmq.LINGER, SOCKET_LINGER_MS)
    sock.setsockopt(zmq.SNDHWM, 0)
    sock.setsockopt(zmq.RCVHWM, 0)
    return sock
