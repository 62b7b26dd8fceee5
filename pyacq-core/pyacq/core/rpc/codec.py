"""Pure encoding of RPC messages: msgpack or json bytes to Python values and back.

A codec knows the wire formats and nothing else: no server, no client, no keyring, no
network. int, float, str, bool, None, list and dict travel natively; numpy arrays,
numpy scalars, dates, datetimes, bytes (in json) and tuples (as lists) are converted
here; other objects (proxies, objects sent by proxy) are handed to the
``encode_object`` hook, and tagged proxy dicts to the ``decode_proxy`` hook, which the
layer above (``serializer``) provides. Decoding builds only plain data, arrays, dates
and what ``decode_proxy`` returns: nothing in a message is evaluated or unpickled, so
a hostile message can at worst be refused.

Given a *buffers* list, ``dumps`` sends each array of at least
``protocol.OUT_OF_BAND_BYTES`` out of band: the array's bytes are appended to *buffers*
and its tagged dict holds ``'frame': i`` instead of ``'data'`` (see ``protocol``).
"""
import abc
import base64
import datetime
import functools
import json
import math
from typing import ClassVar

import msgpack
import numpy as np

from .protocol import OUT_OF_BAND_BYTES, TYPE_KEY

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f"
DATE_FORMAT = "%Y-%m-%d"


def _no_object_encoding(obj):
    raise TypeError(f"cannot encode {type(obj).__name__}: it has no value form")


def _proxy_fields(dct):
    return dct


