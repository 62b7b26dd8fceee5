"""Serializers: documented wire format, round trips, and safe decoding."""
import base64
import datetime
import json

import msgpack
import numpy as np
import pytest
from pyacq.core.rpc import ObjectProxy
from pyacq.core.rpc.serializer import (
    JsonSerializer,
    MsgpackSerializer,
    Serializer,
    all_serializers,
)

SERIALIZERS = [MsgpackSerializer, JsonSerializer]

ARRAYS = [
    np.arange(12, dtype="float64").reshape(3, 4),
    np.arange(5, dtype=">i2"),
    np.array(3.5, dtype="float32"),
    np.zeros((0, 3), dtype="uint8"),
    np.arange(10)[::3],
    np.asfortranarray(np.arange(6).reshape(2, 3)),
    np.array([True, False]),
    np.array(["ab", "cde"]),
    np.array(["2020-01-02T03:04:05"], dtype="datetime64[ns]"),
    np.array([(1, 2.5, [1, 2]), (3, 4.5, [5, 6])],
             dtype=[("a", "<i4"), ("b", "<f8"), ("c", "u1", (2,))]),
    np.zeros(2, dtype=[("outer", [("x", "<f4"), ("y", "<f4")]), ("n", "<i8")]),
]


def test_registry_lists_both_serializers():
    """all_serializers maps the ser_type names to the documented classes."""
    assert all_serializers["msgpack"] is MsgpackSerializer
    assert all_serializers["json"] is JsonSerializer
    assert issubclass(MsgpackSerializer, Serializer) and issubclass(JsonSerializer, Serializer)


@pytest.mark.parametrize("cls", SERIALIZERS)
def test_plain_types_round_trip(cls):
    """int, float, str, bool, None, list and dict come back equal; tuples become lists."""
    ser = cls()
    value = {"i": -3, "f": 1.5, "s": "héllo", "t": True, "n": None, "l": [1, [2, "x"]],
             "d": {"k": {"nested": []}}, "tuple": (1, 2)}
    back = ser.loads(ser.dumps(value))
    expected = dict(value, tuple=[1, 2])
    assert back == expected
    assert type(back["t"]) is bool and back["n"] is None


@pytest.mark.parametrize("cls", SERIALIZERS)
@pytest.mark.parametrize("arr", ARRAYS, ids=lambda a: str(a.dtype))
def test_ndarrays_round_trip(cls, arr):
    """Arrays of any shape, order and dtype (structured too) come back equal and writable."""
    ser = cls()
    back = ser.loads(ser.dumps({"a": arr}))["a"]
    assert isinstance(back, np.ndarray)
    assert back.dtype == arr.dtype and back.shape == arr.shape
    assert back.tobytes() == np.ascontiguousarray(arr).tobytes()
    assert back.flags.writeable


@pytest.mark.parametrize("cls", SERIALIZERS)
def test_special_types_round_trip(cls):
    """bytes, datetime, date and numpy scalars survive; numpy scalars become Python numbers."""
    ser = cls()
    value = [b"\x00\xffbin", datetime.datetime(2021, 5, 6, 7, 8, 9, 123456),
             datetime.date(1999, 12, 31), np.float32(1.5), np.int64(7), np.bool_(True)]
    back = ser.loads(ser.dumps(value))
    assert back[:3] == value[:3]
    assert back[3:] == [1.5, 7, True]
    assert [type(v) for v in back[3:]] == [float, int, bool]


@pytest.mark.parametrize("cls", SERIALIZERS)
def test_proxy_round_trip(cls):
    """A proxy travels as its documented fields and comes back as an equal proxy."""
    ser = cls()
    proxy = ObjectProxy("tcp://127.0.0.1:5", 3, 4, "<class 'X'>", ("a", "b"))
    back = ser.loads(ser.dumps([proxy]))[0]
    assert isinstance(back, ObjectProxy)
    assert back == proxy
    assert (back._rpc_addr, back._obj_id, back._ref_id, back._type_str, back._attributes) == \
        ("tcp://127.0.0.1:5", 3, 4, "<class 'X'>", ("a", "b"))


