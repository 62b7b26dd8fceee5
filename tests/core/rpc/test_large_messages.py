"""Large messages: arrays decoded in place from received frames, identical results, no page faults."""
import resource
import sys

import msgpack
import numpy as np
import pytest
import zmq
from pyacq.core.rpc import msgpack_views
from pyacq.core.rpc.malloc_tuning import keep_large_buffers_mapped
from pyacq.core.rpc.serializer import JsonSerializer, MsgpackSerializer

BIG = 1 << 17  # elements: every array below is at least 128 KiB

ARRAYS = {
    "float64 C": np.arange(BIG, dtype="float64").reshape(-1, 8),
    "float32 F": np.asfortranarray(np.arange(BIG, dtype="float32").reshape(256, -1)),
    "int16 transposed": np.arange(2 * BIG, dtype="<i2").reshape(512, -1).T,
    "big-endian int32 strided": np.arange(4 * BIG, dtype=">i4")[::3],
    "uint8 3-d": (np.arange(3 * BIG) % 251).astype("uint8").reshape(64, -1, 3),
    "complex128": np.arange(BIG) * (1 + 2j),
    "bool": np.arange(BIG) % 3 == 0,
    "datetime64": np.arange(BIG).astype("datetime64[ns]"),
    "structured": np.zeros(BIG // 4, dtype=[("t", "<f8"), ("code", "<i4"), ("xy", "<f4", (2,))]),
    "small float64": np.arange(10.0),
    "empty": np.zeros((0, 4), dtype="float32"),
}


def received(data):
    """What a tcp/ipc socket hands the serializer: a frame in memory of its own."""
    return zmq.Frame(data, copy=True)


def decoded_from_frame(obj):
    ser = MsgpackSerializer()
    frame = received(ser.dumps(obj))
    return ser.loads_owned(frame), frame


def frame_of(array):
    """The memoryview chain an in-place array keeps alive (None for a copied array)."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return base


@pytest.mark.parametrize("name", ARRAYS)
@pytest.mark.parametrize("cls", [MsgpackSerializer, JsonSerializer])
def test_arrays_from_frames_equal_writable_aligned(cls, name):
    """Every dtype/shape/order decoded from a received frame equals the original and is a
    writable, aligned array (both serializers; an ordinary bytes message gives the same)."""
    arr = ARRAYS[name]
    ser = cls()
    message = ser.dumps({"action": "return", "req_id": 7, "rval": [arr, {"again": arr}],
                         "error": None})
    for source in (received(message), message):
        rval = ser.loads_owned(source)["rval"]
        for back in (rval[0], rval[1]["again"]):
            assert back.dtype == arr.dtype and back.shape == arr.shape
            assert back.tobytes() == np.ascontiguousarray(arr).tobytes()
            assert back.flags.writeable and back.flags.aligned


def test_large_arrays_are_views_of_the_frame():
    """msgpack decodes large arrays of a received frame in place (no copy): they are views
    of the frame, independent of each other, and writing one changes nothing else."""
    a, b = np.arange(BIG, dtype="float64"), np.ones(BIG, dtype="uint8")
    out, frame = decoded_from_frame({"a": a, "b": b, "small": np.arange(3)})
    assert frame_of(out["a"]).obj is frame and frame_of(out["b"]).obj is frame
    assert frame_of(out["small"]) is None  # small arrays are copied
    assert not np.shares_memory(out["a"], out["b"])
    out["a"][:] = -1
    assert np.array_equal(out["b"], b) and np.array_equal(out["small"], np.arange(3))


def test_large_plain_bytes_stay_bytes():
    """Only tagged ndarray payloads become views: a large bytes value still decodes to bytes."""
    blob = bytes(range(256)) * 1024
    out, _ = decoded_from_frame({"blob": blob, "arr": np.zeros(BIG)})
    assert type(out["blob"]) is bytes and out["blob"] == blob


def non_canonical_message(arr):
    """A valid message another encoder could write: tag keys as str8 instead of fixstr."""
    def str8(text):
        return b"\xd9" + bytes([len(text)]) + text.encode()
    data = np.ascontiguousarray(arr).tobytes()
    return (b"\x84" + str8("___type_name___") + str8("ndarray") + str8("data")
            + b"\xc6" + len(data).to_bytes(4, "big") + data
            + str8("dtype") + msgpack.packb(str(arr.dtype)) + str8("shape")
            + msgpack.packb(list(arr.shape)))


def test_longer_string_encodings_are_decoded_in_place():
    """A message another encoder wrote with str8 keys instead of fixstr still has its array
    decoded in place, equal to the original."""
    arr = np.arange(BIG, dtype="float64")
    frame = received(non_canonical_message(arr))
    decoded, back = msgpack_views.unpack_with_views(frame, MsgpackSerializer().decode)
    assert decoded and np.array_equal(back, arr) and frame_of(back).obj is frame


def nested(value, depth):
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("case", ["ext type", "many items", "deep", "two objects"])
def test_unusual_messages_decode_the_ordinary_way(case):
    """Messages the in-place walk does not handle fall back to ordinary decoding: same
    result as from bytes, and the frame is left untouched."""
    arr = np.arange(BIG, dtype="float64")
    packb = MsgpackSerializer().dumps
    message = {
        "ext type": lambda: packb([msgpack.ExtType(5, b"xyz"), arr]),
        "many items": lambda: packb([list(range(msgpack_views.MAX_ITEMS)), arr]),
        "deep": lambda: packb(nested(arr, msgpack_views.MAX_DEPTH + 1)),
        "two objects": lambda: packb(arr) + packb(1),
    }[case]()
    assert msgpack_views.unpack_with_views(received(message), lambda d: d) == (False, None)
    ser = MsgpackSerializer()
    frame = received(message)
    if case == "two objects":
        with pytest.raises(msgpack.ExtraData):
            ser.loads_owned(frame)
    else:
        back = ser.loads_owned(frame)
        expected = ser.loads(message)
        assert repr(back) == repr(expected)
    assert frame.bytes == message


def test_truncated_and_corrupt_frames_raise_and_stay_intact():
    """A truncated message or a payload of the wrong size raises the ordinary decoding error
    (the server turns it into an error reply) and leaves the frame as it was."""
    ser = MsgpackSerializer()
    good = ser.dumps({"a": np.arange(BIG, dtype="float64")})
    for message in (good[:-100], good.replace(b"float64", b"float32")):
        frame = received(message)
        with pytest.raises(ValueError):
            ser.loads_owned(frame)
        assert frame.bytes == message


def test_shared_frames_are_copied_not_changed():
    """loads() (used for frames received over inproc, which may be the sender's own bytes
    shared without a copy) copies: the sender's bytes stay intact and the arrays are still writable."""
    ser = MsgpackSerializer()
    message = ser.dumps({"a": np.arange(BIG, dtype="float64")})
    original = bytes(message)
    shared = zmq.Frame(message, copy=False)
    back = ser.loads(shared)["a"]
    back[:] = -1
    assert frame_of(back) is None and message == original


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_repeated_large_messages_do_not_page_fault():
    """With freed buffers kept mapped, decoding 1 MiB messages again and again touches no
    fresh pages (untuned glibc faults in about 512 pages, 2 MiB, per message)."""
    assert keep_large_buffers_mapped()
    ser = MsgpackSerializer()
    message = ser.dumps({"rval": np.arange(BIG, dtype="float64")})
    for _ in range(5):
        ser.loads(message)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        ser.loads(message)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 200, f"{faults} page faults for 50 decodes"


def test_large_arrays_round_trip_through_a_spawned_process(spawn):
    """A real round trip (1 MiB float64, a structured array, a transposed int16 array) to a
    spawned process and back returns equal, writable arrays."""
    proc = spawn(name="large-messages")
    asarray = proc.client._import("numpy").asarray
    for name in ("float64 C", "structured", "int16 transposed"):
        arr = ARRAYS[name]
        back = asarray(arr)
        assert back.tobytes() == np.ascontiguousarray(arr).tobytes() and back.flags.writeable


def payload_offsets(frame):
    """Offsets in *frame* of the bin32 payloads of its tagged ndarrays (found by the walk)."""
    walk = msgpack_views._Walk(memoryview(frame).cast("B"))
    assert walk.item(0, 0) == len(frame)
    return [start + 5 for start, _ in walk.payloads]


@pytest.mark.parametrize("prefix", range(8))
def test_sent_frames_align_arrays_and_decode_anywhere(prefix):
    """packed() writes each large array once, at a multiple of 8 bytes in the frame, whatever
    precedes it; the frame is plain msgpack (decoded without pyacq, the arrays are the
    documented tagged dicts), and loads_owned uses the arrays in place without moving them."""
    arrays = [ARRAYS["float64 C"], ARRAYS["structured"], ARRAYS["big-endian int32 strided"]]
    message = {"pad": "x" * prefix, "rval": arrays, "small": np.arange(3)}
    ser = MsgpackSerializer()
    with ser.packed(message) as buffer:
        frame = bytes(buffer)
    assert frame != ser.dumps(message)  # not the packer's ordinary output ...
    assert [offset % 8 for offset in payload_offsets(frame)] == [0, 0, 0]
    plain = msgpack.unpackb(frame, raw=False)  # ... but the same values to any decoder
    assert plain["pad"] == "x" * prefix
    for tagged, arr in zip(plain["rval"], arrays):
        assert tagged["___type_name___"] == "ndarray" and tagged["shape"] == list(arr.shape)
        assert tagged["data"] == np.ascontiguousarray(arr).tobytes()
    zmq_frame = received(frame)
    back = ser.loads_owned(zmq_frame)
    assert zmq_frame.bytes == frame  # nothing moved
    for got, arr in zip(back["rval"], arrays):
        assert frame_of(got).obj is zmq_frame and got.flags.aligned and got.flags.writeable
        assert got.dtype == arr.dtype and got.tobytes() == np.ascontiguousarray(arr).tobytes()
    assert np.array_equal(back["small"], np.arange(3))


def test_packed_buffers_outlive_the_next_message():
    """Buffers that pyzmq would send without copying (64 KiB and more) are not the packer's
    own: they keep their content while the serializer packs other messages."""
    ser = MsgpackSerializer()
    messages = [{"blob": bytes([7]) * 100_000}, {"arr": np.full(BIG, 3.0)}]
    for message in messages:
        with ser.packed(message) as buffer:
            kept = buffer
        with ser.packed({"other": bytes(200_000), "arr": np.zeros(BIG)}):
            pass
        assert ser.loads(bytes(kept)).keys() == message.keys()
        assert repr(ser.loads(bytes(kept))) == repr(ser.loads(ser.dumps(message)))
