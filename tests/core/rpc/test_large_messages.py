"""Large messages: arrays as out-of-band frames, used in place, documented replies for plain
clients, no page faults."""
import resource
import sys

import msgpack
import numpy as np
import pytest
import zmq
from pyacq.core.rpc import protocol
from pyacq.core.rpc.codec import JsonCodec, MsgpackCodec
from pyacq.core.rpc.malloc_tuning import keep_large_buffers_mapped

BIG = 1 << 17  # elements: every array below but the last two is at least 128 KiB

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


def received(buffers):
    """What a tcp/ipc socket hands over: each frame in memory of its own."""
    return [zmq.Frame(bytes(buffer), copy=True) for buffer in buffers]


def root_of(array):
    """What an array's memory belongs to (None for an array that owns its data)."""
    base = array
    while isinstance(base, np.ndarray):
        base = base.base
    return base


@pytest.mark.parametrize("name", ARRAYS)
@pytest.mark.parametrize("cls", [MsgpackCodec, JsonCodec])
def test_arrays_out_of_band_equal_writable_aligned(cls, name):
    """Every dtype/shape/order sent out of band equals the original and decodes as a
    writable, aligned array; in line (no buffers list, as for plain clients) gives the same."""
    arr = ARRAYS[name]
    codec = cls()
    buffers = []
    body = codec.dumps({"rval": [arr, {"again": arr}]}, buffers=buffers)
    large = arr.nbytes >= protocol.OUT_OF_BAND_BYTES
    assert len(buffers) == (2 if large else 0)
    decoded = [codec.loads(body, received(buffers), owned=True)["rval"],
               codec.loads(codec.dumps({"rval": [arr, {"again": arr}]}))["rval"]]
    for rval in decoded:
        for back in (rval[0], rval[1]["again"]):
            assert back.dtype == arr.dtype and back.shape == arr.shape
            assert back.tobytes() == np.ascontiguousarray(arr).tobytes()
            assert back.flags.writeable and back.flags.aligned


def test_owned_frames_are_used_in_place():
    """An array from a frame this process owns is a view of that frame (no copy); from a
    frame that may be the sender's memory (inproc: owned=False) it is a copy, and writing
    to it leaves the frame intact."""
    codec = MsgpackCodec()
    buffers = []
    body = codec.dumps({"a": np.arange(BIG, dtype="float64")}, buffers=buffers)
    frames = received(buffers)
    in_place = codec.loads(body, frames, owned=True)["a"]
    assert root_of(in_place) is frames[0]
    copied = codec.loads(body, frames, owned=False)["a"]
    copied[:] = -1
    assert root_of(copied) is None and np.array_equal(in_place, np.arange(BIG, dtype="float64"))


def test_out_of_band_body_is_plain_msgpack_naming_the_frame():
    """The body of an out-of-band message decodes with plain msgpack: each large array is
    the documented tagged dict with 'frame' (its buffer's index) in place of 'data'."""
    codec = MsgpackCodec()
    buffers = []
    arrays = [ARRAYS["float64 C"], ARRAYS["structured"]]
    plain = msgpack.unpackb(codec.dumps({"rval": arrays, "small": np.arange(3)}, buffers=buffers),
                            raw=False)
    for index, (tagged, arr) in enumerate(zip(plain["rval"], arrays)):
        assert tagged == {"___type_name___": "ndarray", "dtype": codec.loads_plain(
            codec.dumps(arr))["dtype"], "shape": list(arr.shape), "frame": index}
        assert bytes(buffers[index]) == np.ascontiguousarray(arr).tobytes()
    assert plain["small"]["data"] == np.arange(3).tobytes()


def test_buffers_are_the_arrays_own_memory_when_contiguous():
    """An out-of-band buffer is a C-contiguous array's own memory (the sender decides whether
    ZeroMQ copies it), and a C-order copy of any other array."""
    codec = MsgpackCodec()
    contiguous, transposed = ARRAYS["float64 C"], ARRAYS["int16 transposed"]
    buffers = []
    codec.dumps([contiguous, transposed], buffers=buffers)
    assert np.shares_memory(buffers[0], contiguous) and not np.shares_memory(buffers[1], transposed)
    assert bytes(buffers[1]) == np.ascontiguousarray(transposed).tobytes()


