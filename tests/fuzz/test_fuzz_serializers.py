"""Fuzz target: both serializers decoding arbitrary bytes and mutated valid messages.

Decoding may refuse a message only with the errors ``Serializer.loads`` documents
(ValueError, TypeError), and it has no side effect: the keyring stays as it was and no
file is opened, whatever the message says (proxies carrying server keys for pinned,
learnt, plain and unknown addresses, and server keys that are paths).
"""
import builtins
import contextlib
import datetime
import io
import os
import pathlib

import numpy as np
import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st
from pyacq.core.rpc import curve
from pyacq.core.rpc.serializer import all_serializers

SERIALIZERS = sorted(all_serializers)
KEYS = [zmq.curve_keypair()[0].decode() for _ in range(3)]
PINNED, LEARNT, PLAIN, UNKNOWN = (f"tcp://127.0.0.1:{port}" for port in (5101, 5102, 5103, 5104))
#: What decoding may raise for a message it refuses (see Serializer.loads).
DECODING_ERRORS = (ValueError, TypeError)


def set_up_keyring():
    """A keyring holding one key of each kind; return a copy of what it holds."""
    curve.forget_keys()
    curve.add_server_key(PINNED, KEYS[0])
    curve.learn_server_key(LEARNT, KEYS[1])
    curve.note_plain_server(PLAIN)
    return keyring()


def keyring():
    return (dict(curve._server_keys), set(curve._pinned_addresses), set(curve._plain_addresses))


@contextlib.contextmanager
def files_watched():
    """Record every way of opening a file while decoding (the list of what was opened)."""
    opened = []

    def refuse(file, *args, **kwds):
        opened.append(file)
        raise AssertionError(f"decoding opened {file!r}")

    targets = [(builtins, "open"), (io, "open"), (os, "open"), (pathlib.Path, "open"),
               (pathlib.Path, "read_text"), (pathlib.Path, "read_bytes")]
    originals = [getattr(owner, name) for owner, name in targets]
    for owner, name in targets:
        setattr(owner, name, refuse)
    try:
        yield opened
    finally:
        for (owner, name), original in zip(targets, originals, strict=True):
            setattr(owner, name, original)


@pytest.fixture(scope="module", autouse=True)
def keyring_emptied_after():
    """The keyring is process-wide: leave it empty for the tests that follow."""
    yield
    curve.forget_keys()


def decode(ser_type, data, buffers=()):
    """Decode *data* with a fresh serializer; return the error class it raised, or None."""
    ser = all_serializers[ser_type]()
    try:
        ser.loads(data, buffers, owned=True)
    except DECODING_ERRORS as exc:
        return type(exc)
    return None


def check_decoding(ser_type, data, buffers=()):
    """Decoding *data* raises only documented errors, changes no keyring and opens no file."""
    before = set_up_keyring()
    try:
        with files_watched() as opened:
            decode(ser_type, data, buffers)
        assert opened == []
        assert keyring() == before
    finally:
        curve.forget_keys()


# -- valid messages ------------------------------------------------------------------

server_keys = st.one_of(st.none(), st.sampled_from(KEYS), st.just("/etc/hostname"),
                        st.text(max_size=45))
proxies = st.fixed_dictionaries(
    {"___type_name___": st.just("proxy"),
     "rpc_addr": st.sampled_from([PINNED, LEARNT, PLAIN, UNKNOWN]),
     "obj_id": st.integers(0, 2 ** 40), "ref_id": st.integers(0, 2 ** 40),
     "type_str": st.text(max_size=20), "attributes": st.lists(st.text(max_size=8), max_size=3)},
    optional={"server_key": server_keys, "lent": st.text(max_size=20)})
ARRAY_DTYPES = ["float32", "<f8", "int16", ">i4", "uint8", "bool", "complex64",
                np.dtype([("a", "<i4"), ("b", "<f8", (2,))])]


def _array(dtype, shape, seed):
    """An array of *dtype* and *shape* whose bytes are *seed* repeated (their values do not
    matter to decoding, only their size)."""
    dtype = np.dtype(dtype)
    count = int(np.prod(shape))
    return np.frombuffer(bytes([seed]) * (count * dtype.itemsize), dtype=dtype).reshape(shape)


# Arrays from bytes rather than hypothesis.extra.numpy: drawing element values cost most of
# the time per example, and the decoder only sees bytes, a dtype and a shape.
arrays = st.builds(_array, st.sampled_from(ARRAY_DTYPES),
                   st.lists(st.integers(0, 4), max_size=3).map(tuple), st.integers(0, 255))
leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 63, 2 ** 63 - 1),
    st.floats(allow_nan=False), st.text(max_size=20), st.binary(max_size=20),
    st.dates(min_value=datetime.date(1900, 1, 1)),
    st.datetimes(min_value=datetime.datetime(1900, 1, 1)),
    arrays, proxies)
