"""RingBuffer: absolute-index reads, double/single layouts, axis orders, fills and errors."""
import os

import numpy as np
import pytest
from pyacq.core.stream import BufferOverrunError, RingBuffer, mirroredmemory

SIZE = 20


def _filled(double, axisorder, lengths=(3, 7, 1, 20, 4, 9, 2, 13)):
    """A buffer fed with consecutive samples 0, 1, 2, ... (value = index * 10 + channel)."""
    rb = RingBuffer((SIZE, 3), "float64", double=double, axisorder=axisorder, fill=-1.0)
    head = 0
    for n in lengths:
        chunk = (np.arange(head, head + n)[:, None] * 10 + np.arange(3)).astype("float64")
        rb.new_chunk(chunk)
        head += n
    return rb, head


def _expected(start, stop):
    return (np.arange(start, stop)[:, None] * 10 + np.arange(3)).astype("float64")


@pytest.mark.parametrize("axisorder", [None, (1, 0)])
@pytest.mark.parametrize("double", [True, False])
def test_every_window_reads_back(double, axisorder):
    """Every readable window [start, stop) returns the samples written at those indexes,
    joined or as two pieces, for both layouts and both axis orders."""
    rb, head = _filled(double, axisorder)
    assert rb.index() == head
    for start in range(head - SIZE, head + 1):
        for stop in range(start, head + 1):
            np.testing.assert_array_equal(rb.get_data(start, stop), _expected(start, stop))
            first, second = rb.get_data(start, stop, join=False)
            np.testing.assert_array_equal(np.concatenate([first, second]), _expected(start, stop))


def test_double_buffer_reads_are_views():
    """With double=True a window that wraps around the ring is still a view, not a copy."""
    rb, head = _filled(True, None)
    assert (head - SIZE) % SIZE != 0, "the window must wrap around the ring"
    window = rb.get_data(head - SIZE, head)
    assert not window.flags.owndata
    assert rb.get_data(head - SIZE, head, copy=True).flags.owndata


def test_axisorder_sets_memory_layout():
    """axisorder=(1, 0) keeps each channel's samples contiguous in memory."""
    rb, head = _filled(True, (1, 0))
    window = rb.get_data(head - 5, head)
    assert window[:, 1].flags.c_contiguous
    assert window.strides[0] == window.itemsize


def test_unwritten_samples_read_as_fill():
    """Before the first write, and across an index gap, samples read as the fill value."""
    rb = RingBuffer((10, 2), "int16", fill=-7)
    np.testing.assert_array_equal(rb.get_data(-10, 0), np.full((10, 2), -7))
    rb.new_chunk(np.ones((2, 2), "int16"), index=2)
    rb.new_chunk(np.full((1, 2), 5, "int16"), index=6)
    np.testing.assert_array_equal(rb[2:5], np.full((3, 2), -7))
    np.testing.assert_array_equal(rb[5], [5, 5])


def test_getitem_uses_absolute_and_head_relative_indexes():
    """buf[i] and buf[a:b] are absolute; negative indexes count back from the write head;
    steps and channel selection work."""
    rb, head = _filled(False, None)
    np.testing.assert_array_equal(rb[head - 1], _expected(head - 1, head)[0])
    np.testing.assert_array_equal(rb[-1], _expected(head - 1, head)[0])
    np.testing.assert_array_equal(rb[-5:], _expected(head - 5, head))
    np.testing.assert_array_equal(rb[:], _expected(head - SIZE, head))
    np.testing.assert_array_equal(rb[head - 10:head:3], _expected(head - 10, head)[::3])
    np.testing.assert_array_equal(rb[-4:, 2], _expected(head - 4, head)[:, 2])
    assert rb[-1, 1] == _expected(head - 1, head)[0, 1]


