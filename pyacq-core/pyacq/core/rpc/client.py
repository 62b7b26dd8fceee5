"""RPCClient: sends requests to one RPCServer and collects its replies."""
from __future__ import annotations

import collections
import logging
import math
import os
import threading
import time
import weakref
from typing import Any

import zmq

from . import connections, curve, protocol, server_deaths, server_registry
from .connection_check import check_connections
from .context import make_socket
from .errors import RemoteCallException, RemoteProcessDied
from .frames import has_message, recv_frames, send_frames
from .future import Future, SyncReply
from .malloc_tuning import keep_large_buffers_mapped
from .proxy import DEFAULT_PROXY_OPTIONS, ObjectProxy
from .remote_reference import RemoteReference
from .serializer import all_serializers
from .socket_watch import SocketWatch

# ObjectProxy is loaded from here (see rpc/__init__), so that a proxy made by hand finds
# the connector this module installs in ``connections``.
__all__ = ["ObjectProxy", "RPCClient"]

logger = logging.getLogger(__name__)

#: Milliseconds a call waits on its reply alone (the fastest wait) before it also watches
#: the connection, so that a server process dying during a longer call is noticed at once.
FAST_WAIT_MS = 50

#: Milliseconds a request may wait to be handed to ZeroMQ. It never waits while a connection
#: to the server exists (no high-water mark); it would wait forever, without this bound,
#: once the server's endpoint is gone for good (an inproc server that closed).
SEND_TIMEOUT_MS = 10_000

#: Socket monitor events that tell whether the connection to the server is up. Failed
#: connection attempts are not watched: a client idle while its server is gone would
#: collect ten such events a second.
_LINK_EVENTS = zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED

# The frames naming an action and a return type, encoded once.
_ACTION_FRAMES = {name: name.encode() for name in protocol.ACTIONS}
_RETURN_TYPE_FRAMES = {name: name.encode() for name in protocol.RETURN_TYPES}