@pytest.mark.parametrize("cls", [MsgpackCodec, JsonCodec])
@pytest.mark.parametrize("frame", [1, -1, "0", None])
def test_missing_or_bad_frame_references_are_refused(cls, frame):
    """A tagged array naming a frame the message does not have is refused, as is one whose
    frame has another size than its shape and dtype declare."""
    codec = cls()
    tagged = {"___type_name___": "ndarray", "dtype": "float64", "shape": [4], "frame": frame}
    body = codec.dumps({"a": tagged})
    with pytest.raises(ValueError, match="frame"):
        codec.loads(body, [zmq.Frame(bytes(32))], owned=True)
    tagged["frame"] = 0
    with pytest.raises(ValueError, match="needs 32 bytes, got 24"):
        codec.loads(codec.dumps({"a": tagged}), [zmq.Frame(bytes(24))], owned=True)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc tuning")
def test_repeated_large_messages_do_not_page_fault():
    """With freed buffers kept mapped, decoding 1 MiB in-line messages again and again touches
    no fresh pages (untuned glibc faults in about 512 pages, 2 MiB, per message)."""
    assert keep_large_buffers_mapped()
    codec = MsgpackCodec()
    message = codec.dumps({"rval": np.arange(BIG, dtype="float64")})
    for _ in range(5):
        codec.loads(message)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        codec.loads(message)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    assert faults < 200, f"{faults} page faults for 50 decodes"


def test_large_arrays_round_trip_through_a_spawned_process(spawn):
    """A real round trip (1 MiB float64, a structured array, a transposed int16 array) to a
    spawned process and back returns equal, writable arrays, received as frames of their
    own once the server said it reads them."""
    proc = spawn(name="large-messages")
    asarray = proc.client._import("numpy").asarray
    for name in ("float64 C", "structured", "int16 transposed"):
        arr = ARRAYS[name]
        back = asarray(arr)
        assert back.tobytes() == np.ascontiguousarray(arr).tobytes() and back.flags.writeable
        assert isinstance(root_of(back), zmq.Frame)  # a view of the received frame
    assert proc.client._server_reads_frames


def test_async_call_sends_the_array_as_it_was_at_the_call(spawn):
    """An array passed to an async call may be changed as soon as the call returns: the
    server receives the values it had at the call."""
    proc = spawn(name="async-arrays")
    total = proc.client._import("numpy").sum
    proc.client.ping()  # the server has said it reads out-of-band frames
    arr = np.ones(BIG)
    future = total(arr, _sync="async")
    arr[:] = 0
    assert future.result(timeout=10) == BIG


@pytest.fixture
def raw_dealer(spawn):
    """A bare DEALER connected to a spawned server, as a custom client would be."""
    proc = spawn(name="raw-peer")
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(proc.address)
    yield proc, sock
    sock.close()


@pytest.mark.parametrize("extended", [False, True])
def test_plain_clients_get_the_documented_single_frame(raw_dealer, extended):
    """A client that sends the 5 documented frames gets one frame back, the array in line;
    one that appends the EXTENSION frame gets [body, EXTENSION, array bytes], and then one
    frame for a reply without large arrays."""
    proc, sock = raw_dealer
    codec = MsgpackCodec(encode_object=lambda proxy: proxy._to_dict())
    zeros = proc.client._import("numpy").zeros
    opts = codec.dumps({"obj": zeros, "args": [BIG], "kwargs": {}})
    request = [b"1", b"call_obj", b"auto", b"msgpack", opts] + ([protocol.EXTENSION] if extended else [])
    sock.send_multipart(request)
    assert sock.poll(10000), "no reply"
    reply = sock.recv_multipart()
    if extended:
        assert len(reply) == 3 and reply[1] == protocol.EXTENSION and len(reply[2]) == 8 * BIG
        assert msgpack.unpackb(reply[0], raw=False)["rval"]["frame"] == 0
        # Both sides have announced: a message without large arrays is one frame again.
        sock.send_multipart([b"2", b"ping", b"auto", b"msgpack", b""])
        assert sock.poll(10000), "no reply"
        assert len(sock.recv_multipart()) == 1
    else:
        assert len(reply) == 1
        rval = codec.loads(reply[0])["rval"]
        assert rval.shape == (BIG,) and not rval.any()