values = st.recursive(
    leaves, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                    st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)
requests = st.fixed_dictionaries({"obj": proxies, "args": st.lists(values, max_size=3),
                                  "kwargs": st.dictionaries(st.text(max_size=8), values,
                                                            max_size=2)})
replies = st.fixed_dictionaries({
    "action": st.just("return"), "req_id": st.integers(0, 2 ** 31), "rval": values,
    "error": st.one_of(st.none(), st.just(["ValueError", ["Traceback ...\n"]]))})
messages = st.one_of(requests, replies)


def encoded(ser_type, message, out_of_band):
    """*message* as its serializer sends it: bytes, and out-of-band frames if asked."""
    ser = all_serializers[ser_type]()
    buffers = [] if out_of_band else None
    data = ser.dumps(message, buffers=buffers)
    return data, [bytes(buffer) for buffer in buffers or ()]


# -- mutations -----------------------------------------------------------------------

mutations = st.lists(st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10 ** 6), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10 ** 6)),
    st.tuples(st.just("extend"), st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("insert"), st.integers(0, 10 ** 6), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("delete"), st.integers(0, 10 ** 6), st.integers(1, 8)),
), min_size=1, max_size=4)


def mutated(data, steps):
    """*data* with each step of *steps* applied (positions taken modulo its length)."""
    data = bytearray(data)
    for step in steps:
        kind, *args = step
        at = args[0] % (len(data) + 1) if kind != "extend" else 0
        if kind == "flip" and data:
            data[at % len(data)] = args[1]
        elif kind == "truncate":
            del data[at:]
        elif kind == "extend":
            data += args[0]
        elif kind == "insert":
            data[at:at] = args[1]
        elif kind == "delete":
            del data[at:at + args[1]]
    return bytes(data)


# -- targets -------------------------------------------------------------------------

@pytest.mark.parametrize("ser_type", SERIALIZERS)
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_are_decoded_or_refused_without_side_effects(ser_type, data):
    """Any bytes decode or raise ValueError/TypeError, leave the keyring as it was and open
    no file."""
    check_decoding(ser_type, data)


@pytest.mark.parametrize("ser_type", SERIALIZERS)
@given(message=messages, steps=mutations, out_of_band=st.booleans())
def test_mutated_messages_are_decoded_or_refused_without_side_effects(ser_type, message, steps,
                                                                     out_of_band):
    """A valid request or reply (proxies carrying keys or paths, arrays in line or out of band,
    dates, bytes, nested data) decodes, each proxy holding the server_key its message carried,
    unless a server_key is not a key's text (ValueError). With bytes flipped, cut, added or
    removed, or an out-of-band frame changed, it decodes or raises ValueError/TypeError. Either
    way the keyring stays as it was and no file is opened."""
    data, buffers = encoded(ser_type, message, out_of_band)
    check_untouched(ser_type, message, data, buffers)
    check_decoding(ser_type, mutated(data, steps), buffers)
    if buffers:
        check_decoding(ser_type, data, [mutated(buffers[0], steps)] + buffers[1:])


def check_untouched(ser_type, message, data, buffers):
    """The untouched *message* decodes, unless a server_key is not a key's text, into proxies
    holding the keys it carried; the keyring is unchanged."""
    sent_keys = [proxy.get("server_key") for proxy in _wire_proxies(message)]
    valid = all(key is None or curve.is_key_text(key) for key in sent_keys)
    before = set_up_keyring()
    try:
        ser = all_serializers[ser_type]()
        if valid:
            decoded = ser.loads(data, buffers, owned=True)
            received = [proxy._server_key for proxy in _decoded_proxies(decoded)]
            assert received == [key.encode() if key else None for key in sent_keys]
        else:
            with pytest.raises(ValueError, match="server_key must be a CURVE public key"):
                ser.loads(data, buffers, owned=True)
        assert keyring() == before
    finally:
        curve.forget_keys()


def _wire_proxies(value):
    """The proxy wire dicts in *value*, depth first."""
    if isinstance(value, dict):
        if value.get("___type_name___") == "proxy":
            return [value]
        return [p for item in value.values() for p in _wire_proxies(item)]
    if isinstance(value, list):
        return [p for item in value for p in _wire_proxies(item)]
    return []


def _decoded_proxies(value):
    from pyacq.core.rpc.proxy import ObjectProxy
    if isinstance(value, ObjectProxy):
        return [value]
    if isinstance(value, dict):
        return [p for item in value.values() for p in _decoded_proxies(item)]
    if isinstance(value, list):
        return [p for item in value for p in _decoded_proxies(item)]
    return []
