"""Fixtures shared by the stream tests: leak checks and chunk generators."""
import glob
import os
import tempfile

import numpy as np
import pytest


def leftovers(pid):
    """Shared memory segments and ipc socket directories made by pyacq streams in process ``pid``
    (other processes, e.g. test runs in parallel, have their own)."""
    return set(glob.glob(f"/dev/shm/pyacq-{pid}-*")) | set(
        glob.glob(os.path.join(tempfile.gettempdir(), f"pyacq-stream-{pid}-*")))


@pytest.fixture
def leftovers_of():
    """``leftovers_of(pid)``: stream files process ``pid`` left behind."""
    return leftovers


@pytest.fixture(autouse=True)
def no_leftover_files():
    """Every test must remove the shared memory segments and ipc files it created."""
    before = leftovers(os.getpid())
    yield
    left = leftovers(os.getpid()) - before
    assert not left, f"stream files left behind: {sorted(left)}"


@pytest.fixture
def streams():
    """Collects streams to close at the end of the test, even when it fails."""
    opened = []
    yield opened.append
    for stream in reversed(opened):
        stream.close()


def _analog(dtype):
    def make(rng, n):
        return (rng.standard_normal((n, 8)) * 1000).astype(dtype)
    return dict(dtype=dtype, shape=(-1, 8), streamtype="analogsignal"), make


EVENT_DTYPE = np.dtype([("time", "<f8"), ("code", "<i4"), ("label", "S3")], align=True)


def _events(rng, n):
    events = np.zeros(n, dtype=EVENT_DTYPE)
    events["time"] = rng.random(n)
    events["code"] = rng.integers(-1000, 1000, n)
    events["label"] = [b"abc"[: i % 4] for i in range(n)]
    return events


def _digital(rng, n):
    return rng.integers(0, 256, (n, 2), dtype=np.uint8)


def _image(rng, n):
    return rng.integers(0, 256, (n, 12, 16, 3), dtype=np.uint8)


#: name -> (OutputStream parameters, make(rng, n_samples) -> chunk)
DATA_KINDS = {
    "analog-float32": _analog("float32"),
    "analog-int16": _analog("int16"),
    "analog-float64": _analog("float64"),
    "digital": (dict(dtype="uint8", shape=(-1, 2), streamtype="digitalsignal"), _digital),
    "event": (dict(dtype=EVENT_DTYPE, shape=(-1,), streamtype="event"), _events),
    "image": (dict(dtype="uint8", shape=(-1, 12, 16, 3), streamtype="image/video"), _image),
}


@pytest.fixture(params=sorted(DATA_KINDS))
def data_kind(request):
    """``(OutputStream parameters, make(rng, n_samples) -> chunk)`` for each kind of data."""
    return DATA_KINDS[request.param]


def _layouts(chunk):
    fortran = np.asfortranarray(chunk)
    strided = np.repeat(chunk, 2, axis=0)[::2]
    return [chunk, fortran, strided]


@pytest.fixture
def layouts():
    """``layouts(chunk)``: the same samples as C-contiguous, Fortran-ordered (transposed)
    and strided (non-contiguous) arrays."""
    return _layouts


def _assert_same_samples(received, expected):
    assert received.dtype == expected.dtype
    assert received.shape == expected.shape
    fields = expected.dtype.names or (None,)
    for field in fields:
        got = received if field is None else received[field]
        want = expected if field is None else expected[field]
        # bytes, not values: bit-exact, and NaN-safe (padding bytes of structs are ignored)
        assert np.ascontiguousarray(got).tobytes() == np.ascontiguousarray(want).tobytes(), field


@pytest.fixture
def assert_same_samples():
    """``assert_same_samples(received, expected)``: same dtype, shape and bytes, field by field."""
    return _assert_same_samples
