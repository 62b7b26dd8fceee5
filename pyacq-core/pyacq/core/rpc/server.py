"""RPCServer: executes requests from RPCClients on local objects.

The wire format (frames, actions, return types, out-of-band arrays) is described in
``protocol``.
"""
from __future__ import annotations

import atexit
import importlib
import logging
import threading
import traceback
import weakref
from collections.abc import Callable
from typing import Any

import zmq

from . import curve, protocol, server_registry
from .client import RPCClient
from .context import get_context, make_socket
from .decoding_cost import SCAN_THRESHOLD, check_decoding_cost
from .exclusive_memory import only_holder
from .frames import has_message, recv_frames, send_frames
from .malloc_tuning import keep_large_buffers_mapped
from .object_description import describe_object
from .object_table import ObjectTable
from .proxy import ObjectProxy
from .serializer import all_serializers
from .timer import RPCTimer

logger = logging.getLogger(__name__)

_REQUEST_FRAMES = 1 + protocol.REQUEST_FRAMES  # the client's identity, then the documented ones
_RETURN_TYPES = {name.encode(): name for name in protocol.RETURN_TYPES}

#: Requests each client may have waiting in the server's socket: beyond, ZeroMQ stops
#: reading from that client's connection, and later requests wait on the client's side.
RECEIVE_QUEUE = 16
#: What ZeroMQ's frame size limit (``MAXMSGSIZE``) allows above ``max_request_size``: the
#: framing and CURVE overhead of a frame, so that every request the server's own check
#: accepts reaches it, and one a little over the limit still gets an error reply.
_FRAME_OVERHEAD = 1 << 12

#: Servers not closed yet: those left open when the interpreter exits still notify their clients.
_open_servers: weakref.WeakSet[RPCServer] = weakref.WeakSet()


@atexit.register
def _notify_clients_at_exit():
    """Close, at interpreter exit, the servers nobody closed, so their clients learn it from a
    'disconnect' notice (``client.disconnected()``) rather than from a silent socket. A server
    whose thread still runs (a daemon thread) is woken to close itself."""
    for server in list(_open_servers):
        thread = server._thread
        if thread is None or thread is threading.current_thread() or not thread.is_alive():
            server._finish_close()
        else:
            server.close()


