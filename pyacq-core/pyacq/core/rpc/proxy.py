"""ObjectProxy: a local stand-in for an object owned by a remote RPCServer."""
import datetime
import operator
import threading
import types
from typing import Any

import numpy as np

from . import connections, curve, server_registry
from .errors import RemoteCallException
from .protocol import check_call_options


class ObjectProxy:
    """Proxy to an object stored by a remote RPCServer.

    Calls, ``[]``, ``setattr``, ``len``, ``in`` and iteration are forwarded to the
    remote object. Attribute access is deferred by default, as in pyacq 2.0:
    ``proxy.output`` is a proxy to that attribute path, made without contacting
    the server, so ``remote_os.getpid()`` costs one round trip; read a value with
    ``proxy.attr._get_value()`` (or ``_undefer()``, which gives a proxy for objects
    that have no value form). ``defer_getattr=False`` makes every attribute
    access a round trip that returns the value. ``repr``/``str`` never contact the
    server (safe for debugging); ``hash`` and ``==`` between proxies compare remote
    identity (server address, object id and attribute path). A deferred attribute
    used as a value (``==`` with a non-proxy, truth, ``int``, ``float``, as an
    index, in an f-string or ``format``) is fetched, one round trip each time, so
    ``node.input.gap_count == 0``, ``if node.input.source_lost:`` and
    ``f"{node.name}"`` mean what they say. Arithmetic and ordering (``+``, ``<``, ...) are
    forwarded to the remote object; one it does not support raises TypeError.

    ``repr()`` names the remote object and where it lives (``<ObjectProxy to SosFilter
    'filter' in process 'dsp' (pid 4242) at tcp://...>``), from a description the
    owning server attached when it made the proxy; ``dir()`` lists the remote object's
    attributes (one round trip) with the proxy's own ``_`` methods, and ``help()`` or
    ``__doc__`` show the remote object's docstring (one round trip).

    A call accepts ``_sync`` ('sync', 'async' -> Future, 'off' -> None),
    ``_return_type`` ('auto', 'proxy', 'value') and ``_timeout`` (seconds), whose
    defaults come from ``_set_proxy_options``.

    The proxy may be used from any thread (each thread talks through its own
    RPCClient) and may be sent to another process, where it keeps working as long
    as the process that owns this reference keeps it. Its wire form (``_to_dict``)
    is the documented tagged dict, plus ``server_key`` for a CURVE-protected server:
    the key this process knows for that address. A received proxy keeps the key its
    message carried and offers it to the keyring when it first connects, which
    learns it only if it contradicts nothing this process knows (see ``curve``).

    Proxies are made by servers (``RPCServer.get_proxy``) and by the serializers
    that decode them, rarely by hand.

    Parameters
    ----------
    rpc_addr : str
        The address of the server that holds the object.
    obj_id : int
        The object's id in that server.
    ref_id : int
        The id of the reference this proxy holds (released when the proxy is
        garbage collected, unless ``auto_delete`` is False).
    type_str : str, optional
        The remote object's type as text, shown by ``repr()``. Default empty.
    attributes : sequence of str, optional
        The attribute path from the object (a deferred ``proxy.a.b``). Default:
        the object itself.
    **kwds
        Proxy options, as for ``_set_proxy_options``: ``sync`` ('sync'),
        ``return_type`` ('auto'), ``timeout`` (10 s), ``defer_getattr`` (True),
        ``auto_proxy`` (False), ``no_proxy_types``, ``auto_delete`` (True).
    """

    def __init__(self, rpc_addr: str, obj_id: int, ref_id: int, type_str: str = "",
                 attributes: tuple[str, ...] | list[str] = (), **kwds: Any) -> None:
        state = self.__dict__
        state["_rpc_addr"] = rpc_addr
        state["_obj_id"] = obj_id
        state["_ref_id"] = ref_id
        state["_type_str"] = type_str
        state["_attributes"] = tuple(attributes)
        # What the object is, when it is an argument lent by its caller because it has
        # no value form (set by the serializer that decoded it), else None.
        state["_lent"] = None
        # What the owning server said the object is (see object_description), else None.
        state["_about"] = None
        # The server key (Z85 bytes) the message that brought this proxy carried, else None:
        # offered to the keyring when the proxy connects (see _client), never trusted as such.
        state["_server_key"] = None
        # Shared until changed: _set_proxy_options copies before writing.
        state["_proxy_options"] = _DEFAULT_OPTIONS
        state["_reference"] = None
        # thread ident -> the RPCClient this proxy talks through in that thread
        state["_clients"] = {}
        # (server key, wire form) once _wire_form() has made it
        state["_wire"] = None
        # attribute name -> the proxy __getattr__ returned for it (see _deferred)
        state["_children"] = {}
        if kwds:
            self._set_proxy_options(**kwds)

    # -- identity and wire form ---------------------------------------------

    def _to_dict(self):
        """Return the documented wire form of this proxy (tagged dict).

        A proxy to a CURVE-protected server also carries the server's public
        key (``server_key``, an extra field other clients ignore), so that the
        process receiving it can connect (see ``curve``). That key is the one this
        process knows for the server's address (pinned or learnt), or, if it knows
        none, the one this proxy was received with; never one that this process
        refused. A proxy made by its server also carries ``about``, the description
        its ``repr()`` shows (an extra field other clients ignore).
        """
        wire = dict(self._wire_form())
        if self._about is not None:
            wire["about"] = self._about
        return wire

    def _wire_form(self):
        """The dict ``_to_dict`` copies, made once per server key (the other fields never
        change): read it, do not change it. Every request names a proxy."""
        key = curve.key_to_forward(self._rpc_addr, self._server_key)
        cached = self._wire
        if cached is not None and cached[0] == key:
            return cached[1]
        wire = {"___type_name___": "proxy", "rpc_addr": self._rpc_addr,
                "obj_id": self._obj_id, "ref_id": self._ref_id,
                "type_str": self._type_str, "attributes": list(self._attributes)}
        if key is not None:
            wire["server_key"] = key.decode("ascii")
        self.__dict__["_wire"] = (key, wire)
        return wire

    def _identity(self):
        return (self._rpc_addr, self._obj_id, self._attributes)

    def __hash__(self):
        return hash(self._identity())

    def __eq__(self, other):
        if isinstance(other, ObjectProxy):
            return self._identity() == other._identity()
        if not self._attributes:
            return NotImplemented
        return self._undefer() == other

    def __ne__(self, other):
        equal = self.__eq__(other)
        return equal if equal is NotImplemented else not equal

    def __repr__(self):
        path = "".join("." + a for a in self._attributes)
        if self._about is None:
            return f"<ObjectProxy for {self._rpc_addr}[{self._obj_id}]{path} {self._type_str}>"
        target = f"{path} of {self._about}" if path else self._about
        return f"<ObjectProxy to {target} at {self._rpc_addr}>"

    __str__ = __repr__

    def __bool__(self):
        # A proxy to an object is true without a round trip (like most objects, and
        # whether or not it has __len__); a deferred attribute is tested by its value,
        # so that ``if node.input.source_lost:`` means what it says.
        return bool(self._undefer()) if self._attributes else True

    def __format__(self, spec):
        # f"{node.name}" shows the name, remote or not; str() and repr() stay local.
        value = self._undefer() if self._attributes else self
        if isinstance(value, ObjectProxy):
            return format(repr(value), spec)
        return format(value, spec)

    def __int__(self):
        return int(self._get_value())

    def __float__(self):
        return float(self._get_value())

    def __index__(self):
        return operator.index(self._get_value())

    # -- options --------------------------------------------------------------

    def _set_proxy_options(self, **kwds: Any) -> None:
        """Change how this proxy behaves; a value of None restores the default.

        Options: ``sync``, ``return_type``, ``auto_proxy``, ``timeout``,
        ``defer_getattr``, ``no_proxy_types``, ``auto_delete`` (see the class
        docstring and RPCClient.send for their meaning).
        """
        options = dict(self._proxy_options)
        defaults = _DEFAULT_OPTIONS
        for name, value in kwds.items():
            if name not in defaults:
                raise TypeError(f"unknown proxy option {name!r}")
            options[name] = defaults[name] if value is None else value
        check_call_options(options["sync"], options["return_type"])
        self.__dict__["_proxy_options"] = options
        if "auto_delete" in kwds and self._reference is not None:
            self._reference.auto_delete = options["auto_delete"]

    def _derived(self, attr):
        """Return a proxy to ``self.<attr>`` without contacting the server."""
        proxy = ObjectProxy(self._rpc_addr, self._obj_id, self._ref_id, self._type_str,
                            self._attributes + (attr,))
        state = proxy.__dict__
        state["_proxy_options"] = self._proxy_options
        state["_reference"] = self._reference
        state["_clients"] = self._clients
        state["_server_key"] = self._server_key
        state["_about"] = self._about
        return proxy

    def _deferred(self, attr, options):
        """``self._derived(attr)``, kept for the next lookup (``remote_os.getpid()`` in a
        loop looks the method up at every call) while neither proxy's options changed:
        until then a new one would be the same in every respect."""
        children = self._children
        child = children.get(attr)
        if child is None or child._proxy_options is not options:
            if len(children) >= _MAX_CHILDREN:
                children.clear()
            child = children[attr] = self._derived(attr)
        return child

    def _client(self):
        """Return the RPCClient of the calling thread for this proxy's server.

        A proxy keeps, in each thread, the client it first used there (or the one that
        received it): if that server closes, or its process dies, calls through the proxy
        say so, even once ``RPCClient.get_client()`` hands a fresh client to newcomers.
        Before connecting, a proxy received with a server key offers it to the keyring,
        which decides whether to learn it (``curve.learn_server_key``); the client then
        connects with whatever key the keyring holds.
        """
        ident = threading.get_ident()
        client = self._clients.get(ident)
        if client is not None and not client._closed:
            return client
        if self._server_key is not None:
            curve.learn_server_key(self._rpc_addr, self._server_key)
        client = connections.client_for(self._rpc_addr)
        if client is None:
            client = server_registry.get_server().local_client()
        self._clients[ident] = client
        return client

    # -- remote operations ---------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the remote object; see the class docstring for ``_sync`` and friends."""
        options = self._proxy_options
        if kwargs:
            sync = kwargs.pop("_sync", options["sync"])
            return_type = kwargs.pop("_return_type", options["return_type"])
            timeout = kwargs.pop("_timeout", options["timeout"])
        else:
            sync, return_type, timeout = options["sync"], options["return_type"], options["timeout"]
        if options["auto_proxy"]:
            args = tuple(self._auto_proxy(a) for a in args)
            kwargs = {k: self._auto_proxy(v) for k, v in kwargs.items()}
        client = self._clients.get(threading.get_ident())  # _client(), without a call
        if client is None or client._closed:
            client = self._client()
        return client.call_obj(self, args, kwargs, return_type, sync, timeout)

    def _auto_proxy(self, value):
        if isinstance(value, tuple(self._proxy_options["no_proxy_types"])):
            return value
        server = server_registry.get_server()
        if server is None:
            raise TypeError("auto_proxy needs an RPCServer running in this thread")
        return server.get_shared_proxy(value)

    def __getattr__(self, attr: str) -> Any:
        """Return a proxy to the remote attribute, or with ``defer_getattr=False``
        the attribute itself (by value or proxy, per ``return_type``).

        With ``defer_getattr`` (the default) the server is not asked: a proxy to
        the attribute path is returned, and a missing attribute raises only when it
        is used (call, ``_get_value()``, ``_undefer()``), naming the path.
        A returned proxy (e.g. a method) inherits this proxy's options, so that
        ``proxy._set_proxy_options(sync='async')`` makes ``proxy.method()`` async.
        Dunder names are never forwarded, so that introspection (copy, pickle,
        numpy) does not silently turn into remote calls.
        """
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        options = self._proxy_options
        if options["defer_getattr"]:
            return self._deferred(attr, options)
        value = self._client().get_obj(self._derived(attr), return_type=options["return_type"],
                                       sync="sync", timeout=options["timeout"])
        if isinstance(value, ObjectProxy) and options is not _DEFAULT_OPTIONS:
            value.__dict__["_proxy_options"] = options
            if value._reference is not None:
                value._reference.auto_delete = options["auto_delete"]
        return value

    def __dir__(self):
        """The remote object's attributes (one round trip), and the proxy's own methods."""
        return sorted(set(self._call_method("__dir__")) | _PROXY_METHODS)

    def __setattr__(self, name, value):
        """Set the remote attribute without waiting, as pyacq 2.0 did: the request goes
        out like ``_sync='off'`` (requests stay in order), and the server logs a failure."""
        options = self._proxy_options
        self._client().call_obj(self._derived("__setattr__"), (name, value), {}, sync="off",
                                return_type=options["return_type"])

    def __delattr__(self, name):
        self._call_method("__delattr__", name)

    def _call_method(self, name, *args):
        options = self._proxy_options
        return self._client().call_obj(self._derived(name), args, {}, sync="sync",
                                       return_type=options["return_type"],
                                       timeout=options["timeout"])

    def __getitem__(self, key):
        return self._call_method("__getitem__", key)

    def __setitem__(self, key, value):
        self._call_method("__setitem__", key, value)

    def __delitem__(self, key):
        self._call_method("__delitem__", key)

    def __len__(self):
        return self._call_method("__len__")

    def __contains__(self, item):
        return self._call_method("__contains__", item)

    def __iter__(self):
        iterator = self._client().call_obj(self._derived("__iter__"), (), {}, sync="sync",
                                           return_type="proxy",
                                           timeout=self._proxy_options["timeout"])
        return iterator

    def __next__(self):
        try:
            return self._call_method("__next__")
        except RemoteCallException as exc:
            if exc.type_str == "StopIteration":
                raise StopIteration from None
            raise

    def _get_value(self) -> Any:
        """Return a copy of the remote object; raise if it cannot be sent by value."""
        return self._client().get_obj(self, return_type="value", sync="sync",
                                      timeout=self._proxy_options["timeout"])

    def _undefer(self) -> Any:
        """Resolve a proxy to an attribute path that was not looked up (``defer_getattr``):
        the remote object by value when it has one, else a proxy to it. A missing attribute
        raises here, as a RemoteCallException naming AttributeError. A proxy to an object
        itself (no attribute path) is returned as it is."""
        if not self._attributes:
            return self
        return self._client().get_obj(self, return_type=self._proxy_options["return_type"],
                                      sync="sync", timeout=self._proxy_options["timeout"])

    def _delete(self, sync="sync", **kwds):
        """Ask the server to release the reference held by this proxy.

        The remote object is freed only if nothing else references it; this proxy
        and every copy of it are unusable afterwards.
        """
        if self._reference is not None:
            self._reference.auto_delete = False
        return self._client().delete(self, sync=sync, **kwds)