def test_documented_tags_in_json():
    """json output uses the documented '___type_name___' dicts (bytes in base64)."""
    ser = JsonSerializer()
    arr = np.array([1.0, 2.0])
    out = json.loads(ser.dumps([arr, b"ab", datetime.datetime(2020, 1, 2, 3, 4, 5, 6),
                                datetime.date(2020, 1, 2)]))
    assert out[0] == {"___type_name___": "ndarray", "dtype": "float64", "shape": [2],
                      "data": base64.b64encode(arr.tobytes()).decode()}
    assert out[1] == {"___type_name___": "bytes", "data": base64.b64encode(b"ab").decode()}
    assert out[2] == {"___type_name___": "datetime", "data": "2020-01-02T03:04:05.000006"}
    assert out[3] == {"___type_name___": "date", "data": "2020-01-02"}


def test_documented_tags_in_msgpack():
    """msgpack carries bytes natively and arrays as tagged dicts with raw data."""
    ser = MsgpackSerializer()
    arr = np.array([1, 2], dtype="int32")
    out = msgpack.unpackb(ser.dumps([arr, b"ab"]), raw=False)
    assert out[0] == {"___type_name___": "ndarray", "dtype": "int32", "shape": [2],
                      "data": arr.tobytes()}
    assert out[1] == b"ab"


@pytest.mark.parametrize("cls", SERIALIZERS)
def test_documented_none_tag_decodes(cls):
    """The documented {'___type_name___': 'none'} decodes to None."""
    ser = cls()
    raw = (json.dumps if cls is JsonSerializer else msgpack.packb)([{"___type_name___": "none"}])
    raw = raw.encode() if isinstance(raw, str) else raw
    assert ser.loads(raw) == [None]


def test_unserializable_object_needs_a_server():
    """An object without value encoding becomes a proxy only if a server can own it."""
    with pytest.raises(TypeError, match="no RPCServer"):
        MsgpackSerializer().dumps([object()])


def test_unserializable_object_becomes_proxy(lazy_server):
    """With a server in the thread, an arbitrary object is sent as a proxy to it."""
    obj = object()
    out = msgpack.unpackb(MsgpackSerializer().dumps([obj]), raw=False)[0]
    assert out["___type_name___"] == "proxy"
    assert out["rpc_addr"] == lazy_server.address
    assert lazy_server.unwrap_reference(out["obj_id"], out["ref_id"]) is obj


def test_value_only_dumps_refuses_proxies(lazy_server):
    """dumps(..., allow_proxy=False) raises instead of making a proxy."""
    with pytest.raises(TypeError, match="by value"):
        MsgpackSerializer().dumps(object(), allow_proxy=False)


@pytest.mark.parametrize("cls", SERIALIZERS)
@pytest.mark.parametrize("tagged", [
    {"___type_name___": "pickle", "data": "gASVAAAAAAAAAACMAm9zlC4="},
    {"___type_name___": "ndarray", "data": "", "dtype": "__import__('os').getpid()", "shape": [1]},
    {"___type_name___": "ndarray", "data": "", "dtype": "O", "shape": [0]},
    {"___type_name___": "ndarray", "data": "AAAA", "dtype": "float64", "shape": [1]},
    {"___type_name___": "ndarray", "data": "AAAAAAAAAAA=", "dtype": "float64", "shape": [-1]},
    {"___type_name___": "ndarray", "data": "AAAAAAAAAAA=", "dtype": {"x": 1}, "shape": [1]},
    {"___type_name___": "datetime", "data": 5},
    {"___type_name___": "ndarray", "data": "", "dtype": "(,4)f8", "shape": [0]},
    {"___type_name___": "ndarray", "data": "", "shape": [0]},
    {"___type_name___": "date"},
    {"___type_name___": "proxy", "rpc_addr": 1, "obj_id": "x", "ref_id": 0},
    {"___type_name___": "proxy"},
], ids=lambda t: t["___type_name___"])
def test_hostile_tags_are_rejected_without_evaluation(cls, tagged):
    """Unknown tags, code or broken shapes in dtype strings, object dtypes, size mismatches,
    missing fields all raise one of the documented decoding errors (ValueError, TypeError)."""
    raw = json.dumps(tagged).encode() if cls is JsonSerializer else msgpack.packb(tagged)
    with pytest.raises((ValueError, TypeError)):
        cls().loads(raw)


