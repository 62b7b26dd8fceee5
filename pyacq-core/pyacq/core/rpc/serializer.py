"""Encoding of RPC messages: msgpack and json, with the documented type tags.

Both serializers carry int, float, str, bool, None, list and dict natively and
tag everything else as a dict holding ``'___type_name___'``. Decoding builds
only plain data, numpy arrays, dates and proxies: nothing in a message is ever
evaluated or unpickled, so a hostile message can at worst be rejected.
"""
import abc
import base64
import contextlib
import datetime
import json
import math

import msgpack
import numpy as np
import zmq

from . import curve, server_registry
from .msgpack_frames import ArrayHeaders, build_frame, is_framed, placeholder
from .msgpack_views import MIN_VIEW_BYTES, unpack_with_views
from .proxy import ObjectProxy

TYPE_KEY = "___type_name___"
DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
DATE_FORMAT = "%Y-%m-%d"


#: msgpack is a dependency of pyacq-core: always True (pyacq 2.0 scripts check it).
HAVE_MSGPACK = True


class Serializer(abc.ABC):
    """Base class: converts between Python objects and bytes for one wire format.

    *server* is the RPCServer that owns the local objects this serializer may
    have to send by proxy, and into which proxies it owns are unwrapped; when
    None, the server running in the calling thread (if any) is used. *client* is
    the RPCClient whose replies are decoded, so that proxies created for it are
    released when they are no longer used.

    Subclasses set ``type`` (the name sent in the ``ser_type`` frame), implement
    ``dumps``/``loads``, and are registered in ``all_serializers``. Tuples arrive
    as lists: neither format tells them apart.
    """

    type = None

    def __init__(self, server=None, client=None):
        self.server = server
        self.client = client
        self._allow_proxy = True

    @abc.abstractmethod
    def dumps(self, obj, allow_proxy=True):
        """Return *obj* serialized to bytes.

        With *allow_proxy* False, an object that cannot be sent by value raises
        TypeError instead of being replaced by a proxy.
        """

    def packed(self, obj, allow_proxy=True):
        """Serialize *obj* now; return a context manager giving its bytes-like buffer.

        Senders send the buffer inside the ``with`` block, with ``copy=False``:
        subclasses may lend their internal buffer for messages smaller than
        pyzmq's copy threshold (which pyzmq copies anyway), and return buffers
        of their own for larger ones, which ZeroMQ then sends without a copy.
        """
        return contextlib.nullcontext(self.dumps(obj, allow_proxy))

    @abc.abstractmethod
    def loads(self, msg):
        """Return the object serialized in *msg* (bytes, or any buffer such as a zmq.Frame).

        Decoded arrays are writable. Proxies to objects of this serializer's
        server become those objects again; other proxies stay proxies.
        """

    def loads_owned(self, msg):
        """Like ``loads``, for a *msg* that is writable memory nothing else uses.

        That is a frame received over tcp or ipc (not inproc, where it may be the
        sender's own buffer). Subclasses may then decode large arrays as views of
        *msg* rather than copies; the default is ``loads``.
        """
        return self.loads(msg)

    @abc.abstractmethod
    def loads_plain(self, msg):
        """Decode *msg* without interpreting type tags.

        Used to recover the envelope (for example a reply's ``req_id``) of a
        message whose content failed to decode.
        """

    def _local_server(self):
        return self.server if self.server is not None else server_registry.get_server()

    # -- encoding ----------------------------------------------------------

    def encode(self, obj):
        """Convert an object the wire format lacks into a tagged dict (or a plain value).

        Numpy scalars become Python numbers; arrays, dates and proxies become tagged
        dicts; anything else is sent as a proxy to the local object.
        """
        if isinstance(obj, ObjectProxy):
            return obj._to_dict()
        if isinstance(obj, np.ndarray) and not obj.dtype.hasobject:
            return self.encode_ndarray(obj)
        if isinstance(obj, np.generic) and not isinstance(obj, np.void):
            return obj.item()
        if isinstance(obj, datetime.datetime):
            return {TYPE_KEY: "datetime", "data": obj.strftime(DATETIME_FORMAT)}
        if isinstance(obj, datetime.date):
            return {TYPE_KEY: "date", "data": obj.strftime(DATE_FORMAT)}
        if isinstance(obj, (bytes, bytearray, memoryview)):
            return self.encode_bytes(bytes(obj))
        if isinstance(obj, tuple):
            return list(obj)
        return self.encode_proxy(obj)

    def encode_ndarray(self, arr):
        """Tag an array: raw C-order bytes, dtype and shape."""
        # A byte view of the (C-ordered) data: packed without an extra copy.
        raw = memoryview(np.ascontiguousarray(arr).reshape(-1).view(np.uint8))
        return {TYPE_KEY: "ndarray", "data": self.wrap_bytes(raw),
                "dtype": dtype_description(arr), "shape": list(arr.shape)}

    def encode_bytes(self, data):
        """Return *data* as the format carries bytes (native, or a tagged dict)."""
        return data

    def wrap_bytes(self, data):
        """Return raw bytes (any bytes-like object) as placed inside a tagged dict."""
        return data

    def unwrap_bytes(self, data):
        """Inverse of ``wrap_bytes``; accepts base64 text in any format."""
        if isinstance(data, str):
            return base64.b64decode(data.encode("ascii"), validate=True)
        if isinstance(data, bytes):
            return data
        raise TypeError(f"expected bytes or base64 text, got {type(data).__name__}")

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

    # -- decoding ----------------------------------------------------------

    def decode(self, dct):
        """Turn a tagged dict back into its object; other dicts pass through."""
        type_name = dct.get(TYPE_KEY)
        if type_name is None:
            return dct
        decoder = self._decoders.get(type_name)
        if decoder is None:
            raise ValueError(f"unknown serialized type {type_name!r}")
        return decoder(self, dct)

    def _decode_ndarray(self, dct):
        data = dct["data"]
        # A memoryview is a payload left in the received frame (see msgpack_views):
        # writable memory of our own, used as it is.
        is_view = isinstance(data, memoryview)
        if not is_view:
            data = self.unwrap_bytes(data)
        dtype = decode_dtype(dct["dtype"])
        shape = dct["shape"]
        if not isinstance(shape, list) or not all(
                type(n) is int and n >= 0 for n in shape):
            raise ValueError("ndarray shape must be a list of non-negative ints")
        count = math.prod(shape)
        if count * dtype.itemsize != len(data):
            raise ValueError(f"ndarray of shape {shape} and dtype {dtype} needs "
                             f"{count * dtype.itemsize} bytes, got {len(data)}")
        if count == 0:
            return np.zeros(shape, dtype=dtype)
        array = np.frombuffer(data, dtype=dtype).reshape(shape)
        return array if is_view else array.copy()

    def _decode_datetime(self, dct):
        return datetime.datetime.strptime(_text(dct["data"]), DATETIME_FORMAT)

    def _decode_date(self, dct):
        return datetime.datetime.strptime(_text(dct["data"]), DATE_FORMAT).date()

    def _decode_none(self, dct):
        return None

    def _decode_bytes(self, dct):
        return self.unwrap_bytes(dct["data"])

    def _decode_proxy(self, dct):
        rpc_addr, obj_id, ref_id = dct["rpc_addr"], dct["obj_id"], dct["ref_id"]
        type_str = dct.get("type_str", "")
        attributes = dct.get("attributes", [])
        if not (isinstance(rpc_addr, str) and type(obj_id) is int
                and type(ref_id) is int and isinstance(type_str, str)
                and isinstance(attributes, list)
                and all(isinstance(a, str) for a in attributes)):
            raise ValueError(f"malformed proxy: {dct!r}")
        server = self._local_server()
        if server is not None and rpc_addr == server.address:
            return server.unwrap_reference(obj_id, ref_id, attributes)
        key = dct.get("server_key")
        if key is not None:
            if not isinstance(key, str):
                raise ValueError(f"malformed proxy: server_key must be text, got {key!r}")
            if curve.server_key(rpc_addr) != key.encode("ascii", "replace"):
                curve.add_server_key(rpc_addr, key)
        lent = dct.get("lent")
        if lent is not None and not isinstance(lent, str):
            raise ValueError(f"malformed proxy: lent must be text, got {lent!r}")
        proxy = ObjectProxy(rpc_addr, obj_id, ref_id, type_str, attributes)
        proxy.__dict__["_lent"] = lent
        if self.client is not None and rpc_addr == self.client.address:
            self.client._adopt_proxy(proxy)
        return proxy

    _decoders = {
        "ndarray": _decode_ndarray,
        "datetime": _decode_datetime,
        "date": _decode_date,
        "none": _decode_none,
        "bytes": _decode_bytes,
        "proxy": _decode_proxy,
    }


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