class RPCClient:
    """Connection to one RPCServer, usable from the thread that created it.

    Requests follow the documented wire format (see ``protocol``). While waiting for
    a reply, a *reentrant* client also lets the RPCServer of its own thread (if
    any) serve requests, so that A calling B calling back A never deadlocks.
    Use ``RPCClient.get_client(address)`` to share one client per thread and
    address; proxies do so automatically.

    When a server key is known for *address* (``curve.add_server_key``, or
    learnt from a proxy), the client authenticates with ZeroMQ CURVE; a server
    that refuses the handshake makes the waiting call raise
    ``curve.AuthenticationError`` naming the address, within a second. A client
    without a key that hears from its server tells the keyring that the server
    there needs none (``curve.note_plain_server``), and a server that closed or
    died has what messages taught about it forgotten (``curve.forget_server``).

    When the connection drops (or cannot be made) while a call waits, the client asks the
    witnesses of ``server_deaths`` (a ProcessSpawner, a Manager) whether the server's
    process died; if so, that call and every later one raise ``RemoteProcessDied``
    naming the process and its exit code, instead of waiting for their timeout.

    Parameters
    ----------
    address : str
        The server's address (``tcp://host:port``, ``ipc://...``, ``inproc://...``).
        A thread has at most one client per address (KeyError otherwise).
    reentrant : bool, optional
        While waiting for a reply, let this thread's RPCServer serve requests
        (default True): needed when the server may call back into this thread.
    serializer : {'msgpack', 'json'}, optional
        The format of the requests. Default 'msgpack'; 'json' is the format a
        client written with only zmq and a JSON library speaks.
    """

    #: Every open client, as ``{(thread ident, address): client}``; read it, do not change it.
    clients_by_thread: weakref.WeakValueDictionary[tuple[int, str], RPCClient] = \
        weakref.WeakValueDictionary()

    #: The options a new proxy starts with (read-only; ``proxy._set_proxy_options()``
    #: changes one proxy's).
    default_proxy_options = DEFAULT_PROXY_OPTIONS

    #: The largest request, in bytes (body and out-of-band arrays), this client sends: what
    #: servers accept by default (``RPCServer.max_request_size``). A larger one is refused
    #: before it is sent, since the server would refuse it, or drop the connection of a
    #: client sending a frame above its limit without being able to answer.
    max_request_size = protocol.MAX_REQUEST_SIZE

    def __init__(self, address: str, reentrant: bool = True, serializer: str = "msgpack") -> None:
        if serializer not in all_serializers:
            known = ", ".join(all_serializers)
            raise ValueError(f"unknown serializer {serializer!r} (known: {known})")
        clients = connections.clients_of_this_thread()
        if address in clients:
            raise KeyError(f"this thread already has a client for {address}; use "
                           "RPCClient.get_client()")
        self.address = address
        self._reentrant = reentrant
        self._thread_id = threading.get_ident()
        self._serializer = all_serializers[serializer](client=self)
        #: The Serializer of this client's requests (its ``type`` is the format's name).
        self.serializer = self._serializer
        # Replies over inproc may share the sender's memory: never decode those in place.
        self._replies_owned = not address.startswith("inproc://")
        # Whether the server said it reads out-of-band frames (see protocol): until it
        # did, requests carry every array in line.
        self._server_reads_frames = False
        self._ser_type = serializer.encode()
        self._dumps = self._serializer.codec_dumps
        self._loads = self._serializer.codec_loads
        keep_large_buffers_mapped()
        self._socket = make_socket(zmq.DEALER)
        self._socket.setsockopt(zmq.SNDTIMEO, SEND_TIMEOUT_MS)
        self._socket.setsockopt(zmq.IDENTITY,
                                f"{os.getpid()}-{self._thread_id}-{os.urandom(6).hex()}".encode())
        # Between calls, a connection the server's side forgot during a network cut is
        # replaced, so that the first call after the cut is not lost on it.
        check_connections(self._socket, address)
        try:
            self._server_key, self._client_public = curve.secure_client_socket(self._socket, address)
        except curve.AuthenticationError:
            self._socket.close(linger=0)
            raise
        # Handshake failures are the only sign of a refused authentication, and a
        # connection that is down the first sign of a dead server: watch for them (read
        # only when a wait lasts longer than FAST_WAIT_MS, so quick replies pay nothing).
        self._watch = (None if address.startswith("inproc://") else SocketWatch(
            self._socket, curve.handshake_events() | _LINK_EVENTS, owner=self))
        self._handshakes = curve.HandshakeWatch(address, self._server_key)
        self._auth_failure = None
        # Until its first handshake succeeds, the connection is not up either: a server
        # that died before this client connected is asked about like a lost one.
        self._link_up = False
        self._witnesses_asked = False
        # Whether a message from the server was read (see process_msg).
        self._server_answered = False
        self._death: RemoteProcessDied | None = None
        self._socket.connect(address)
        self._futures: dict[int, Future | SyncReply] = {}
        self._next_req_id = 0
        self._closed = False
        self._disconnected = False
        self._pending_deletes: collections.deque[tuple[int, int]] = collections.deque()
        self._references: weakref.WeakValueDictionary[Any, RemoteReference] = \
            weakref.WeakValueDictionary()
        self._pollers: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
        self._remote_time: Any = None
        self._recv_timeout = -1
        clients[address] = self
        RPCClient.clients_by_thread[(self._thread_id, address)] = self

    @staticmethod
    def get_client(address: str) -> RPCClient | None:
        """Return this thread's client for *address*, creating it if needed.

        Returns None when *address* is the server running in this thread: use the
        local objects directly, or ``RPCServer.local_client()``.

        A client whose server announced that it closed, or whose server's process
        died, is never handed out again: ports are reused, and the next server bound
        at *address* is a new one that a fresh client reaches. Whoever still holds
        the old client (a proxy to an object of the closed server, a ProcessSpawner)
        keeps getting its "has disconnected" or RemoteProcessDied error.

        Parameters
        ----------
        address : str
            The server's address.
        """
        server = server_registry.get_server()
        if server is not None and server.address == address:
            return None
        clients = connections.clients_of_this_thread()
        client = clients.get(address)
        if client is not None and not client._closed and not client._futures:
            # A 'disconnect' notice may wait unread. Only read while no call waits: a
            # reply read here, outside the caller's wait, must not race its Future.
            client._read_replies()
        if client is not None and (client._disconnected or client._death is not None):
            clients.pop(address)
            client = None
        if client is not None and not client._closed and client._keys_outdated():
            client.close()
        if client is None or client._closed:
            connections.clients_of_this_thread().pop(address, None)
            client = RPCClient(address)
        return client

    def _keys_outdated(self):
        """True if this client was refused, or connected with other keys than the keyring's now
        (a server key learnt or changed, another client certificate): get_client replaces it."""
        if self._auth_failure is not None or self._server_key != curve.server_key(self.address):
            return True
        if self._server_key is None:
            return False
        own = curve.client_certificate()
        return own is None or own[0] != self._client_public

    # -- state ---------------------------------------------------------------

    def dead(self) -> RemoteProcessDied | None:
        """The RemoteProcessDied error of calls to this server once its process is known dead,
        else None."""
        return self._death

    def disconnected(self) -> bool:
        """True once the server announced that it closed (a notice waiting unread counts)."""
        if not self._disconnected and not self._closed and threading.get_ident() == self._thread_id:
            self._read_replies()
        return self._disconnected

    def _check_usable(self):
        if self._closed:
            raise RuntimeError(f"RPCClient for {self.address} is closed")
        if self._disconnected:
            raise RuntimeError(f"RPC server at {self.address} has disconnected")
        if self._death is not None:
            raise self._death
        if self._auth_failure is not None:
            raise self._auth_failure
        if threading.get_ident() != self._thread_id:
            raise RuntimeError(f"RPCClient for {self.address} belongs to another thread; use "
                               "RPCClient.get_client() in this thread")

    # -- sending -------------------------------------------------------------

    def send(self, action: str, opts: dict[str, Any] | None = None, return_type: str = "auto",
             sync: str = "sync", timeout: float | None = 10.0) -> Any:
        """Send a request to the server and return its result (see *sync*).

        *action* is one of ``protocol.ACTIONS``, *opts* the dict of options that action
        needs, *return_type* one of ``protocol.RETURN_TYPES`` (see ``protocol``).
        *sync* 'sync' waits at most *timeout* seconds (TimeoutError after); 'async'
        returns a Future; 'off' asks for no reply and returns None.

        Parameters
        ----------
        action : str
            One of ``protocol.ACTIONS``: 'call_obj', 'get_obj', 'get_item',
            'set_item', 'delete', 'import', 'ping', 'close'.
        opts : dict or None, optional
            The options the action needs (for 'call_obj': ``obj``, ``args``,
            ``kwargs``), serialized with this client's serializer. Default None.
        return_type : {'auto', 'proxy', 'value'}, optional
            How the result comes back: 'auto' (default) by value when it has a
            value form, else as a proxy; 'proxy' always a proxy; 'value' always a
            copy (an error if the result has none).
        sync : {'sync', 'async', 'off'}, optional
            'sync' (default) waits for the result; 'async' returns a
            :class:`~pyacq.core.rpc.future.Future` at once; 'off' asks for no reply
            and returns None (errors are then only logged by the server).
        timeout : float or None, optional
            Seconds a 'sync' call waits before TimeoutError. Default 10; None waits
            as long as it takes.
        """
        self._check_usable()
        protocol.check_call_options(sync, return_type)
        if self._pending_deletes:
            self._flush_deletes()
        return self._send(action, opts, return_type, sync, timeout)

    def _send(self, action, opts, return_type, sync, timeout):
        if sync == "off":
            req_id = protocol.NO_REPLY
        else:
            req_id = self._next_req_id
            self._next_req_id += 1
        buffers = [] if self._server_reads_frames else None
        frames = [b"%d" % req_id, _ACTION_FRAMES.get(action) or action.encode(),
                  _RETURN_TYPE_FRAMES[return_type],
                  self._ser_type, b"" if opts is None else self._dumps(opts, buffers)]
        if len(frames[-1]) > self.max_request_size or buffers:
            self._check_request_size(action, frames[-1], buffers)
        # Announce that we read out-of-band frames until the server said it does too;
        # then the extension frame only precedes the frames of a request that has some.
        if buffers is None or buffers:
            frames.append(protocol.EXTENSION)
        # Out-of-band arrays of a sync call are sent from the caller's memory (the call
        # returns once the server has read them); those of other calls, which the caller
        # may change as soon as we return, are copied.
        try:
            send_frames(self._socket, frames, buffers or (), copy_buffers=sync != "sync")
        except zmq.Again:
            raise ConnectionError(f"RPC client of {self.address}: the {action!r} request could not be "
                                  f"sent within {SEND_TIMEOUT_MS / 1000:g} s: no connection to the "
                                  "server exists (it closed, or its endpoint is gone)") from None
        if sync == "off":
            return None
        if sync == "async":
            future = self._futures[req_id] = Future(self, req_id)
            return future
        reply = self._futures[req_id] = SyncReply(req_id)
        self._wait_for_reply(req_id, timeout)
        return reply.result()

    def _check_request_size(self, action, body, buffers):
        """Raise ValueError if the request (*body* and out-of-band *buffers*) is larger
        than ``max_request_size``."""
        size = len(body) + sum(memoryview(buffer).nbytes for buffer in buffers or ())
        if size > self.max_request_size:
            raise ValueError(
                f"{action} request to {self.address} is {size} bytes, more than the "
                f"{self.max_request_size} bytes a server accepts (RPCClient.max_request_size): "
                "send the data in several calls, or raise max_request_size on both the "
                "RPCServer and the RPCClient")

    def _flush_deletes(self):
        pending = self._pending_deletes
        while pending:
            obj_id, ref_id = pending.popleft()
            self._send("delete", {"obj_id": obj_id, "ref_id": ref_id}, "auto", "off", None)

    def call_obj(self, obj: ObjectProxy, args: Any = None, kwargs: dict[str, Any] | None = None,
                 return_type: str = "auto", sync: str = "sync", timeout: float | None = 10.0) -> Any:
        """Call the remote callable *obj* (a proxy); the other arguments are ``send``'s.

        Parameters
        ----------
        obj : ObjectProxy
            The remote callable (a function, a method, a class).
        args : sequence, optional
            Its positional arguments. Default: none.
        kwargs : dict, optional
            Its keyword arguments. Default: none.
        return_type : {'auto', 'proxy', 'value'}, optional
            How the result comes back: 'auto' (default) by value when it has a
            value form, else as a proxy; 'proxy' always a proxy; 'value' always a
            copy (an error if the result has none).
        sync : {'sync', 'async', 'off'}, optional
            'sync' (default) waits for the result; 'async' returns a
            :class:`~pyacq.core.rpc.future.Future` at once; 'off' asks for no reply
            and returns None (errors are then only logged by the server).
        timeout : float or None, optional
            Seconds a 'sync' call waits before TimeoutError. Default 10; None waits
            as long as it takes.
        """
        # A proxy goes in its wire form, which the serializer would look up anyway.
        wire = obj._wire_form() if type(obj) is ObjectProxy else obj
        opts = {"obj": wire, "args": list(args) if args else [], "kwargs": kwargs or {}}
        return self.send("call_obj", opts, return_type, sync, timeout)

    def get_obj(self, obj: Any, **kwds: Any) -> Any:
        """Return the remote object referenced by the proxy *obj* (by value if possible).

        Parameters
        ----------
        obj : ObjectProxy
            A proxy to an object of this client's server.
        **kwds
            ``return_type``, ``sync`` and ``timeout``, as for :meth:`send`.
        """
        return self.send("get_obj", {"obj": obj}, **kwds)

    def transfer(self, obj: Any, **kwds: Any) -> Any:
        """Send *obj* to the server and return a proxy to the server's copy.

        Parameters
        ----------
        obj : object
            A value with a value form (numbers, strings, lists, dicts, arrays, ...).
        **kwds
            ``sync`` and ``timeout``, as for :meth:`send`; ``return_type``
            defaults to 'proxy' here.
        """
        kwds.setdefault("return_type", "proxy")
        return self.send("get_obj", {"obj": obj}, **kwds)

    def delete(self, obj: ObjectProxy, **kwds: Any) -> Any:
        """Release the server-side reference held by the proxy *obj*.

        Parameters
        ----------
        obj : ObjectProxy
            The proxy whose reference the server forgets; the object itself goes
            once no reference is left.
        **kwds
            ``return_type``, ``sync`` and ``timeout``, as for :meth:`send`.
        """
        return self.send("delete", {"obj_id": obj._obj_id, "ref_id": obj._ref_id}, **kwds)

    def _import(self, module: str, **kwds: Any) -> Any:
        """Import *module* in the server's process and return a proxy to it."""
        return self.send("import", {"module": module}, **kwds)

    def __getitem__(self, name: str) -> Any:
        """Return the object the server published as *name* (``server[name] = obj``)."""
        return self.send("get_item", {"name": name})

    def __setitem__(self, name: str, value: Any) -> None:
        """Publish *value* on the server under *name*."""
        self.send("set_item", {"name": name, "value": value})

    def ping(self, sync: str = "sync", **kwds: Any) -> Any:
        """Ask the server for 'pong' (a connectivity check).

        Parameters
        ----------
        sync : {'sync', 'async', 'off'}, optional
            As for :meth:`send`. Default 'sync'.
        **kwds
            ``timeout`` and ``return_type``, as for :meth:`send`.
        """
        return self.send("ping", sync=sync, **kwds)

    def ensure_connection(self, timeout: float = 1.0) -> bool:
        """Return True once the server answers a ping; TimeoutError after *timeout*.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the answer. Default 1.
        """
        if self.ping(timeout=timeout) != "pong":
            raise RuntimeError(f"unexpected ping reply from {self.address}")
        return True

    def measure_clock_diff(self, samples: int = 10) -> float:
        """Return the remote clock minus the local clock (``time.time()``), in seconds.

        The sample with the shortest round trip wins; its midpoint estimates when
        the remote clock was read.

        Parameters
        ----------
        samples : int, optional
            Round trips measured (at least 1). Default 10; more narrows the error
            on a loaded network.
        """
        if samples < 1:
            raise ValueError(f"measure_clock_diff() needs samples >= 1, got {samples!r}")
        if self._remote_time is None:
            self._remote_time = self._import("time").time
        best = (math.inf, 0.0)
        for _ in range(samples):
            start = time.time()
            remote = self._remote_time()
            end = time.time()
            if end - start < best[0]:
                best = (end - start, remote - (start + end) / 2.0)
        return best[1]

    # -- closing -------------------------------------------------------------

    def close_server(self, sync: str = "sync", timeout: float = 1.0, **kwds: Any) -> Any:
        """Ask the server to close; return True (also if it already disconnected).

        Once a synchronous call returns, this client is ``disconnected()``: the server
        confirmed that it closes, whether or not its notice has arrived yet.

        Parameters
        ----------
        sync : {'sync', 'async', 'off'}, optional
            As for :meth:`send`. Default 'sync'.
        timeout : float, optional
            Seconds a 'sync' call waits for the confirmation. Default 1.
        **kwds
            ``return_type``, as for :meth:`send`.
        """
        if self._disconnected:
            return True
        result = self.send("close", sync=sync, timeout=timeout, **kwds)
        if sync != "sync":
            return result
        self._disconnected = True
        curve.forget_server(self.address)
        self._stop_watching()
        return True

    def close(self) -> None:
        """Close this client's socket; the server keeps running."""
        if self._closed:
            return
        self._closed = True
        clients = connections.clients_of_this_thread()
        if clients.get(self.address) is self:
            del clients[self.address]
        if RPCClient.clients_by_thread.get((self._thread_id, self.address)) is self:
            del RPCClient.clients_by_thread[(self._thread_id, self.address)]
        if self._disconnected or self._auth_failure is not None or self._death is not None:
            self._socket.setsockopt(zmq.LINGER, 0)
        self._stop_watching()
        self._socket.close()
        self._fail_futures(RuntimeError(f"RPCClient for {self.address} was closed"))

    # -- receiving -----------------------------------------------------------

    def process_until_future(self, future: Future | SyncReply, timeout: float | None = None) -> None:
        """Read replies until *future* has its result; TimeoutError after *timeout* s.

        Meanwhile the RPCServer of this thread (if any, and if the client is
        reentrant) serves incoming requests; if it is asked to close, the wait
        ends with RuntimeError.

        Parameters
        ----------
        future : Future or SyncReply
            The pending call to wait for.
        timeout : float or None, optional
            Seconds to wait; None (default) waits as long as it takes.
        """
        self._wait_for_reply(future.call_id, timeout)

    def _wait_for_reply(self, req_id, timeout):
        """Read replies until the call *req_id* is no longer pending (see process_until_future).

        A call is pending while it is in ``_futures``: its reply, a cancellation or a
        failure of the client removes it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        sock = self._socket
        # Looked up once: while we wait, only the requests this server serves run other
        # code in this thread (and they may close it, not replace it).
        server = server_registry.get_server() if self._reentrant else None
        watch_link = False
        while req_id in self._futures:
            if self._closed:
                raise RuntimeError(f"RPCClient for {self.address} was closed")
            if deadline is None:
                wait_ms = 1000
            else:
                remaining_ms = (deadline - time.monotonic()) * 1000
                if remaining_ms <= 0:
                    self._read_monitor(timed_out=True)
                    raise TimeoutError(f"no reply from {self.address} within {timeout:.3g} s "
                                       f"(request {req_id})")
                wait_ms = 1000 if remaining_ms >= 1000 else int(remaining_ms) + 1
            if server is not None:
                if server._closing and not server._closed:
                    # Unwind nested requests so that the server can finish closing.
                    raise RuntimeError(f"gave up waiting for {self.address}: the RPC server "
                                       "of this thread is closing")
                if server._closed:
                    server = None
            if server is None and not watch_link:
                # Nothing else to serve: a blocking receive is the fastest wait. After
                # FAST_WAIT_MS the wait also watches the connection (poll below).
                if self._watch is not None and wait_ms > FAST_WAIT_MS:
                    wait_ms = FAST_WAIT_MS
                if wait_ms != self._recv_timeout:
                    sock.setsockopt(zmq.RCVTIMEO, wait_ms)
                    self._recv_timeout = wait_ms
                try:
                    msg = recv_frames(sock)
                except zmq.Again:
                    watch_link = self._watch is not None
                    self._read_monitor()
                    continue
                self.process_msg(msg)
                continue
            self._poll_once(server, wait_ms)

    def _poll_once(self, server, wait_ms):
        """Wait up to *wait_ms* for a reply, a request to *server* (this thread's, or None)
        or a connection event, and handle what came."""
        key = self if server is None else server
        poller = self._pollers.get(key)
        if poller is None:
            poller = self._pollers[key] = zmq.Poller()
            poller.register(self._socket, zmq.POLLIN)
            if server is not None:
                poller.register(server._socket, zmq.POLLIN)
            if self._watch is not None:
                poller.register(self._watch.reader, zmq.POLLIN)
        ready = {sock for sock, _ in poller.poll(wait_ms)}
        if self._socket in ready:
            self._read_replies()
        if self._watch is not None and (not ready or self._watch.reader in ready):
            self._read_monitor()
        if server is not None and server._socket in ready:
            server._process_available()

    def _read_monitor(self, timed_out=False):
        """Take the socket's pending monitor events into account, while calls wait.

        Raise (and fail every pending call with) AuthenticationError if the server refuses
        the handshake (*timed_out*: the call's time is up, so failed handshakes alone
        decide), or RemoteProcessDied if the connection is lost and a witness knows that the
        server's process died.
        """
        if self._watch is None or self._closed:
            return
        problem = None
        for event in self._watch.pending():
            kind = event["event"]
            if kind == zmq.EVENT_DISCONNECTED:
                self._link_up, self._witnesses_asked = False, False
                continue
            if kind == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self._link_up = True
            problem = self._handshakes.record(kind, event["value"])
            if problem is not None:
                break
        if problem is None and timed_out:
            problem = self._handshakes.verdict_at_timeout()
        if problem is not None:
            self._auth_failure = curve.AuthenticationError(problem)
            self._give_up(self._auth_failure)
        if not self._link_up and not self._witnesses_asked and self._futures:
            self._witnesses_asked = True
            description = server_deaths.ask_witnesses(self.address)
            if description is not None:
                self._death = RemoteProcessDied(
                    f"{description}: no reply can come from {self.address}; recreate what it "
                    "served (e.g. manager.create_nodegroup()) to go on", self.address)
                curve.forget_server(self.address)
                self._give_up(self._death)

    def _give_up(self, error):
        """Fail every pending call with *error* and raise it: no reply can come any more, so
        the connection is no longer watched (a refused or dead server's events only pile up)."""
        self._stop_watching()
        self._fail_futures(error)
        raise error

    def _stop_watching(self):
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
            self._pollers.clear()  # they poll the watch's reader

    def _read_replies(self):
        sock = self._socket
        while not self._closed and has_message(sock):
            self.process_msg(recv_frames(sock, zmq.NOBLOCK))

    def process_msg(self, msg: list[Any]) -> None:
        """Handle one message from the server: settle a Future or note a disconnect.

        Parameters
        ----------
        msg : bytes, zmq.Frame or list
            One message from the server: its single frame, or the list of its
            frames (a reply followed by out-of-band array frames).
        """
        frames = msg if isinstance(msg, list) else [msg]
        if len(frames) == 1:
            body, buffers = frames[0], ()
        else:
            frames, buffers, extended = protocol.split_extension(frames, 1)
            if extended:
                self._server_reads_frames = True
            if len(frames) != 1:
                logger.warning("ignoring a message of %d frames from %s", len(frames),
                               self.address)
                return
            body = frames[0]
        try:
            reply = self._loads(body, buffers, self._replies_owned)
        except Exception as exc:  # noqa: BLE001 -- a bad reply must not kill the caller
            self._fail_undecodable(body, exc)
            return
        if not isinstance(reply, dict):
            logger.warning("ignoring malformed message from %s: %r", self.address, reply)
            return
        if not self._server_answered:
            self._server_answered = True
            if self._server_key is None:
                curve.note_plain_server(self.address)
        action = reply.get("action")
        if action == "return":
            future = self._futures.pop(reply.get("req_id", -1), None)  # -1: no request has it
            if future is None:
                return
            error = reply.get("error")
            if error is None:
                future.set_result(reply.get("rval"))
            else:
                future.set_exception(_remote_exception(error))
        elif action == "disconnect":
            self._disconnected = True
            curve.forget_server(self.address)
            self._stop_watching()
            self._fail_futures(RuntimeError(f"RPC server at {self.address} has disconnected"))
        else:
            logger.warning("ignoring message with unknown action %r from %s",
                           action, self.address)

    def _fail_undecodable(self, body, exc):
        try:
            req_id = self._serializer.loads_plain(body).get("req_id")
        except Exception:  # noqa: BLE001 -- undecodable even as plain data
            req_id = None
        future = self._futures.pop(req_id, None)
        if future is None:
            logger.warning("ignoring undecodable message from %s: %s", self.address, exc)
        else:
            future.set_exception(exc)

    def _fail_futures(self, exc):
        futures, self._futures = self._futures, {}
        for future in futures.values():
            if not future.done():
                future.set_exception(exc)

    def _forget_future(self, req_id):
        self._futures.pop(req_id, None)

    def _adopt_proxy(self, proxy):
        """Attach a proxy decoded from this server's reply to the reference it holds.

        Its server created that reference for us, so it is released when the last
        local proxy using it is gone (unless auto_delete is turned off). The proxy talks
        through this client in this thread, even after get_client() replaced it: a call
        to an object of a server that closed says so.
        """
        proxy._clients[self._thread_id] = self
        key = (proxy._obj_id, proxy._ref_id)
        reference = self._references.get(key)
        if reference is None:
            reference = RemoteReference(self._pending_deletes, *key)
            self._references[key] = reference
        proxy.__dict__["_reference"] = reference


def _remote_exception(error):
    if (isinstance(error, list) and len(error) == 2 and isinstance(error[0], str)
            and isinstance(error[1], list)):
        return RemoteCallException(error[0], [str(line) for line in error[1]])
    return RemoteCallException("UnknownError", [repr(error)])


connections.install_connector(RPCClient.get_client)