def test_out_of_range_reads_raise():
    """Future samples, spans longer than the buffer, reversed spans, non-integer indexes
    and overwritten samples each raise a specific error."""
    rb, head = _filled(True, None)
    with pytest.raises(IndexError, match="written so far"):
        rb.get_data(head - 2, head + 1)
    with pytest.raises(IndexError, match="holds only"):
        rb.get_data(head - SIZE - 1, head)
    with pytest.raises(BufferOverrunError, match="overwritten"):
        rb.get_data(head - SIZE - 1, head - 2)
    with pytest.raises(ValueError, match="before start"):
        rb.get_data(head, head - 1)
    with pytest.raises(TypeError, match="integers"):
        rb.get_data(1.5, 3)
    with pytest.raises(TypeError, match="integers or slices"):
        rb["a"]
    with pytest.raises(ValueError, match="step cannot be zero"):
        rb[::0]


@pytest.mark.parametrize("double", [True, False])
def test_negative_steps_walk_back_like_python_slices(double):
    """buf[::-1], buf[-10::-2], buf[a:b:-k] return what the same slice of the list of held
    absolute indexes gives, across the wrap of the ring."""
    rb, head = _filled(double, None)
    held = list(range(head - SIZE, head))
    for key in (slice(None, None, -1), slice(-10, None, -2), slice(head - 2, head - 9, -3),
                slice(-1, -4, -1), slice(head - 8, head - 5, -1), slice(None, -5, -2)):
        # Absolute indexes count from the oldest held sample; negative ones, as in a list,
        # from the newest.
        start, stop = (v - (head - SIZE) if v is not None and v >= 0 else v
                       for v in (key.start, key.stop))
        expected = held[start:stop:key.step]
        assert rb[key][:, 0].tolist() == [i * 10.0 for i in expected], key


def test_float_and_complex_buffers_start_as_nan():
    """Unwritten samples of float and complex buffers read as NaN unless fill says otherwise;
    integer buffers read as zero."""
    for dtype in ("float32", "complex64"):
        assert np.isnan(RingBuffer((4, 2), dtype).get_data(-4, 0)).all()
    assert (RingBuffer((4, 2), "float32", fill=0.0).get_data(-4, 0) == 0).all()
    assert (RingBuffer((4,), "int16").get_data(-4, 0) == 0).all()


def test_bad_chunks_raise():
    """Wrong dtype, wrong sample shape, oversize chunks and backwards indexes are refused."""
    rb = RingBuffer((10, 2), "float32")
    with pytest.raises(TypeError, match="dtype"):
        rb.new_chunk(np.zeros((2, 2), "float64"))
    with pytest.raises(ValueError, match="shape"):
        rb.new_chunk(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="larger than the buffer"):
        rb.new_chunk(np.zeros((11, 2), "float32"))
    with pytest.raises(TypeError, match="numpy array"):
        rb.new_chunk([[0.0, 0.0]])
    rb.new_chunk(np.zeros((4, 2), "float32"))
    with pytest.raises(ValueError, match="backwards"):
        rb.new_chunk(np.zeros((2, 2), "float32"), index=5)
    with pytest.raises(ValueError, match="permutation"):
        RingBuffer((10, 2), "float32", axisorder=(0, 0))


def test_reset_restarts_at_zero():
    """reset() rewinds the head to 0 and refills every sample."""
    rb, _ = _filled(True, None)
    rb.reset()
    assert rb.index() == 0
    np.testing.assert_array_equal(rb.get_data(-SIZE, 0), np.full((SIZE, 3), -1.0))


def test_structured_dtype():
    """Structured samples are stored and read whole."""
    dtype = np.dtype([("time", "f8"), ("code", "i4")])
    rb = RingBuffer((8,), dtype, double=False)
    events = np.array([(0.5, 1), (0.7, 2), (0.9, 3)], dtype=dtype)
    for _ in range(3):
        rb.new_chunk(events)
    np.testing.assert_array_equal(rb[-3:], events)