def _text(value):
    if not isinstance(value, str):
        raise TypeError(f"expected text, got {type(value).__name__}")
    return value


def decode_dtype(desc):
    """Build a dtype from its wire description without evaluating anything.

    A plain dtype travels as its string (``'float64'``, ``'<i2'``); a structured one
    as its ``descr`` list of ``[name, format]`` or ``[name, format, shape]``.
    Object dtypes are refused: their bytes would be pointers.
    """
    if isinstance(desc, str):
        dtype = np.dtype(desc)
    elif isinstance(desc, list):
        dtype = np.dtype([_descr_field(field) for field in desc])
    else:
        raise TypeError(f"dtype must be a string or a list, got {type(desc).__name__}")
    if dtype.hasobject:
        raise ValueError("object dtypes cannot be sent by value")
    return dtype


def _descr_field(field):
    if not isinstance(field, list) or len(field) not in (2, 3):
        raise ValueError(f"malformed structured dtype field {field!r}")
    name, fmt = field[0], field[1]
    if isinstance(name, list):
        name = tuple(name)
    if isinstance(fmt, list):
        fmt = [_descr_field(sub) for sub in fmt]
    elif not isinstance(fmt, str):
        raise TypeError(f"malformed structured dtype format {fmt!r}")
    if len(field) == 2:
        return (name, fmt)
    shape = field[2]
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise ValueError(f"malformed structured dtype shape {shape!r}")
    return (name, fmt, tuple(shape))


