"""Fuzz target: stream receivers fed arbitrary messages on a real stream socket.

An InputStream connected over tcp to an OutputStream receives, through the output's own
publishing socket, plaindata messages (headers with any index, epoch, flags, dimensions
and shape, bodies of any size, missing or extra frames, compressed or not) or sharedmem
index messages (any index, epoch and sample count, of any length), then a good chunk.
Every injected message is either rejected (counted in ``rejected_count``) or received as
a chunk; receiving never raises anything else (a sharedmem index that designates
overwritten samples raises the documented BufferOverrunError) and the good chunk arrives
intact after them.
"""
import logging
import struct

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyacq.core.stream import BufferOverrunError, InputStream, OutputStream
from pyacq.core.stream.plaindatastream import _header_struct

GOOD = np.arange(40, dtype="float32").reshape(10, 4)
RECEIVE_TIMEOUT_MS = 10000
MARKER_STEP = 10 ** 9 + 7


class Stream:
    """An output and an input connected over tcp, for a whole module."""

    def __init__(self, **config):
        self.out, self.inp = OutputStream(), InputStream(name="fuzzed")
        self.out.configure(protocol="tcp", dtype="float32", shape=(-1, 4), **config)
        self.inp.connect(self.out)
        self.marker = 0

    def inject(self, frames):
        with self.out._lock:
            self.out._publisher.socket.send_multipart(frames)

    def receive_through(self, messages):
        """Inject *messages*, send a good chunk, and receive up to it; return how many
        injected messages came out as chunks (the others must have been rejected)."""
        rejected = self.inp.rejected_count
        for frames in messages:
            self.inject(frames)
        # An index no drawn message holds: the good chunk is told from accepted ones by it.
        self.marker += MARKER_STEP
        self.out.send(GOOD, index=self.marker)
        chunks = 0
        while True:
            assert self.inp.poll(RECEIVE_TIMEOUT_MS), "the good chunk did not arrive"
            try:
                index, data = self.inp.recv(return_data=True)
            except BufferOverrunError:
                chunks += 1
                continue
            if index == self.marker:
                assert np.array_equal(data, GOOD)
                break
            chunks += 1
        assert chunks + self.inp.rejected_count - rejected == len(messages)
        return chunks

    def close(self):
        self.inp.close()
        self.out.close()


@pytest.fixture(scope="module")
def quiet_rejections():
    """Rejections are logged (rate-limited); keep the fuzzing's out of the report."""
    logger = logging.getLogger("pyacq.core.stream.inputstream")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="module")
def plaindata(quiet_rejections):
    """An uncompressed plaindata stream."""
    stream = Stream(transfermode="plaindata")
    yield stream
    stream.close()


@pytest.fixture(scope="module")
def compressed(quiet_rejections):
    """A blosc-compressed plaindata stream."""
    pytest.importorskip("blosc")
    stream = Stream(transfermode="plaindata", compression="blosc-lz4")
    yield stream
    stream.close()


@pytest.fixture(scope="module")
def sharedmem(quiet_rejections):
    """A sharedmem stream whose ring holds 64 samples."""
    stream = Stream(transfermode="sharedmem", buffer_size=64)
    yield stream
    stream.close()


# -- plaindata messages -------------------------------------------------------------

@st.composite
def plaindata_messages(draw):
    """A header (fields drawn near and far from valid ones) and its frames."""
    ndim = draw(st.one_of(st.just(2), st.integers(0, 6)))
    shape = draw(st.lists(st.one_of(st.integers(0, 12), st.just(4), st.integers(-2 ** 63, 2 ** 63 - 1)),
                          min_size=ndim, max_size=ndim))
    index = draw(st.one_of(st.integers(0, 10 ** 6), st.integers(-2 ** 63, 2 ** 63 - 1)))
    epoch = draw(st.integers(0, 2 ** 32 - 1))
    flags = draw(st.one_of(st.sampled_from([0, 1, 2, 3]), st.integers(0, 255)))
    header = _header_struct(ndim).pack(index, epoch, flags, ndim, *shape)
    header = draw(st.one_of(st.just(header), st.binary(max_size=40),
                            st.builds(lambda cut: header[:cut], st.integers(0, len(header)))))
    count = 1
    for length in shape:
        count *= max(length, 0)
    exact = b"\x01" * (4 * count) if 0 <= count <= 4096 else b""
    body = draw(st.one_of(st.just(exact), st.binary(max_size=200)))
    layout = draw(st.sampled_from(["inline", "two frames", "extra frames", "header only"]))
    if layout == "inline":
        return [header + body]
    if layout == "two frames":
        return [header, body]
    if layout == "extra frames":
        return [header, body] + draw(st.lists(st.binary(max_size=8), min_size=1, max_size=3))
    return [header]


@given(messages=st.lists(plaindata_messages(), min_size=1, max_size=8))
def test_plaindata_receiver_rejects_or_receives_every_header(plaindata, messages):
    """Each plaindata message is rejected or received as a chunk; the good chunk after them
    arrives intact."""
    plaindata.receive_through(messages)


@st.composite
def compressed_messages(draw):
    """A valid header and a blosc frame whose header fields are drawn (sizes, flags)."""
    count = draw(st.integers(0, 64))
    header = _header_struct(2).pack(count + draw(st.integers(0, 100)), 0, 0, 2, count, 4)
    blosc_header = struct.pack("<BBBBIII", 2, 1, draw(st.integers(0, 255)), 4,
                               draw(st.one_of(st.just(16 * count), st.integers(0, 2 ** 32 - 1))),
                               draw(st.integers(0, 2 ** 32 - 1)),
                               draw(st.integers(0, 2 ** 32 - 1)))
    payload = draw(st.binary(max_size=200))
    if draw(st.booleans()):  # make the declared compressed size match the frame
        frame = bytearray(blosc_header + payload)
        struct.pack_into("<I", frame, 12, len(frame))
        blosc_header, payload = bytes(frame[:16]), bytes(frame[16:])
    return [header, blosc_header + payload]


@given(messages=st.lists(compressed_messages(), min_size=1, max_size=8))
def test_compressed_receiver_rejects_forged_blosc_frames(compressed, messages):
    """Blosc frames with forged headers are rejected (never decompressed into what they
    claim) or received; the good chunk after them arrives intact."""
    compressed.receive_through(messages)


# -- sharedmem index messages -------------------------------------------------------

@st.composite
def index_messages(draw):
    """An index message with fields near and far from valid ones, of any length, with or
    without extra frames."""
    index = draw(st.one_of(st.integers(0, 200), st.integers(-2 ** 63, 2 ** 63 - 1)))
    epoch = draw(st.integers(0, 2 ** 32 - 1))
    count = draw(st.one_of(st.integers(-2, 80), st.integers(-2 ** 63, 2 ** 63 - 1)))
    message = struct.pack("<qIq", index, epoch, count)
    message = draw(st.one_of(st.just(message), st.binary(max_size=40),
                             st.builds(lambda cut: message[:cut], st.integers(0, 19))))
    extra = draw(st.lists(st.binary(max_size=8), max_size=2))
    return [message, *extra]


@given(messages=st.lists(index_messages(), min_size=1, max_size=8))
def test_sharedmem_receiver_rejects_or_receives_every_index(sharedmem, messages):
    """Each sharedmem index message is rejected or received (reading its samples gives them,
    or BufferOverrunError for overwritten ones); the good chunk after them arrives intact."""
    sharedmem.receive_through(messages)
