"""SocketWatch: socket monitor events that never stall ZeroMQ's I/O thread."""
import gc
import socket
import time

import zmq
from process_checks import wait_until
from pyacq.core.rpc.socket_watch import SocketWatch

#: Unread events that stall libzmq's I/O thread behind a monitor reader with the default
#: high-water mark (1000 messages): the watch must hold well more than this.
UNREAD_EVENTS = 3000


def closed_port():
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def retrying_socket(context, port):
    """A DEALER retrying a connection to *port* every millisecond."""
    sock = context.socket(zmq.DEALER)
    sock.setsockopt(zmq.RECONNECT_IVL, 1)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(f"tcp://127.0.0.1:{port}")
    return sock


def test_unread_events_do_not_stall_other_sockets():
    """A watch nobody reads, on a socket retrying a dead port thousands of times, leaves the
    context's I/O thread free: a second retrying socket keeps reporting, and a message
    between two other sockets of the context is delivered."""
    context = zmq.Context.instance()
    port = closed_port()
    unread_socket = retrying_socket(context, port)
    unread = SocketWatch(unread_socket, zmq.EVENT_CONNECT_RETRIED)
    counted_socket = context.socket(zmq.DEALER)
    counted_socket.setsockopt(zmq.LINGER, 0)
    counted_socket.setsockopt(zmq.RECONNECT_IVL, 1)
    counted = SocketWatch(counted_socket, zmq.EVENT_CONNECT_RETRIED)
    counted_socket.connect(f"tcp://127.0.0.1:{port}")
    unread_socket.connect(f"tcp://127.0.0.1:{port}")
    seen = [0]

    def enough_retries():
        seen[0] += sum(1 for _ in counted.pending())
        return seen[0] >= UNREAD_EVENTS

    receiver = context.socket(zmq.PAIR)
    sender = context.socket(zmq.PAIR)
    try:
        assert wait_until(enough_retries, 120.0, 0.05), f"only {seen[0]} retries reported"
        receiver_port = receiver.bind_to_random_port("tcp://127.0.0.1")
        sender.connect(f"tcp://127.0.0.1:{receiver_port}")
        sender.send(b"still moving")
        assert receiver.poll(10_000), "the I/O thread stalled behind the unread monitor"
        assert receiver.recv() == b"still moving"
        assert unread.poll(0), "the unread watch holds its events"
    finally:
        for watch in (unread, counted):
            watch.stop()
        for sock in (unread_socket, counted_socket, receiver, sender):
            sock.close(linger=0)


def test_stop_closes_the_reader_and_is_idempotent():
    """stop() stops monitoring and closes the reader; a second stop() does nothing."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    watch = SocketWatch(sock, zmq.EVENT_CONNECT_RETRIED)
    assert watch.active
    watch.stop()
    watch.stop()
    assert not watch.active and watch.reader.closed and not watch.poll(0)
    assert list(watch.pending()) == []
    sock.close(linger=0)


class Owner:
    """Holds a socket and its watch in a reference cycle, as an RPC client does."""

    def __init__(self, sock):
        self.socket = sock
        self.watch = SocketWatch(sock, zmq.EVENT_HANDSHAKE_SUCCEEDED, owner=self)
        self.cycle = self


def test_collecting_the_owner_stops_the_watch_first():
    """When the owner is garbage collected, the watch stops (reader closed) while its socket
    is still open, which libzmq needs to never send an event to a closed reader."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    owner = Owner(sock)
    reader = owner.watch.reader
    del owner
    gc.collect()
    assert reader.closed and not sock.closed
    start = time.monotonic()
    sock.close(linger=0)
    assert time.monotonic() - start < 1.0