def dtype_description(arr):
    """An array's dtype as tagged dicts carry it: its str, or its descr if structured."""
    dtype = arr.dtype
    return dtype.descr if dtype.names is not None else str(dtype)


class MsgpackSerializer(Serializer):
    """The default serializer: compact, and carries bytes natively."""

    type = "msgpack"

    def __init__(self, server=None, client=None):
        super().__init__(server, client)
        # One packer per serializer keeps its buffer between messages.
        self._packer = msgpack.Packer(default=self.encode, use_bin_type=True, autoreset=False)
        # While packed() packs: the large arrays left for msgpack_frames to write.
        self._framed = None
        self._headers = ArrayHeaders(TYPE_KEY, dtype_description)

    def dumps(self, obj, allow_proxy=True):
        self._pack(obj, allow_proxy)
        return self._take_bytes()

    def packed(self, obj, allow_proxy=True):
        """Serialize *obj*: a frame of its own if it holds large arrays (each copied
        once, see msgpack_frames), else the packer's buffer lent until the ``with``
        block ends (copied to bytes if pyzmq would not copy it)."""
        self._framed = []
        try:
            self._pack(obj, allow_proxy)
        finally:
            framed, self._framed = self._framed, None
        if framed:
            with _LentBuffer(self._packer) as compact:
                frame = build_frame(compact, framed, self._headers)
            if frame is not None:
                return contextlib.nullcontext(frame)
            self._pack(obj, allow_proxy)
        with self._packer.getbuffer() as view:
            large = view.nbytes >= zmq.COPY_THRESHOLD
        if large:
            return contextlib.nullcontext(self._take_bytes())
        return _LentBuffer(self._packer)

    def _take_bytes(self):
        """The bytes of what the packer holds, which it then forgets."""
        try:
            return self._packer.bytes()
        finally:
            self._packer.reset()

    def encode_ndarray(self, arr):
        framed = self._framed
        if framed is not None and is_framed(arr):
            with self._packer.getbuffer() as packed_so_far:
                framed.append((packed_so_far.nbytes, arr))
            return placeholder(len(framed) - 1)
        return super().encode_ndarray(arr)

    def _pack(self, obj, allow_proxy):
        self._allow_proxy = allow_proxy
        try:
            self._packer.pack(obj)
        except BaseException:
            self._packer.reset()
            raise
        finally:
            self._allow_proxy = True

    def loads(self, msg):
        return msgpack.unpackb(msg, object_hook=self.decode, raw=False,
                               strict_map_key=False)

    def loads_owned(self, msg):
        """Decode *msg*, leaving large arrays in it as writable views (see msgpack_views)."""
        if len(msg) >= MIN_VIEW_BYTES:
            decoded, obj = unpack_with_views(msg, self.decode)
            if decoded:
                return obj
        return self.loads(msg)

    def loads_plain(self, msg):
        return msgpack.unpackb(msg, raw=False, strict_map_key=False)


class _LentBuffer:
    """Context manager lending a msgpack Packer's buffer, then emptying the packer."""

    __slots__ = ("_packer", "_view")

    def __init__(self, packer):
        self._packer = packer
        self._view = None

    def __enter__(self):
        self._view = self._packer.getbuffer()
        return self._view

    def __exit__(self, *exc_info):
        self._view.release()
        self._packer.reset()


class JsonSerializer(Serializer):
    """Serializer for clients that have only json: bytes travel as base64 text."""

    type = "json"

    def dumps(self, obj, allow_proxy=True):
        self._allow_proxy = allow_proxy
        try:
            return json.dumps(obj, default=self.encode).encode()
        finally:
            self._allow_proxy = True

    def loads(self, msg):
        return json.loads(_json_text(msg), object_hook=self.decode)

    def loads_plain(self, msg):
        return json.loads(_json_text(msg))

    def encode_bytes(self, data):
        return {TYPE_KEY: "bytes", "data": self.wrap_bytes(data)}

    def wrap_bytes(self, data):
        return base64.b64encode(data).decode("ascii")


def _json_text(msg):
    """json reads bytes and str only: copy a received frame (or other buffer) to bytes."""
    return msg if isinstance(msg, (bytes, str)) else bytes(msg)


all_serializers = {
    MsgpackSerializer.type: MsgpackSerializer,
    JsonSerializer.type: JsonSerializer,
}
