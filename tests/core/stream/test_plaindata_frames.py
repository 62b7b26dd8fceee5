"""plaindata chunks, small (sent inline with their header) and large (own frame), arrive
read-only and exact in every layout, and polling does not lose or invent chunks."""
import numpy as np
import pytest
from pyacq.core.stream import InputStream, OutputStream
from pyacq.core.stream.plaindatastream import INLINE_LIMIT

SMALL = 8  # samples of 16 float32 channels: 512 bytes, sent inline
LARGE = INLINE_LIMIT // 16  # samples of 16 float32 channels: past the inline limit


@pytest.mark.parametrize("protocol", ["tcp", "ipc", "inproc"])
@pytest.mark.parametrize("length", [SMALL, LARGE], ids=["inline", "own frame"])
def test_chunks_arrive_read_only_and_exact(protocol, length):
    """C-ordered, transposed (Fortran-ordered) and strided chunks below and above the inline
    limit arrive with their bytes and index intact, as read-only arrays (they view the
    received message, which other readers may share)."""
    out, inp = OutputStream(), InputStream()
    try:
        out.configure(protocol=protocol, transfermode="plaindata", dtype="float32",
                      shape=(-1, 16))
        inp.connect(out)
        base = np.arange(length * 32, dtype="float32").reshape(length, 32)
        chunks = [np.ascontiguousarray(base[:, :16]),
                  np.asfortranarray(base[:, 16:]),
                  base[:, ::2]]
        index = 0
        for chunk in chunks:
            out.send(chunk)
            index += length
            assert inp.poll(timeout=10000), "chunk did not arrive within 10 s"
            received_index, data = inp.recv()
            assert received_index == index
            assert np.array_equal(data, chunk) and data.dtype == chunk.dtype
            assert not data.flags.writeable
            with pytest.raises(ValueError, match="read-only"):
                data[0, 0] = 1
        assert not inp.poll(timeout=0)
    finally:
        inp.close()
        out.close()


def test_poll_reports_exactly_the_waiting_chunks():
    """poll() is True while chunks wait and False once they are read, with or without a
    timeout, and keeps working over many calls (its poller is reused)."""
    out, inp = OutputStream(), InputStream()
    try:
        out.configure(protocol="inproc", transfermode="plaindata", dtype="int16", shape=(-1, 2))
        inp.connect(out)
        for round_ in range(200):
            assert not inp.poll(timeout=0)
            out.send(np.full((3, 2), round_, dtype="int16"))
            assert inp.poll(timeout=10000)
            assert inp.poll(timeout=0)
            index, data = inp.recv()
            assert index == 3 * (round_ + 1) and (data == round_).all()
    finally:
        inp.close()
        out.close()
