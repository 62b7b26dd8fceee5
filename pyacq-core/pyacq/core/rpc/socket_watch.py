"""Socket monitors that can never stall ZeroMQ's I/O thread.

libzmq hands every monitor event to an inproc PAIR socket with a *blocking* send made by
its I/O thread. ``Socket.get_monitor_socket`` of pyzmq reads that PAIR with the default
high-water mark of 1000 messages, so a monitor left unread for a while (a client idle while
its server is gone retries ten times a second; a refused client fails a handshake as often)
blocks the I/O thread for good, and with it every socket of the process's context: replies,
streams and new connections all stop, and every wait ends in a timeout. Closing the reader
while its socket is still monitored does the same at the next event. Its default address
also derives from the socket's file descriptor, which a later socket may reuse.

:class:`SocketWatch` reads the events through a PAIR without high-water mark, on an address
of its own, and stops the monitor before that PAIR closes, also when its owner is garbage
collected (whatever order the collector finalizes the sockets in).
"""
import os
import weakref

import zmq
from zmq.utils.monitor import recv_monitor_message


def _stop(sock, reader):
    if not sock.closed:
        sock.disable_monitor()
    reader.close(linger=0)


class SocketWatch:
    """The monitor events *events* (``zmq.EVENT_*`` flags) of *sock*, read from :attr:`reader`.

    *owner* is the object whose garbage collection stops the watch (the watch itself if
    None). Call :meth:`stop` before closing *sock*: libzmq may still emit events while it
    closes the socket.
    """

    def __init__(self, sock, events, owner=None):
        address = f"inproc://pyacq-monitor-{os.urandom(8).hex()}"
        sock.monitor(address, events)
        reader = sock.context.socket(zmq.PAIR)
        reader.setsockopt(zmq.RCVHWM, 0)  # no mark: the I/O thread's send never blocks
        reader.setsockopt(zmq.LINGER, 0)
        reader.connect(address)
        #: The PAIR socket the events arrive on (register it in a poller to wait for them).
        self.reader = reader
        self._stop = weakref.finalize(self if owner is None else owner, _stop, sock, reader)

    @property
    def active(self):
        """True until :meth:`stop`."""
        return self._stop.alive

    def poll(self, timeout=0):
        """True once an event waits (within *timeout* milliseconds); False if stopped."""
        return self._stop.alive and bool(self.reader.poll(timeout))

    def pending(self):
        """Yield each event already waiting, as ``{'event', 'value', 'endpoint'}``."""
        reader = self.reader
        while self._stop.alive and reader.poll(0):
            yield recv_monitor_message(reader)

    def stop(self):
        """Stop monitoring and close the reader (no-op if already stopped)."""
        self._stop()