def _forward_operator(name):
    def forwarded(self, *args):
        result = self._call_method(name, *args)
        if isinstance(result, ObjectProxy) and "NotImplementedType" in result._type_str:
            operands = ", ".join(type(a).__name__ for a in args)
            raise TypeError(f"{name} is not supported between the remote {self._type_str} "
                            f"at {self!r} and {operands}")
        return result
    forwarded.__name__ = name
    forwarded.__doc__ = f"Forward {name} to the remote object."
    return forwarded


class _RemoteDocstring:
    """``ObjectProxy.__doc__``: the class's docstring on the class, the remote object's
    on a proxy (one round trip), so that ``help(proxy)`` documents what it stands for."""

    def __init__(self, class_doc):
        self.class_doc = class_doc

    def __get__(self, proxy, owner=None):
        if proxy is None:
            return self.class_doc
        return proxy._derived("__doc__")._get_value()


ObjectProxy.__doc__ = _RemoteDocstring(ObjectProxy.__doc__)  # type: ignore[assignment]

#: The proxy's own methods, which ``dir()`` lists beside the remote attributes.
_PROXY_METHODS = frozenset(("_get_value", "_undefer", "_set_proxy_options", "_delete"))

#: How many attribute proxies a proxy keeps for reuse (names are usually few; a loop over
#: many names must not grow it without bound).
_MAX_CHILDREN = 64

# Options of a new proxy (ObjectProxy is in no_proxy_types, hence defined here).
_DEFAULT_OPTIONS = {
    "sync": "sync",
    "return_type": "auto",
    "auto_proxy": False,
    "timeout": 10.0,
    "defer_getattr": True,
    "no_proxy_types": (type(None), str, bytes, int, float, bool, tuple, list, dict,
                       np.ndarray, np.generic, datetime.date, ObjectProxy),
    "auto_delete": True,
}

#: The options of a new proxy, read-only (``RPCClient.default_proxy_options``).
DEFAULT_PROXY_OPTIONS = types.MappingProxyType(_DEFAULT_OPTIONS)

for _name in ("__add__", "__sub__", "__mul__", "__truediv__", "__floordiv__", "__mod__",
              "__pow__", "__lshift__", "__rshift__", "__and__", "__or__", "__xor__",
              "__radd__", "__rsub__", "__rmul__", "__rtruediv__", "__rfloordiv__",
              "__neg__", "__pos__", "__abs__", "__invert__", "__lt__", "__le__",
              "__gt__", "__ge__"):
    setattr(ObjectProxy, _name, _forward_operator(_name))
del _name
