"""The ZeroMQ socket an InputStream receives on, and its connection handshake.

Connecting returns only when the publisher is known to deliver every later
message to this socket:

* given the OutputStream itself (or an RPC proxy to it), the subscriber
  announces a unique token and asks the output to confirm it has registered
  the subscription (:meth:`OutputStream.confirm_subscription`), which also
  tells the exact stream position at that moment;
* given only the output's ``params``, it waits for the transport handshake,
  and the publisher registers the subscription before its next send.

When the params carry a ``server_key`` (the publisher requires CURVE), the
subscriber presents this process's client certificate and waits for the
handshake in both cases, so that a refusal raises at once, naming the key.
"""
import os
import time

import zmq
import zmq.utils.monitor

from ..rpc import curve
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
    ``server_key`` is the publisher's CURVE key from its params, or None (plain).
    """

    def __init__(self, url, confirm=None, timeout=None, server_key=None):
        _check_inproc(url)
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        self.url = url
        self.position = None
        #: The publisher's key and the client key presented to it (text) under CURVE, else None.
        self.server_key = self.client_key = None
        self.socket = stream_context().socket(zmq.SUB)
        self.socket.setsockopt(zmq.LINGER, 0)
        # A connection the publisher's side forgot during a network cut is replaced, so
        # that the stream resumes (the chunks sent meanwhile are counted as lost).
        check_connections(self.socket, url)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        try:
            if server_key is not None:
                self._present_certificate(server_key)
            if confirm is not None:
                self._connect_confirmed(confirm, timeout, handshake=server_key is not None)
            else:
                self._connect_unconfirmed(timeout)
        except BaseException:
            self.close()
            raise

    def _present_certificate(self, server_key):
        if not curve.is_key_text(server_key):
            raise StreamConnectionError(
                f"the params of the stream at {self.url} give server_key {server_key!r}, which "
                f"is not a CURVE key ({curve.Z85_KEY_LENGTH} Z85 characters)")
        own = curve.client_certificate()
        if own is None:
            raise StreamConnectionError(
                f"the OutputStream at {self.url} requires authentication (ZeroMQ CURVE), and this "
                "process has no client certificate: call pyacq.core.rpc.curve."
                "set_client_certificate(path to NAME.key_secret), or create the Manager with "
                "create_manager(client_certificate=...)")
        self.socket.curve_serverkey = server_key.encode("ascii")
        self.server_key = server_key
        self.socket.curve_publickey, self.socket.curve_secretkey = own
        self.client_key = own[0].decode("ascii")

    def _connect_confirmed(self, confirm, timeout, handshake):
        token = os.urandom(16)
        topic = TOKEN_TOPIC + token
        self.socket.setsockopt(zmq.SUBSCRIBE, topic)
        if handshake:
            self._connect_with_handshake(timeout)
        else:
            self.socket.connect(self.url)
        self.position = confirm(token.hex(), timeout)
        self.socket.setsockopt(zmq.UNSUBSCRIBE, topic)

    def _connect_unconfirmed(self, timeout):
        if self.url.startswith("inproc://"):
            self.socket.connect(self.url)
            live_inproc_urls[self.url].join_pending = True
            return
        self._connect_with_handshake(timeout)

    def _connect_with_handshake(self, timeout):
        """Connect and return once the transport (and CURVE) handshake succeeded."""
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
                message = zmq.utils.monitor.recv_monitor_message(monitor.reader)
                event = message["event"]
                if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                    return
                if event & _HANDSHAKE_FAILED:
                    raise StreamConnectionError(self._handshake_failure(event, message["value"]))
        finally:
            monitor.stop()

    def _handshake_failure(self, event, value):
        """The error message for a failed handshake with the publisher."""
        if self.client_key is None:
            return f"handshake with {self.url} failed"
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            return (f"the OutputStream at {self.url} refused this process's CURVE key "
                    f"{self.client_key} (status {value}): add its public certificate (NAME.key) "
                    "to the authorized keys of the process that owns the stream (for a NodeGroup "
                    "of a Host: the authorized/ directory of the Host's --curve-dir)")
        return (f"the CURVE handshake with the OutputStream at {self.url} failed: the server_key "
                f"of its params ({self.server_key}) is not the stream's, or "
                "the stream does not require authentication")

    def close(self):
        """Close the SUB socket; calling it again does nothing."""
        if self.socket is not None:
            self.socket.close()
            self.socket = None
