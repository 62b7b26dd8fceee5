"""The ZeroMQ socket an InputStream receives on, and its connection handshake.

Connecting returns only when the publisher is known to deliver every later
message to this socket:

* given the OutputStream itself (or an RPC proxy to it), the subscriber
  announces a unique token and asks the output to confirm it has registered
  the subscription (:meth:`OutputStream.confirm_subscription`), which also
  tells the exact stream position at that moment;
* given only the output's ``params``, it waits for the transport handshake,
  and the publisher registers the subscription before its next send.
"""
import os
import time

import zmq
import zmq.utils.monitor

from ..rpc.connection_check import check_connections
from ..rpc.socket_watch import SocketWatch
from .errors import StreamConnectionError
from .publisher import TOKEN_TOPIC, live_inproc_urls, stream_context

#: Seconds to wait for an OutputStream to answer a new connection.
CONNECT_TIMEOUT = 20.0

_HANDSHAKE_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)


def _check_inproc(url):
    if url.startswith("inproc://") and url not in live_inproc_urls:
        raise StreamConnectionError(
            f"inproc stream {url} is not open in this process: it was closed, or it "
            "lives in another process (inproc only works between threads of one "
            "process; configure the output with protocol='tcp' or 'ipc')"
        )


class StreamSubscriber:
    """SUB socket connected to ``url``.

    ``confirm`` is the output's ``confirm_subscription`` (a bound method or a
    proxy to it) or None; :attr:`position` is what it returned
    (``{'index', 'epoch'}`` at the moment the subscription took effect).
    """

    def __init__(self, url, confirm=None, timeout=None):
        _check_inproc(url)
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self.url = url
        self.position = None
        self.socket = stream_context().socket(zmq.SUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        # A connection the publisher's side forgot during a network cut is replaced, so
        # that the stream resumes (the chunks sent meanwhile are counted as lost).
        check_connections(self.socket, url)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            if confirm is not None:
                self._connect_confirmed(confirm, timeout)
            else:
                self._connect_unconfirmed(timeout)
        except BaseException:
            self.close()
            raise

    def _connect_confirmed(self, confirm, timeout):
        token = os.urandom(16)
        topic = TOKEN_TOPIC + token
        self.socket.setsockopt(zmq.SUBSCRIBE, topic)
        self.socket.connect(self.url)
        self.position = confirm(token.hex(), timeout)
        self.socket.setsockopt(zmq.UNSUBSCRIBE, topic)

    def _connect_unconfirmed(self, timeout):
        if self.url.startswith("inproc://"):
            self.socket.connect(self.url)
            live_inproc_urls[self.url].join_pending = True
            return
        monitor = SocketWatch(self.socket, zmq.EVENT_HANDSHAKE_SUCCEEDED | _HANDSHAKE_FAILED)
        try:
            self.socket.connect(self.url)
            deadline = time.monotonic() + timeout
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not monitor.poll(int(remaining * 1000) + 1):
                    raise StreamConnectionError(
                        f"no OutputStream answered at {self.url} within {timeout} s"
                    )
                event = zmq.utils.monitor.recv_monitor_message(monitor.reader)["event"]
                if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    return
                if event & _HANDSHAKE_FAILED:
                    raise StreamConnectionError(f"handshake with {self.url} failed")
        finally:
            monitor.stop()

    def close(self):
        """Close the SUB socket; calling it again does nothing."""
        if self.socket is not None:
            self.socket.close()
            self.socket = None