class RPCServer:
    """Remote procedure call server for invoking requests on proxied objects.

    At most one server runs per thread. Run it with ``run_forever()`` (serve
    until closed), or register it with ``run_lazy()``: it then serves whenever a
    client of the same thread waits for a reply (which is what makes reentrant
    calls work), or when ``_process_available()`` is called.

    The server binds to 127.0.0.1 unless told otherwise. Whoever can reach its
    address can run any code in its process, so a server reachable from the
    network should require ZeroMQ CURVE authentication: *certificate* is its
    secret certificate file (``NAME.key_secret``) and *authorized_keys* the
    directory of the public certificates (``*.key``) of the clients it accepts
    (see ``pyacq.core.rpc.curve``); refused clients are logged.
    Malformed requests are answered with an error (or logged when no reply is
    possible) and never stop the server.

    What one request may cost is bounded. A request (body and out-of-band frames) of more
    than ``max_request_size`` bytes (256 MiB by default) is refused with an error reply
    naming the limit; ZeroMQ drops, before reading it, the connection of a client that
    sends a single frame above it (``MAXMSGSIZE``), since ``RPCClient`` refuses to send such
    a request. A body of 64 KiB or more is walked before it is decoded and refused with an
    error reply (``decoding_cost.DecodingCostError``) when its objects would take more than
    4.5 MiB + 24 bytes per byte for its first 16 MiB, then 2 bytes per byte (a msgpack empty
    map is one byte that decodes to a 72-byte dict); bulk data travels as arrays or bytes,
    which cost about their size. Each client may have ``RECEIVE_QUEUE`` (16) requests waiting
    in the server's socket (``RCVHWM``) while the server is busy: the next ones wait on the
    client's side, in order, and are all served (replies are never dropped: sends have no
    high-water mark).

    Parameters
    ----------
    address : str, optional
        Where to bind: ``tcp://IP:PORT`` (``*`` for a free port), ``ipc://path`` or
        ``inproc://name``. Default ``tcp://127.0.0.1:*``; the bound address is
        :attr:`address`.
    certificate : str or None, optional
        Path of the server's secret certificate; with *authorized_keys*, clients
        must authenticate with CURVE. Default None (no authentication).
    authorized_keys : str or None, optional
        Directory of the public certificates of the clients accepted; given
        together with *certificate*.
    """

    #: Requests (body and out-of-band frames) larger than this many bytes are refused. ZeroMQ's
    #: frame limit is set from it when the server is created: to raise the limit, set this
    #: class attribute (or a subclass's) before creating the server; lowering it on a server
    #: makes it refuse more with error replies.
    max_request_size = protocol.MAX_REQUEST_SIZE

    def __init__(self, address: str = "tcp://127.0.0.1:*", certificate: str | None = None,
                 authorized_keys: str | None = None) -> None:
        keep_large_buffers_mapped()
        self._authentication = _authentication_for(certificate, authorized_keys)
        self._socket = make_socket(zmq.ROUTER)
        # Both fixed for every connection once the socket is bound.
        self._socket.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        self._socket.setsockopt(zmq.MAXMSGSIZE, self.max_request_size + _FRAME_OVERHEAD)
        try:
            if self._authentication is not None:
                self._authentication.secure(self._socket)
            self._socket.bind(address)
        except BaseException:
            self._socket.close(linger=0)
            if self._authentication is not None:
                self._authentication.close()
            raise
        #: The address clients connect to, with the port actually bound.
        self.address = self._socket.getsockopt(zmq.LAST_ENDPOINT).decode()
        if self._authentication is not None:
            self._authentication.published(self.address)
        # Requests over inproc may share the sender's memory: never decode those in place.
        self._decode_in_place = not self.address.startswith("inproc://")
        self._serializers = {name.encode(): cls(server=self)
                             for name, cls in all_serializers.items()}
        self._objects = ObjectTable()
        # Every server publishes itself, as pyacq 2.0's did: client['self'].
        self._namespace: dict[str, Any] = {"self": self}
        self._clients: dict[bytes, Any] = {}  # identity -> serializer it used last
        # Identities of the clients that read out-of-band frames.
        self._frame_readers: set[bytes] = set()
        self._timers: list[RPCTimer] = []
        self._local_client: RPCClient | None = None
        self._thread_id = None
        self._thread = None
        self._depth = 0
        self._closing = False
        self._closed = False
        _open_servers.add(self)

    @property
    def certificate(self) -> str | None:
        """Path of the secret certificate this server requires CURVE with, or None."""
        return None if self._authentication is None else self._authentication.certificate

    @property
    def authorized_keys(self) -> str | None:
        """Directory of the client certificates this server accepts, or None (no CURVE)."""
        return None if self._authentication is None else self._authentication.authorized_keys

    # -- thread registration -----------------------------------------------

    @staticmethod
    def get_server() -> RPCServer | None:
        """Return the server running in this thread, or None."""
        return server_registry.get_server()

    @staticmethod
    def register_server(srv: RPCServer) -> None:
        """Register *srv* as the (only) server of this thread.

        Parameters
        ----------
        srv : RPCServer
            The server that will serve this thread's reentrant waits.
        """
        server_registry.register_server(srv)

    @staticmethod
    def unregister_server(srv: RPCServer) -> None:
        """Unregister *srv* from this thread.

        Parameters
        ----------
        srv : RPCServer
            The server registered for this thread.
        """
        server_registry.unregister_server(srv)

    @staticmethod
    def local_client() -> RPCClient:
        """Return the RPCClient that reaches the server running in this thread."""
        server = server_registry.get_server()
        if server is None:
            raise RuntimeError("no RPCServer runs in this thread")
        if server._local_client is None or server._local_client._closed:
            server._local_client = RPCClient(server.address)
        return server._local_client

    def _bind_to_this_thread(self):
        if self._closed:
            raise RuntimeError(f"RPCServer at {self.address} is closed")
        server_registry.register_server(self)
        self._thread_id = threading.get_ident()
        self._thread = threading.current_thread()

    # -- running -------------------------------------------------------------

    def run_lazy(self) -> None:
        """Register this server for the current thread without looping.

        Clients of this thread serve its requests while they wait for replies.
        """
        self._bind_to_this_thread()

    def run_forever(self) -> None:
        """Serve requests until the server is closed.

        If the loop ends otherwise (KeyboardInterrupt, SystemExit raised by a request),
        the server closes on the way out, so that its clients are told.
        """
        self._bind_to_this_thread()
        sock = self._socket
        # A blocking receive is markedly faster than polling first; the timeout
        # only bounds each wait (close() from another thread also wakes it).
        sock.setsockopt(zmq.RCVTIMEO, 1000)
        try:
            while not self._closed:
                try:
                    frames = _recv_request(sock)
                except zmq.Again:
                    frames = None
                if frames is not None and not self._closing:
                    self._handle_request(frames)
                if self._closing and self._depth == 0:
                    self._finish_close()
        finally:
            self._finish_close()

    def running(self) -> bool:
        """True until the server has closed."""
        return not self._closed

    def _process_available(self):
        """Serve every request already received, without blocking."""
        if self._closed:
            return
        sock = self._socket
        while not self._closing and has_message(sock):
            self._handle_request(_recv_request(sock, zmq.NOBLOCK))
        if self._closing and self._depth == 0:
            self._finish_close()

    # -- publishing objects --------------------------------------------------

    def __getitem__(self, name):
        return self._namespace[name]

    def __setitem__(self, name, obj):
        """Publish *obj* so that clients can get it with ``client[name]``."""
        self._namespace[name] = obj

    def get_proxy(self, obj: Any, **kwds: Any) -> ObjectProxy:
        """Return a new ObjectProxy to the local *obj*; *kwds* are proxy options.

        The object stays alive here until the proxy's reference is deleted.

        Parameters
        ----------
        obj : object
            The local object; a proxy is returned unchanged.
        **kwds
            Proxy options (``sync``, ``return_type``, ``timeout``,
            ``defer_getattr``, ...; see ``ObjectProxy._set_proxy_options``).
        """
        if isinstance(obj, ObjectProxy):
            return obj
        obj_id, ref_id = self._objects.add_reference(obj)
        proxy = ObjectProxy(self.address, obj_id, ref_id, _type_str(obj), (), **kwds)
        proxy.__dict__["_about"] = describe_object(obj)
        return proxy

    def get_shared_proxy(self, obj: Any) -> ObjectProxy:
        """Return the proxy used each time *obj* is lent to another process as an argument.

        Borrowers never release it: one reference per object, kept until the
        server closes, bounds what repeated calls accumulate.

        Parameters
        ----------
        obj : object
            The local object lent (it has no value form).
        """
        obj_id, ref_id = self._objects.shared_reference(obj)
        proxy = ObjectProxy(self.address, obj_id, ref_id, _type_str(obj))
        proxy.__dict__["_about"] = describe_object(obj)
        return proxy

    def unwrap_proxy(self, proxy: ObjectProxy) -> Any:
        """Return the local object referenced by *proxy* (KeyError if unknown).

        Parameters
        ----------
        proxy : ObjectProxy
            A proxy this server made.
        """
        return self.unwrap_reference(proxy._obj_id, proxy._ref_id, proxy._attributes)

    def unwrap_reference(self, obj_id: int, ref_id: int, attributes: tuple[str, ...] | list[str] = ()) -> Any:
        """Return the object a proxy's fields designate (KeyError if unknown).

        A missing attribute raises AttributeError naming the whole path from the
        stored object, since with deferred attribute access (``defer_getattr``) the
        caller meets it only at first use, possibly far from where it was written.

        Parameters
        ----------
        obj_id : int
            The stored object's id.
        ref_id : int
            The id of the reference the proxy holds to it.
        attributes : sequence of str, optional
            The attribute path from the stored object (``('output', 'params')``).
            Default: the object itself.
        """
        root = obj = self._objects.lookup(obj_id, ref_id)
        for depth, attr in enumerate(attributes):
            try:
                obj = getattr(obj, attr)
            except AttributeError as exc:
                path = ".".join(attributes[:depth + 1])
                raise AttributeError(f"{type(root).__name__} object has no attribute path "
                                     f"{path!r} ({exc})") from exc
        return obj

    def start_timer(self, callback: Callable[..., Any] | ObjectProxy, interval: float,
                    **kwds: Any) -> RPCTimer:
        """Call ``callback(**kwds)`` every *interval* seconds (start to start).

        A local *callback* runs in this server's thread, so it must be safe to
        call there; an ObjectProxy runs in its own process. Returns the timer,
        whose ``stop()`` ends it; closing the server stops all timers.

        Parameters
        ----------
        callback : callable or ObjectProxy
            What to call.
        interval : float
            Seconds from the start of one call to the start of the next.
        **kwds
            Keyword arguments of every call.
        """
        if not isinstance(callback, ObjectProxy):
            callback = self.get_proxy(callback)
        timer = RPCTimer(callback, interval, kwds)
        self._timers.append(timer)
        return timer

    # -- requests --------------------------------------------------------------

    def _handle_request(self, received):
        """Serve the request whose frames are the list *received*, which is emptied: the
        out-of-band frames are then referenced only by what is decoded from them, so that a
        result decoded in place may be sent back without a copy (see exclusive_memory)."""
        caller = received[0]
        if len(received) == _REQUEST_FRAMES:
            frames, buffers, extended = received, [], False
        else:
            frames, buffers, extended = protocol.split_extension(received, _REQUEST_FRAMES)
            if extended:
                received.clear()  # frames and buffers are lists of their own
        if len(frames) != _REQUEST_FRAMES:
            self._reject(frames, "expected 5 frames [req_id, action, return_type, "
                                 f"ser_type, opts], got {len(frames) - 1}")
            return
        _, req_id, action, return_type, ser_type, opts = frames
        serializer = self._serializers.get(ser_type)
        if serializer is None:
            logger.warning("dropped request from %r: unknown serializer %r", caller, ser_type)
            return
        try:
            req_id = int(req_id)
        except ValueError:
            logger.warning("dropped request from %r: req_id %r is not an integer",
                           caller, req_id)
            return
        self._clients[caller] = serializer
        # A client announces that it reads out-of-band frames until our reply announced
        # that we do (the first one to it), then only on requests that carry some.
        announce = extended and caller not in self._frame_readers
        if announce:
            self._frame_readers.add(caller)
        reads_frames = extended or caller in self._frame_readers
        return_type = _RETURN_TYPES.get(return_type, return_type)
        frame_ids = {id(frame) for frame in buffers} if buffers else frozenset()
        self._depth += 1
        try:
            # The frames are handed over: _execute empties the list once it has decoded them.
            result, error = self._execute(action, return_type, serializer, opts, buffers, caller)
            if req_id < 0:
                if error is not None:
                    logger.warning("request %s (no reply wanted) failed:\n%s",
                                   action[:50], "".join(error[1]))
                return
            self._send_reply(caller, serializer, req_id, result, error, return_type,
                             reads_frames, announce, frame_ids)
        finally:
            self._depth -= 1

    def _execute(self, action, return_type, serializer, opts, buffers, caller):
        """Decode and run one request; return ([rval], None) or ([None], error).

        The result comes in a list that holds it alone, and *buffers* is emptied once
        decoded: see ``_send_reply``.
        """
        try:
            size = len(opts) + sum(len(buffer) for buffer in buffers) if buffers else len(opts)
            if size > self.max_request_size:
                raise ValueError(f"request of {size} bytes exceeds the server's limit "
                                 f"of {self.max_request_size} (RPCServer.max_request_size): "
                                 "send the data in several calls")
            action = action.decode("ascii")
            if return_type not in protocol.RETURN_TYPES:
                raise ValueError(f"unknown return_type {return_type!r}")
            if len(opts) >= SCAN_THRESHOLD:
                check_decoding_cost(serializer.type, opts)
            opts = serializer.codec_loads(opts, buffers, self._decode_in_place) if opts else {}
            buffers.clear()
            if not isinstance(opts, dict):
                raise TypeError(f"request options must be a dict, got {type(opts).__name__}")
            return [self.process_action(action, opts, return_type, caller)], None
        except Exception as exc:  # noqa: BLE001 -- any failure becomes the error reply
            return [None], _error_of(exc)

    def process_action(self, action: str, opts: dict[str, Any], return_type: str,
                       caller: bytes) -> Any:
        """Invoke a single action and return the result.

        Parameters
        ----------
        action : str
            One of ``protocol.ACTIONS``.
        opts : dict
            The request's decoded options (proxies to this server already
            replaced by their objects).
        return_type : str
            The request's return type ('auto', 'proxy', 'value').
        caller : bytes
            The ZeroMQ identity of the requesting client.
        """
        if action == "call_obj":
            obj = _option(opts, action, "obj")
            args = opts.get("args") or []
            kwargs = opts.get("kwargs") or {}
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                raise TypeError("call_obj needs 'args' as a list and 'kwargs' as a dict")
            return obj(*args, **kwargs)
        if action == "get_obj":
            return _option(opts, action, "obj")
        if action == "get_item":
            name = _option(opts, action, "name")
            try:
                return self._namespace[name]
            except (KeyError, TypeError):
                raise KeyError(f"no object published as {name!r}") from None
        if action == "set_item":
            self._namespace[_option(opts, action, "name")] = _option(opts, action, "value")
            return None
        if action == "delete":
            self._objects.release(_option(opts, action, "obj_id"),
                                  _option(opts, action, "ref_id"))
            return None
        if action == "import":
            module = _option(opts, action, "module")
            if not isinstance(module, str):
                raise TypeError("import needs 'module' as a string")
            return importlib.import_module(module)
        if action == "ping":
            return "pong"
        if action == "close":
            self._closing = True
            return True
        raise ValueError(f"unknown action {action!r}")

    def _send_reply(self, caller, serializer, req_id, result, error, return_type,
                    reads_frames=False, announce=False, frame_ids=frozenset()):
        """Send the reply to a request whose result is held by the one-item list *result*.

        To a client that reads out-of-band frames (*reads_frames*), large arrays go as
        frames of their own, which ZeroMQ copies as it takes them, since the result may be
        memory that this process goes on changing once the reply is sent; unless the
        result is an array whose memory only *result* can reach (``exclusive_memory``;
        *frame_ids*: the request's out-of-band frames), which is then sent from its own
        memory. With *announce*, the reply carries ``EXTENSION`` even without such frames.
        """
        if self._closed:
            return
        buffers = [] if reads_frames else None
        in_place = reads_frames and return_type != "proxy" and only_holder(result, frame_ids)
        rval = result.pop()
        try:
            if error is None and return_type == "proxy":
                rval = self.get_proxy(rval)
            reply = {"action": "return", "req_id": req_id, "rval": rval, "error": error}
            body = (serializer.dumps(reply, allow_proxy=False, buffers=buffers)
                    if return_type == "value" else serializer.codec_dumps(reply, buffers))
        except Exception as exc:  # noqa: BLE001 -- e.g. a value that cannot be sent
            buffers = None
            body = serializer.dumps({"action": "return", "req_id": req_id, "rval": None,
                                     "error": _error_of(exc)})
        frames = [caller, body, protocol.EXTENSION] if buffers or announce else [caller, body]
        send_frames(self._socket, frames, buffers or (), copy_buffers=not in_place)

    def _reject(self, frames, problem):
        """Answer a malformed request with an error when its frames allow a reply."""
        caller = frames[0]
        serializer = self._serializers.get(frames[4]) if len(frames) > 4 else None
        try:
            req_id = int(frames[1]) if len(frames) > 1 else -1
        except ValueError:
            req_id = -1
        if serializer is None or req_id < 0:
            logger.warning("dropped malformed request from %r: %s", caller, problem)
            return
        error = ["ValueError", [f"ValueError: malformed request: {problem}\n"]]
        self._send_reply(caller, serializer, req_id, [None], error, "auto")

    # -- closing ---------------------------------------------------------------

    def close(self) -> None:
        """Ask the server to close; safe to call from any thread.

        Clients are told with a 'disconnect' message, timers stop, and the
        objects held for proxies are released.
        """
        if self._closing or self._closed:
            return
        self._closing = True
        if self._thread_id is None or self._thread_id == threading.get_ident():
            if self._depth == 0:
                self._finish_close()
        else:
            self._wake_up()

    def _wake_up(self):
        """Wake a blocked run_forever() with a no-reply ping from this thread."""
        sock = get_context().socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 1000)
        if self._authentication is not None:
            self._authentication.secure_own_client(sock)
        sock.connect(self.address)
        sock.send_multipart([b"%d" % protocol.NO_REPLY, b"ping", b"auto", b"msgpack", b""])
        sock.close()

    def _finish_close(self):
        if self._closed:
            return
        self._closed = True
        self._closing = True
        _open_servers.discard(self)
        for timer in self._timers:
            timer._stop.set()
        for caller, serializer in self._clients.items():
            self._socket.send_multipart([caller, serializer.dumps({"action": "disconnect"})])
        for timer in self._timers:
            timer.stop()
        self._close_sockets()
        if self._authentication is not None:
            self._authentication.close()
        self._objects.clear()
        self._namespace.clear()
        if self._local_client is not None:
            self._local_client.close()
        server_registry.unregister_server(self)

    def _close_sockets(self):
        self._socket.close()


