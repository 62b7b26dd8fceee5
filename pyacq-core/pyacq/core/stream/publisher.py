"""The ZeroMQ socket an OutputStream publishes on.

An XPUB socket (a PUB that also reports subscriptions) bound with the
requested protocol. Reporting subscriptions is what closes ZeroMQ's
"slow joiner" gap, where a PUB drops what it sends before a new reader's
subscription has reached it:

* an InputStream given the OutputStream subscribes with a unique token, and
  :meth:`StreamPublisher.wait_for_token` returns only once the publisher has
  registered that subscription;
* an InputStream given only the params returns from connect() once its
  transport handshake is done, which implies the publisher has *accepted*
  the connection. The publisher counts accepted connections (a socket
  monitor) and subscriptions, and before each send waits for the
  subscriptions still in flight (:meth:`StreamPublisher.drain`).

A tcp publisher of a process that runs a protected RPC server is a CURVE
server with that server's keys and authorized clients (see
``pyacq.core.rpc.curve.stream_authentication``): :attr:`StreamPublisher.server_key`
is then the key readers need, and a refused subscriber receives nothing.
ipc and inproc publishers stay plain: only local users reach them.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket as pysocket
import tempfile
import time
import weakref

import zmq
import zmq.utils.monitor

from ..rpc import curve
from ..rpc.socket_watch import SocketWatch
from .errors import StreamConnectionError

protocols = ("tcp", "ipc", "inproc")

#: Prefix of the one-off subscription topic a subscriber uses to announce itself.
TOKEN_TOPIC = b"\x00pyacq-subscriber:"

#: inproc addresses bound in this process, so a reader can tell a closed or
#: foreign-process inproc stream from a slow one.
live_inproc_urls: weakref.WeakValueDictionary[str, StreamPublisher] = weakref.WeakValueDictionary()

logger = logging.getLogger(__name__)

#: Longest a send waits for the subscription of a connection already accepted (seconds).
SUBSCRIPTION_WAIT = 1.0

_SUBSCRIBE_ALL = b"\x01"
_EVENTS, _POLLIN = int(zmq.EVENTS), int(zmq.POLLIN)
_HANDSHAKE_FAILED = (
    zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
    | zmq.EVENT_HANDSHAKE_FAILED_AUTH
)
#: Failed handshakes the ZAP authenticator does not see (and so does not log).
_FAILED_BEFORE_AUTHENTICATION = zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
_WILDCARD_INTERFACES = ("*", "0.0.0.0", "", "::")
_PUBLISHER_LINGER_MS = 1000


def stream_context():
    """The process-wide ZeroMQ context all streams share (inproc needs one context)."""
    return zmq.Context.instance()


def _advertised_host():
    """Address other hosts can reach us on, for streams bound to every interface.

    Connecting a UDP socket sends nothing; it only makes the kernel pick the
    interface of the default route.
    """
    probe = pysocket.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


class StreamPublisher:
    """XPUB socket bound on ``protocol``; ``url`` is the address readers connect to.

    *owner* names the stream in the log lines of a CURVE publisher; *authenticate*
    False keeps a tcp publisher plain even in a protected process (for senders whose
    socket carries only indexes into shared memory).
    """

    def __init__(self, protocol, interface="127.0.0.1", port="*", owner="OutputStream",
                 authenticate=True):
        if protocol not in protocols:
            raise ValueError(f"unknown stream protocol {protocol!r}; choose one of {list(protocols)}")
        self.protocol = protocol
        self.owner = owner
        self._authenticate = authenticate
        #: The CURVE side of a protected tcp publisher, else None.
        self.authentication = None
        self._tokens = set()
        self._ipc_dir = None
        self._monitor = None
        self._accepted = 0
        self._subscribed = 0
        self.join_pending = False
        self.socket = stream_context().socket(zmq.XPUB)
        self.socket.setsockopt(zmq.LINGER, _PUBLISHER_LINGER_MS)
        self.socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        try:
            if protocol != "inproc":
                self._monitor = SocketWatch(self.socket, zmq.EVENT_ACCEPTED | _HANDSHAKE_FAILED,
                                            owner=self)
            self.url = getattr(self, f"_bind_{protocol}")(interface, port)
        except BaseException:
            self.close()
            raise

    def _bind_tcp(self, interface, port):
        interface = "127.0.0.1" if interface is None else str(interface)
        port = "*" if port in (None, "", 0, "0") else str(port)
        if self._authenticate:
            self.authentication = curve.stream_authentication(self.owner)
        if self.authentication is not None:
            self.authentication.secure(self.socket)
        try:
            self.socket.bind(f"tcp://{'*' if interface in _WILDCARD_INTERFACES else interface}:{port}")
        except zmq.ZMQError as exc:
            raise StreamConnectionError(
                f"cannot bind a tcp stream on interface {interface!r}, port {port!r}: {exc}"
            ) from None
        bound_port = self.socket.getsockopt_string(zmq.LAST_ENDPOINT).rsplit(":", 1)[1]
        host = _advertised_host() if interface in _WILDCARD_INTERFACES else interface
        url = f"tcp://{host}:{bound_port}"
        if self.authentication is not None:
            self.authentication.url = url
        return url

    @property
    def server_key(self):
        """The CURVE public key (40 Z85 characters) readers must expect, or None (plain)."""
        return None if self.authentication is None else self.authentication.server_key

    @property
    def refused_subscribers(self):
        """How many subscriber handshakes this publisher refused (0 for a plain one)."""
        return 0 if self.authentication is None else self.authentication.refusals

    def _bind_ipc(self, interface, port):
        self._ipc_dir = tempfile.mkdtemp(prefix=f"pyacq-stream-{os.getpid()}-")
        url = "ipc://" + os.path.join(self._ipc_dir, "stream.ipc")
        self.socket.bind(url)
        return url

    def _bind_inproc(self, interface, port):
        url = f"inproc://pyacq-stream-{os.urandom(8).hex()}"
        self.socket.bind(url)
        live_inproc_urls[url] = self
        return url

    def drain(self):
        """Before a send: register new readers, waiting for subscriptions still in flight.

        tcp/ipc: a cheap check of the connection monitor; only when a
        connection was accepted whose subscription has not been seen are the
        subscription notices read (which also makes ZeroMQ attach the new
        reader now rather than at its next throttled check). inproc: readers
        in this process raise :attr:`join_pending` after connecting.
        """
        if self._monitor is not None:
            self._read_monitor()
            if self._accepted > self._subscribed:
                self._read_notices()
                if self._accepted > self._subscribed:
                    self._await_subscriptions()
        elif self.join_pending:
            self.join_pending = False
            self._read_notices()

    def _read_monitor(self):
        if self._monitor is None:
            return
        monitor = self._monitor.reader
        while monitor.get(_EVENTS) & _POLLIN:
            event = zmq.utils.monitor.recv_monitor_message(monitor)["event"]
            self._accepted += 1 if event == zmq.EVENT_ACCEPTED else -1
            if event & _FAILED_BEFORE_AUTHENTICATION and self.authentication is not None:
                self.authentication.refused(None, None)

    def _read_notices(self):
        sock = self.socket
        while sock.get(_EVENTS) & _POLLIN:
            notice = sock.recv()
            if notice == _SUBSCRIBE_ALL:
                self._subscribed += 1
            elif notice[:1] == b"\x01" and notice[1:].startswith(TOKEN_TOPIC):
                self._tokens.add(notice[1 + len(TOKEN_TOPIC):])

    def _await_subscriptions(self):
        poller = zmq.Poller()
        poller.register(self.socket, zmq.POLLIN)
        poller.register(self._monitor.reader, zmq.POLLIN)
        deadline = time.monotonic() + SUBSCRIPTION_WAIT
        while self._accepted > self._subscribed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                logger.warning(
                    "%s: %d accepted connection(s) never subscribed within %s s",
                    self.url, self._accepted - self._subscribed, SUBSCRIPTION_WAIT,
                )
                self._subscribed = self._accepted
                return
            poller.poll(remaining * 1000)
            self._read_monitor()
            self._read_notices()

    def has_readers(self):
        """True if a reader connected or subscribed since the socket was bound (one that left counts)."""
        self._read_monitor()
        self._read_notices()
        return bool(self._accepted > 0 or self._subscribed > 0 or self.join_pending or self._tokens)

    def wait_for_token(self, token, timeout):
        """Return True once the subscriber announcing ``token`` is registered, False on timeout.

        Polls in short slices so that the caller may release a lock between
        them; see :meth:`OutputStream.confirm_subscription`.
        """
        self._read_monitor()
        self._read_notices()
        if token in self._tokens:
            self._tokens.discard(token)
            return True
        self.socket.poll(timeout=max(0, int(timeout * 1000)))
        self._read_monitor()
        self._read_notices()
        found = token in self._tokens
        self._tokens.discard(token)
        return found

    def close(self):
        """Close the socket and remove the ipc socket file and its directory."""
        if self._monitor is not None:
            self._monitor.stop()
            self._monitor = None
        if self.socket is not None:
            self.socket.close()
            self.socket = None
        if self.authentication is not None:
            self.authentication.close()
        if self._ipc_dir is not None:
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            self._ipc_dir = None

