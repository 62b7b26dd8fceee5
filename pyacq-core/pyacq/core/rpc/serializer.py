"""Serializers: the codecs of ``codec`` plus what the RPC layer means by a proxy.

A codec turns bytes into values and back and knows nothing of servers. A Serializer
adds the two things that need one: an object without a value form is sent as a proxy
to the local object (owned by *server*, or by the server of the calling thread), and a
received proxy becomes the local object again when it designates an object of that
server. Proxies decoded from a client's replies are attached to that client, so that
the reference they hold is released once no proxy uses it.

Decoding changes nothing else: a proxy's ``server_key`` field is checked to be the text
of a CURVE key and kept in the proxy, which offers it to the keyring
(``curve.learn_server_key``) when it first connects; no key is learnt and no file is
read because a message was decoded.
"""
from typing import ClassVar

import numpy as np

from . import curve, server_registry
from .codec import Codec, JsonCodec, MsgpackCodec
from .proxy import ObjectProxy

#: msgpack is a dependency of pyacq-core: always True (pyacq 2.0 scripts check it).
HAVE_MSGPACK = True


class Serializer:
    """Base class: converts between Python objects and bytes for one wire format.

    *server* is the RPCServer that owns the local objects this serializer may
    have to send by proxy, and into which proxies it owns are unwrapped; when
    None, the server running in the calling thread (if any) is used. *client* is
    the RPCClient whose replies are decoded, so that proxies created for it are
    released when they are no longer used.

    Subclasses set ``codec_class`` (a ``codec.Codec``) and ``type`` (its name, sent in
    the ``ser_type`` frame), and are registered in ``all_serializers``. Tuples
    arrive as lists: neither format tells them apart.

    Decoding has no side effect on the process: a received proxy keeps the
    ``server_key`` its message carried (refused with ValueError unless it is the text
    of a CURVE key, 40 Z85 characters), and what the keyring learns from it is
    decided when the proxy connects (see ``curve``).
    """

    codec_class: ClassVar[type[Codec]]
    type: ClassVar[str]

    def __init__(self, server=None, client=None):
        self.server = server
        self.client = client
        self._codec = self.codec_class(encode_object=self._encode_object,
                                       decode_proxy=self._decode_proxy)
        self._allow_proxy = True
        #: The codec's ``dumps(obj, buffers)`` and ``loads(data, buffers, owned)``: what
        #: ``dumps`` and ``loads`` do with their default options, one call less for each
        #: message of the RPC layer.
        self.codec_dumps = self._codec.dumps
        self.codec_loads = self._codec.loads

    def dumps(self, obj, allow_proxy=True, buffers=None):
        """Return *obj* serialized to bytes.

        With *allow_proxy* False, an object that cannot be sent by value raises
        TypeError instead of being replaced by a proxy. *buffers*: see
        ``codec.Codec.dumps`` (out-of-band arrays).
        """
        if allow_proxy:
            return self._codec.dumps(obj, buffers)
        self._allow_proxy = False
        try:
            return self._codec.dumps(obj, buffers)
        finally:
            self._allow_proxy = True

    def loads(self, msg, buffers=(), owned=False):
        """Return the object serialized in *msg* (bytes, or any buffer such as a zmq.Frame).

        Decoded arrays are writable. Proxies to objects of this serializer's
        server become those objects again; other proxies stay proxies. *buffers*
        and *owned*: see ``codec.Codec.loads`` (out-of-band arrays).

        Raises
        ------
        ValueError, TypeError
            *msg* is not a valid message: see ``codec.Codec.loads``; a malformed proxy
            (a missing or mistyped field, a ``server_key`` that is not a key's text) raises
            ValueError.
        """
        return self._codec.loads(msg, buffers, owned)

    def loads_plain(self, msg):
        """Decode *msg* without interpreting type tags (to read the envelope of a message
        whose content failed to decode)."""
        return self._codec.loads_plain(msg)

    def encode(self, obj):
        """Convert an object the wire format lacks into a tagged dict (or a plain value).

        Numpy scalars become Python numbers; arrays, dates and proxies become tagged
        dicts; anything else is sent as a proxy to the local object.
        """
        return self._codec.encode(obj)

    def decode(self, dct):
        """Turn a tagged dict back into its object; other dicts pass through."""
        return self._codec.decode(dct)

    def _local_server(self):
        return self.server if self.server is not None else server_registry.get_server()

    # -- what the codec hands over -------------------------------------------

    def _encode_object(self, obj):
        if isinstance(obj, ObjectProxy):
            return obj._wire_form()
        return self.encode_proxy(obj)

    def encode_proxy(self, obj):
        """Send an object that has no value encoding as a proxy to the local object."""
        if not self._allow_proxy:
            raise TypeError(f"cannot send {type(obj).__name__} by value")
        server = self._local_server()
        if server is None:
            raise TypeError(
                f"cannot send {type(obj).__name__}: it needs a proxy, and no RPCServer runs in this "
                "thread (start one with RPCServer().run_lazy())")
        if self.client is not None:
            # An argument: the receiver borrows the proxy, so reuse one reference. The
            # extra field "lent" (other clients ignore it) tells the receiver that this
            # proxy stands for a value that could not be sent, and what it was.
            wire = server.get_shared_proxy(obj)._to_dict()
            wire["lent"] = describe_lent_object(obj)
            return wire
        return server.get_proxy(obj)._to_dict()

    def _decode_proxy(self, dct):
        rpc_addr, obj_id, ref_id = dct.get("rpc_addr"), dct.get("obj_id"), dct.get("ref_id")
        type_str = dct.get("type_str", "")
        attributes = dct.get("attributes", [])
        if not (isinstance(rpc_addr, str) and type(obj_id) is int
                and type(ref_id) is int and isinstance(type_str, str)
                and isinstance(attributes, list)):
            raise ValueError(f"malformed proxy: {dct!r}")
        for attribute in attributes:  # a loop, not all(): no generator per request
            if not isinstance(attribute, str):
                raise ValueError(f"malformed proxy: {dct!r}")  # noqa: TRY004 -- as above
        server = self._local_server()
        if server is not None and rpc_addr == server.address:
            return server.unwrap_reference(obj_id, ref_id, attributes)
        key = dct.get("server_key")
        if key is not None:
            key = _server_key_field(rpc_addr, key)
        lent, about = dct.get("lent"), dct.get("about")
        if lent is not None and not isinstance(lent, str):
            raise ValueError(f"malformed proxy: lent must be text, got {lent!r}")
        if about is not None and not isinstance(about, str):
            raise ValueError(f"malformed proxy: about must be text, got {about!r}")
        proxy = ObjectProxy(rpc_addr, obj_id, ref_id, type_str, attributes)
        state = proxy.__dict__
        state["_lent"] = lent
        state["_about"] = about
        state["_server_key"] = key
        if self.client is not None and rpc_addr == self.client.address:
            self.client._adopt_proxy(proxy)
        return proxy