class Codec(abc.ABC):
    """Converts between Python values and one wire format's bytes.

    *encode_object(obj)* returns the wire form (usually a tagged dict) of an object
    that has no value encoding; by default such objects raise TypeError.
    *decode_proxy(dct)* turns a tagged proxy dict into what the message stands for; by
    default the dict itself is returned. Subclasses set ``type`` (the name sent in the
    ``ser_type`` frame) and implement ``_dump``, ``_load`` and ``loads_plain``.
    """

    type: ClassVar[str]

    def __init__(self, encode_object=None, decode_proxy=None):
        self._encode_object = encode_object or _no_object_encoding
        self._decode_proxy = decode_proxy or _proxy_fields
        self._encoders = {}  # type -> how encode() converts its values
        # While dumps() runs: where out-of-band arrays go.
        self._buffers = None
        # While loads() runs: the out-of-band frames, and whether they may be used in place.
        self._frames = ()
        self._frames_owned = False

    def dumps(self, obj, buffers=None):
        """Return *obj* encoded as bytes; large arrays go to *buffers* if it is a list.

        An out-of-band buffer is the array's own memory when it is C-contiguous: the
        sender copies it (``send(copy=True)``) unless the array cannot change before the
        message is sent.
        """
        if buffers is None:
            return self._dump(obj)
        self._buffers = buffers
        try:
            return self._dump(obj)
        finally:
            self._buffers = None

    def loads(self, data, buffers=(), owned=False):
        """Return the value encoded in *data* (bytes or any buffer, such as a zmq.Frame).

        *buffers* are the out-of-band frames the message refers to. With *owned* True
        they are writable memory that nothing else uses (frames received over tcp or
        ipc, not inproc, where a frame may be the sender's own memory), and large arrays
        are decoded as views of them. Decoded arrays are always writable.

        Raises
        ------
        ValueError
            *data* is not a valid message of this format (the parsers' own errors, such
            as ``json.JSONDecodeError``, ``UnicodeDecodeError`` and msgpack's
            ``ExtraData`` or ``StackError``, are ValueErrors), nests deeper than the
            interpreter's recursion limit, or holds a tagged dict that is malformed (a
            missing field, an array whose data does not match its dtype and shape, an
            unknown type name).
        TypeError
            A value has the wrong type (a dtype that is not a string or a list, an
            unhashable msgpack map key, ...).
        """
        try:
            if not buffers:
                return self._load(data)
            self._frames, self._frames_owned = buffers, owned
            try:
                return self._load(data)
            finally:
                self._frames = ()
        except RecursionError:
            raise ValueError("message nested deeper than the interpreter's recursion limit") from None

    @abc.abstractmethod
    def _dump(self, obj):
        """Encode *obj* to bytes, calling ``encode`` for values the format lacks."""

    @abc.abstractmethod
    def _load(self, data):
        """Decode *data*, calling ``decode`` for every dict."""

    @abc.abstractmethod
    def loads_plain(self, data):
        """Decode *data* without interpreting type tags.

        Used to recover the envelope (for example a reply's ``req_id``) of a message
        whose content failed to decode.
        """

    # -- encoding ----------------------------------------------------------

    def encode(self, obj):
        """Convert a value the wire format lacks into a tagged dict (or a plain value)."""
        kind = type(obj)
        encoder = self._encoders.get(kind)
        if encoder is None:
            # Decided once per type: the isinstance chain would cost more than the
            # encoding on every proxy of every request.
            encoder = self._encoders[kind] = self._encoder_for(kind)
        return encoder(obj)

    def _encoder_for(self, kind):
        """The method that encodes values of type *kind* (see ``encode``)."""
        if issubclass(kind, np.ndarray):
            return self._encode_array
        if issubclass(kind, np.generic) and not issubclass(kind, np.void):
            return _item
        if issubclass(kind, datetime.datetime):
            return _tagged_datetime
        if issubclass(kind, datetime.date):
            return _tagged_date
        if issubclass(kind, (bytes, bytearray, memoryview)):
            return self._encode_bytes_like
        if issubclass(kind, tuple):
            return list
        return self._encode_object

    def _encode_array(self, arr):
        if arr.dtype.hasobject:
            return self._encode_object(arr)
        return self.encode_ndarray(arr)

    def _encode_bytes_like(self, data):
        return self.encode_bytes(bytes(data))

    def encode_ndarray(self, arr):
        """Tag an array: its C-order bytes (in line, or a frame's index), dtype and shape."""
        tagged = {TYPE_KEY: "ndarray", "dtype": dtype_description(arr), "shape": list(arr.shape)}
        buffers = self._buffers
        if buffers is not None and arr.nbytes >= OUT_OF_BAND_BYTES:
            tagged["frame"] = len(buffers)
            buffers.append(_bytes_of(arr))
            return tagged
        tagged["data"] = self.wrap_bytes(memoryview(_bytes_of(arr)))
        return tagged

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

    # -- decoding ----------------------------------------------------------

    def decode(self, dct):
        """Turn a tagged dict back into its value; other dicts pass through."""
        type_name = dct.get(TYPE_KEY)
        if type_name is None:
            return dct
        if type_name == "proxy":  # in every request: straight to the hook
            return self._decode_proxy(dct)
        decoder = self._decoders.get(type_name)
        if decoder is None:
            raise ValueError(f"unknown serialized type {type_name!r}")
        try:
            return decoder(self, dct)
        except KeyError as missing:
            raise ValueError(f"malformed {type_name}: no field {missing}") from None

    def _decode_ndarray(self, dct):
        dtype = decode_dtype(dct["dtype"])
        shape = dct["shape"]
        valid = isinstance(shape, list)
        for length in shape if valid else ():  # a loop, not all(): no generator per array
            valid = valid and type(length) is int and length >= 0
        if not valid:
            raise ValueError("ndarray shape must be a list of non-negative ints")
        in_place = "frame" in dct
        if in_place:
            data = self._frame(dct["frame"])
            size = memoryview(data).nbytes
        else:
            data = self.unwrap_bytes(dct["data"])
            size = len(data)
        count = math.prod(shape)
        if count * dtype.itemsize != size:
            raise ValueError(f"ndarray of shape {shape} and dtype {dtype} needs "
                             f"{count * dtype.itemsize} bytes, got {size}")
        if count == 0:
            return np.zeros(shape, dtype=dtype)
        array = np.frombuffer(data, dtype=dtype)
        if len(shape) != 1:  # reshape costs about 1 us; frombuffer's array is 1-d already
            array = array.reshape(shape)
        if in_place and self._frames_owned and array.flags.writeable and array.flags.aligned:
            return array
        return array.copy()

    def _frame(self, index):
        """The out-of-band frame *index*, itself: an array decoded in place has it as its
        ``base`` (see ``exclusive_memory``)."""
        frames = self._frames
        if type(index) is not int or not 0 <= index < len(frames):
            raise ValueError(f"ndarray refers to frame {index!r}, but the message has "
                             f"{len(frames)} out-of-band frames")
        return frames[index]

    def _decode_datetime(self, dct):
        return datetime.datetime.strptime(_text(dct["data"]), DATETIME_FORMAT)

    def _decode_date(self, dct):
        return datetime.datetime.strptime(_text(dct["data"]), DATE_FORMAT).date()

    def _decode_none(self, dct):
        return None

    def _decode_bytes(self, dct):
        return self.unwrap_bytes(dct["data"])

    _decoders = {
        "ndarray": _decode_ndarray,
        "datetime": _decode_datetime,
        "date": _decode_date,
        "none": _decode_none,
        "bytes": _decode_bytes,
    }