def test_shared_ringbuffer_reader():
    """A reader attached by shm_id sees the writer's samples and head, is read-only,
    refuses a different layout, and detects being lapped."""
    writer = RingBuffer((10, 2), "int32", double=False, shmem=True)
    reader = RingBuffer((10, 2), "int32", double=False, shmem=writer.shm_id)
    try:
        writer.new_chunk(np.arange(8, dtype="int32").reshape(4, 2))
        assert reader.index() == 4
        np.testing.assert_array_equal(reader[0:4], np.arange(8).reshape(4, 2))
        with pytest.raises(PermissionError):
            reader.new_chunk(np.zeros((1, 2), "int32"))
        with pytest.raises(ValueError, match="read-only"):
            reader.get_data(0, 1)[0, 0] = 1
        for _ in range(3):
            writer.new_chunk(np.zeros((4, 2), "int32"))
        with pytest.raises(BufferOverrunError):
            reader.get_data(0, 4)
        with pytest.raises(ValueError, match="layout"):
            RingBuffer((8, 2), "int32", double=False, shmem=writer.shm_id)
    finally:
        reader.close()
        writer.close()


def _feed(rb, total, seed=0):
    """Write consecutive samples (value = index * 10 + channel) in random chunk lengths."""
    rng = np.random.default_rng(seed)
    head = 0
    while head < total:
        n = int(rng.integers(1, rb.shape[0] + 1))
        rb.new_chunk((np.arange(head, head + n)[:, None] * 10 + np.arange(3)).astype(rb.dtype))
        head += n
        yield head


@pytest.mark.parametrize("shared", [False, True])
def test_double_buffer_wraps_many_times_as_views(shared):
    """A double=True buffer written for several turns of its memory, in chunks of every length
    up to its size, reads every recent window back as a view equal to what was written."""
    rb = RingBuffer((1000, 3), "float32", double=True, shmem=True if shared else None)
    try:
        rng = np.random.default_rng(1)
        for head in _feed(rb, 12_000):
            for _ in range(5):
                count = int(rng.integers(1, 1001))
                start = max(0, head - count)
                window = rb.get_data(start, head)
                assert not window.flags.owndata
                np.testing.assert_array_equal(window, _expected(start, head).astype("float32"))
    finally:
        rb.close()


def test_shared_double_buffer_stores_each_sample_once():
    """A shared double=True buffer keeps one copy of each sample (its segment is about half
    the size of two copies), and a reader in this process sees every window as a view."""
    size, sample_bytes = 1000, 3 * 4
    writer = RingBuffer((size, 3), "float32", double=True, shmem=True)
    reader = RingBuffer((size, 3), "float32", double=True, shmem=writer.shm_id)
    try:
        assert os.path.getsize("/dev/shm" + writer.shm_id) < 1.5 * size * sample_bytes
        for head in _feed(writer, 5000):
            window = reader.get_data(head - min(head, size), head)
            assert not window.flags.owndata and not window.flags.writeable
            np.testing.assert_array_equal(window, writer.get_data(head - min(head, size), head))
    finally:
        reader.close()
        writer.close()


@pytest.mark.parametrize("side", ["writer", "reader"])
def test_double_buffer_without_mirrored_mapping(side, monkeypatch):
    """Where memory cannot be mapped twice, a writer writes every sample twice and a reader
    of a once-written buffer copies the windows that wrap: both still read exactly."""
    writer_kwargs = dict(double=True, shmem=True)
    if side == "writer":
        monkeypatch.setattr(mirroredmemory, "AVAILABLE", False)
    writer = RingBuffer((1000, 3), "float32", **writer_kwargs)
    if side == "reader":
        def refuse(*args, **kwargs):
            raise OSError("no mirrored mappings here")
        monkeypatch.setattr(mirroredmemory, "map_twice", refuse)
    reader = RingBuffer((1000, 3), "float32", double=True, shmem=writer.shm_id)
    try:
        for head in _feed(writer, 5000):
            start = max(0, head - 1000)
            np.testing.assert_array_equal(reader.get_data(start, head),
                                          _expected(start, head).astype("float32"))
    finally:
        reader.close()
        writer.close()