def _server_key_field(rpc_addr, key):
    """The ``server_key`` of a received proxy for *rpc_addr*, as bytes, once checked to be
    the text of a CURVE key (ValueError if not); the keyring is read, never changed."""
    known = curve.server_key(rpc_addr)
    if known is not None and type(key) is str and known.decode("ascii") == key:
        return known  # the common case, and a known key was checked when it was stored
    if not curve.is_key_text(key):
        given = f"{len(key)} characters" if isinstance(key, str) else f"a {type(key).__name__}"
        raise ValueError(f"malformed proxy for {rpc_addr}: server_key must be a CURVE public "
                         f"key of {curve.Z85_KEY_LENGTH} Z85 characters, got {given}")
    return key.encode("ascii")


def describe_lent_object(obj):
    """A short description of an argument sent as a proxy because it has no value form."""
    if isinstance(obj, np.ndarray):
        return f"a numpy array of dtype {obj.dtype}"
    kind = type(obj)
    name = getattr(obj, "__qualname__", None)
    if callable(obj) and isinstance(name, str):
        return f"a {kind.__name__} ({name})"
    module = "" if kind.__module__ == "builtins" else f"{kind.__module__}."
    return f"a {module}{kind.__qualname__} object"


class MsgpackSerializer(Serializer):
    """The default serializer: compact, and carries bytes natively."""

    codec_class = MsgpackCodec
    type = MsgpackCodec.type


class JsonSerializer(Serializer):
    """Serializer for clients that have only json: bytes travel as base64 text."""

    codec_class = JsonCodec
    type = JsonCodec.type


all_serializers = {cls.type: cls for cls in (MsgpackSerializer, JsonSerializer)}
