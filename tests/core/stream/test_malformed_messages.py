"""A message that is not a chunk of its stream is a counted, logged rejection: never a crash,
never an allocation of what it claims, and the next good chunk is received normally.

The messages are injected through the output's own publishing socket, over tcp: what a
buggy or hostile publisher at the stream's address would send.
"""
import logging
import resource
import struct

import numpy as np
import pytest
from pyacq.core.stream import InputStream, MalformedMessageError, OutputStream
from pyacq.core.stream.plaindatastream import _header_struct

LOGGER = "pyacq.core.stream.inputstream"
GOOD = np.arange(40, dtype="float32").reshape(10, 4)


def _pair(streams, **config):
    out, inp = OutputStream(), InputStream(name="probe")
    streams(out)
    streams(inp)
    out.configure(protocol="tcp", dtype="float32", shape=(-1, 4), **config)
    inp.connect(out)
    return out, inp


def inject(out, frames):
    """Publish raw *frames* (one message) on the output's socket."""
    with out._lock:
        out._publisher.socket.send_multipart(frames)


def header(index, shape, flags=0, epoch=0, ndim=None):
    ndim = len(shape) if ndim is None else ndim
    return _header_struct(ndim).pack(index, epoch, flags, ndim, *shape)


INLINE = 2
PLAINDATA_GARBAGE = {
    "empty frame": [b""],
    "short header": [b"abc"],
    "unknown flags": [header(10, (10, 4), flags=8), GOOD.tobytes()],
    "three dimensions": [header(10, (10, 4, 1)), GOOD.tobytes()],
    "wrong channel count": [header(10, (8, 5)), GOOD.tobytes()],
    "negative length": [header(10, (-10, 4)), GOOD.tobytes()],
    "starts before index 0": [header(5, (10, 4)), GOOD.tobytes()],
    "body shorter than header says": [header(10, (10, 4)), GOOD.tobytes()[:100]],
    "huge shape, small body": [header(1 << 40, (1 << 40, 4)), GOOD.tobytes()],
    "inline body of wrong size": [header(10, (10, 4), flags=INLINE) + b"\x00" * 7],
    "two-frame header alone": [header(10, (10, 4))],
    "inline with an extra frame": [header(10, (10, 4), flags=INLINE) + GOOD.tobytes(), b"x"],
    "extra frames": [header(10, (10, 4)), GOOD.tobytes(), b"x", b"y"],
    "header frame too long": [header(10, (10, 4)) + b"\x00", GOOD.tobytes()],
}


@pytest.mark.parametrize("name", PLAINDATA_GARBAGE)
def test_plaindata_garbage_is_rejected_and_next_chunk_received(streams, caplog, name):
    """Each malformed plaindata message is rejected (rejected_count, one warning naming the
    stream and what was wrong); recv() then returns the next good chunk, index and data."""
    out, inp = _pair(streams, transfermode="plaindata")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        inject(out, PLAINDATA_GARBAGE[name])
        out.send(GOOD)
        assert inp.poll(10000)
        index, data = inp.recv()
    assert index == 10 and np.array_equal(data, GOOD)
    assert inp.rejected_count == 1
    warnings = [r for r in caplog.records if "rejected a message" in r.getMessage()]
    assert len(warnings) == 1 and "'probe'" in warnings[0].getMessage()
    assert inp.gap_count == 0


def test_poll_is_true_only_for_a_chunk(streams):
    """poll() over nothing but a malformed message returns False (the message is rejected);
    once a good chunk arrives poll() is True and recv() returns it without waiting."""
    out, inp = _pair(streams, transfermode="plaindata")
    inject(out, [b"garbage"])
    assert not inp.poll(300)
    assert inp.rejected_count == 1
    out.send(GOOD)
    assert inp.poll(10000) and inp.poll(0)
    index, data = inp.recv()
    assert index == 10 and np.array_equal(data, GOOD)
    assert not inp.poll(0)


def test_rejections_are_logged_at_a_limited_rate(streams, caplog):
    """A flood of malformed messages is counted exactly, and logged once (per interval)."""
    out, inp = _pair(streams, transfermode="plaindata")
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for _ in range(200):
            inject(out, [b"garbage"])
        out.send(GOOD)
        assert inp.poll(10000)
        assert inp.recv()[0] == 10
    assert inp.rejected_count == 200
    assert len([r for r in caplog.records if "rejected a message" in r.getMessage()]) == 1


def test_compressed_chunk_claiming_a_huge_size_is_not_allocated(streams):
    """A blosc frame whose header claims 1 GiB (as the chunk's header does: more than
    MAX_COMPRESSION_RATIO times its size), or another size than the chunk's header says,
    is refused before decompressing: no GiB allocation, the next chunk arrives."""
    pytest.importorskip("blosc")
    out, inp = _pair(streams, transfermode="plaindata", compression="blosc-lz4")
    forged = bytearray(16 + 64)
    forged[0:4] = bytes([2, 1, 0x01, 4])  # version, lz version, flags (shuffle), typesize
    struct.pack_into("<III", forged, 4, 1 << 30, 1 << 16, len(forged))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    inject(out, [header(1 << 26, (1 << 26, 4)), bytes(forged)])  # 1 GiB, as blosc claims
    inject(out, [header(10, (10, 4)), bytes(forged)])
    out.send(GOOD)
    assert inp.poll(10000)
    index, data = inp.recv()
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert index == 10 and np.array_equal(data, GOOD)
    assert inp.rejected_count == 2
    assert grown < 256 << 10, f"max RSS grew by {grown} KiB"  # ru_maxrss is in KiB


SHAREDMEM_GARBAGE = {
    "short": [struct.pack("<qI", 10, 0)],
    "long": [struct.pack("<qIqq", 10, 0, 10, 0)],
    "two frames": [struct.pack("<qIq", 10, 0, 10), b"x"],
    "more samples than the buffer": [struct.pack("<qIq", 10 ** 6, 0, 10 ** 6)],
    "negative samples": [struct.pack("<qIq", 10, 0, -5)],
    "starts before index 0": [struct.pack("<qIq", 3, 0, 10)],
    "ahead of the writer": [struct.pack("<qIq", 50, 0, 10)],
}


@pytest.mark.parametrize("name", SHAREDMEM_GARBAGE)
def test_sharedmem_garbage_index_is_rejected_and_next_chunk_read(streams, caplog, name):
    """Each malformed sharedmem index message is rejected and logged; the next chunk is read
    from shared memory as usual."""
    out, inp = _pair(streams, transfermode="sharedmem", buffer_size=100)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        inject(out, SHAREDMEM_GARBAGE[name])
        out.send(GOOD)
        assert inp.poll(10000)
        index, data = inp.recv(return_data=True)
    assert index == 10 and np.array_equal(data, GOOD)
    assert inp.rejected_count == 1
    assert "'probe'" in caplog.text and "index message" in caplog.text


def test_receivers_raise_malformed_message_error():
    """The error receivers raise is a ValueError, exported by pyacq.core.stream."""
    assert issubclass(MalformedMessageError, ValueError)