def _authentication_for(certificate, authorized_keys):
    """The ServerAuthentication for these arguments, or None (no CURVE)."""
    if certificate is None and authorized_keys is None:
        return None
    if certificate is None or authorized_keys is None:
        raise ValueError("a CURVE-protected RPCServer needs both certificate (its NAME.key_secret "
                         "file) and authorized_keys (a directory of client NAME.key files)")
    return curve.ServerAuthentication(certificate, authorized_keys)


def _recv_request(sock, flags=0):
    """Receive the frames of one request: those before opts as bytes, opts and out-of-band
    frames as zmq.Frames (no copy), so that large arguments are decoded straight from
    ZeroMQ's buffers."""
    frames = recv_frames(sock, flags)
    if len(frames) < _REQUEST_FRAMES:
        return [frame.bytes for frame in frames]  # malformed: _handle_request says so
    # protocol.REQUEST_FRAMES after the caller's identity, opts (protocol.OPTS) the last.
    caller, req_id, action, return_type, ser_type, *rest = frames
    return [caller.bytes, req_id.bytes, action.bytes, return_type.bytes, ser_type.bytes, *rest]


def _option(opts, action, name):
    try:
        return opts[name]
    except KeyError:
        raise ValueError(f"{action} request needs option {name!r}") from None


def _type_str(obj):
    return str(type(obj))


def _error_of(exc):
    return [type(exc).__name__, traceback.format_exception(type(exc), exc, exc.__traceback__)]