def _item(scalar):
    return scalar.item()


def _tagged_datetime(value):
    return {TYPE_KEY: "datetime", "data": value.strftime(DATETIME_FORMAT)}


def _tagged_date(value):
    return {TYPE_KEY: "date", "data": value.strftime(DATE_FORMAT)}


def _bytes_of(arr):
    """The C-order bytes of *arr* as a uint8 array: a view when it is C-contiguous."""
    return np.ascontiguousarray(arr).reshape(-1).view(np.uint8)


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
        dtype = _parsed_dtype(desc)
    elif isinstance(desc, list):
        dtype = _parsed_dtype([_descr_field(field) for field in desc])
    else:
        raise TypeError(f"dtype must be a string or a list, got {type(desc).__name__}")
    if dtype.hasobject:
        raise ValueError("object dtypes cannot be sent by value")
    return dtype


def _parsed_dtype(desc):
    # numpy parses the shapes in a dtype string with ast.literal_eval: a malformed one
    # (``'(,4)f8'``) raises SyntaxError, which is a malformed message here like any other.
    try:
        return np.dtype(desc)
    except SyntaxError:
        raise ValueError(f"malformed dtype {desc!r}") from None


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
    return dtype.descr if dtype.names is not None else _dtype_name(dtype)


@functools.lru_cache(maxsize=256)
def _dtype_name(dtype):
    # numpy makes a dtype's str in Python (about 4 us): once per dtype is enough. Equal
    # plain dtypes have the same str.
    return str(dtype)


class MsgpackCodec(Codec):
    """The default format: compact, and carries bytes natively."""

    type = "msgpack"

    def __init__(self, encode_object=None, decode_proxy=None):
        super().__init__(encode_object, decode_proxy)
        # One packer per codec keeps its buffer between messages.
        self._packer = msgpack.Packer(default=self.encode, use_bin_type=True)

    def _dump(self, obj):
        try:
            return self._packer.pack(obj)
        except BaseException:
            self._packer.reset()
            raise

    def _load(self, data):
        return msgpack.unpackb(data, object_hook=self.decode, raw=False, strict_map_key=False)

    def loads_plain(self, data):
        """Decode msgpack *data* with the type tags left as dicts."""
        return msgpack.unpackb(data, raw=False, strict_map_key=False)


class JsonCodec(Codec):
    """The format for clients that have only json: bytes travel as base64 text."""

    type = "json"

    def _dump(self, obj):
        return json.dumps(obj, default=self.encode).encode()

    def _load(self, data):
        return json.loads(_json_text(data), object_hook=self.decode)

    def loads_plain(self, data):
        """Decode json *data* with the type tags left as dicts."""
        return json.loads(_json_text(data))

    def encode_bytes(self, data):
        """Bytes as a tagged dict holding base64 text: json has no bytes type."""
        return {TYPE_KEY: "bytes", "data": self.wrap_bytes(data)}

    def wrap_bytes(self, data):
        """Raw bytes as the base64 text a tagged dict holds."""
        return base64.b64encode(data).decode("ascii")


def _json_text(data):
    """The text json can read: bytes and str as they are, any other buffer (a frame) copied."""
    return data if isinstance(data, (bytes, str)) else bytes(data)


#: Codec classes by the name sent in the ``ser_type`` frame.
codecs = {MsgpackCodec.type: MsgpackCodec, JsonCodec.type: JsonCodec}