@pytest.mark.parametrize("cls", SERIALIZERS)
def test_message_nested_too_deep_is_a_value_error(cls):
    """A message nesting lists deeper than the parser or the interpreter allow is refused with
    ValueError (json's parser would raise RecursionError)."""
    depth = 200_000
    raw = b"[" * depth + b"]" * depth if cls is JsonSerializer else b"\x91" * depth + b"\xc0"
    with pytest.raises(ValueError):
        cls().loads(raw)


@pytest.mark.parametrize("cls", SERIALIZERS)
def test_lent_argument_says_what_it_stands_for(cls, lazy_server):
    """An argument sent as a proxy (it has no value form) carries the extra field 'lent'
    describing the object; the receiver's proxy keeps it in _lent. Plain proxies have none."""
    class Client:
        address = "tcp://127.0.0.1:1"

    def handler():
        pass

    raw = cls(client=Client()).dumps([handler, np.array([None, 1], dtype=object)])
    decoded = (json.loads(raw) if cls is JsonSerializer else msgpack.unpackb(raw, raw=False))
    assert decoded[0]["lent"].startswith("a function (") and decoded[0]["lent"].endswith(".handler)")
    assert decoded[1]["lent"] == "a numpy array of dtype object"
    for wire in decoded:
        wire["rpc_addr"] = "tcp://127.0.0.1:2"  # as received in another process
    receiver = cls()
    proxies = receiver.loads(json.dumps(decoded) if cls is JsonSerializer else msgpack.packb(decoded))
    assert [p._lent for p in proxies] == [decoded[0]["lent"], "a numpy array of dtype object"]
    assert ObjectProxy("tcp://127.0.0.1:2", 1, 1)._lent is None


@pytest.mark.parametrize("cls", SERIALIZERS)
def test_proxy_wire_form_follows_the_server_key(cls):
    """A proxy encoded before its server's key is known carries the key once it is learnt
    (and no longer once it is forgotten): its cached wire form follows the keyring."""
    from pyacq.core.rpc import curve
    ser = cls()
    address = "tcp://127.0.0.1:7"
    proxy = ObjectProxy(address, 3, 4, "<class 'X'>", ("a",))
    assert "server_key" not in ser.loads_plain(ser.dumps(proxy))
    key = "x" * curve.Z85_KEY_LENGTH
    curve.add_server_key(address, key)
    try:
        assert ser.loads_plain(ser.dumps(proxy))["server_key"] == key
    finally:
        curve.remove_server_key(address)
    assert "server_key" not in ser.loads_plain(ser.dumps(proxy))
    assert "server_key" not in proxy._to_dict()


def test_to_dict_returns_a_copy_callers_may_change():
    """_to_dict() gives a dict of its own each time: changing it does not change what the
    proxy sends next."""
    proxy = ObjectProxy("tcp://127.0.0.1:5", 3, 4, "<class 'X'>")
    proxy._to_dict()["lent"] = "something"
    assert "lent" not in MsgpackSerializer().loads_plain(MsgpackSerializer().dumps(proxy))


def test_dtype_descriptions_keep_byte_order_and_width():
    """Arrays of dtypes that differ only in byte order or width are described apart, also
    once their descriptions are remembered (each array encoded twice)."""
    codec = MsgpackSerializer()
    for _ in range(2):
        for dtype, name in (("<f8", "float64"), (">f8", ">f8"), ("=f8", "float64"),
                            ("<i2", "int16"), (">i2", ">i2"), ("U3", "<U3")):
            tagged = codec.loads_plain(codec.dumps(np.zeros(2, dtype=dtype)))
            assert tagged["dtype"] == name
            assert codec.loads(codec.dumps(np.zeros(2, dtype=dtype))).dtype == np.dtype(dtype)
