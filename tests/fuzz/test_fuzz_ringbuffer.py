"""Fuzz target: RingBuffer against a plain numpy model of the stream's whole history.

A rule-based state machine writes chunks (contiguous, with index gaps, backwards, too
long, of the wrong dtype or shape), resets, and reads with ``get_data`` (joined or in
two pieces, copied or not), integers, slices of any step and ``(time, channel)`` keys,
on buffers of every layout: double or single, mirrored or written twice, private or in
shared memory (read there by a second, attached buffer too), any axis order, any fill.
Every valid access returns, bit for bit, what the model's history holds at those
indexes (the fill value where nothing was written); every invalid one raises the
documented error: TypeError for what is not an integer index or an array of the
buffer's dtype, ValueError for a misshaped, too long or backwards chunk, a stop before
the start or a zero step, IndexError for samples not written yet or more than the
buffer holds, BufferOverrunError (an IndexError) for samples already overwritten.
"""
import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from pyacq.core.stream import BufferOverrunError, RingBuffer

DTYPES = [np.dtype("float32"), np.dtype("float64"), np.dtype("int16"), np.dtype("uint8"),
          np.dtype("complex64"), np.dtype([("t", "<f8"), ("code", "<i2")])]
SAMPLE_SHAPES = [(), (1,), (3,), (2, 2), (0,)]
MAX_SIZE = 24


def fill_values(dtype):
    """``None`` (the default fill) or a value the dtype holds exactly."""
    if dtype.names:
        return st.just(None)
    if dtype.kind == "u":
        return st.none() | st.integers(0, 255)
    if dtype.kind == "i":
        return st.none() | st.integers(-(2 ** 15), 2 ** 15 - 1)
    return st.none() | st.sampled_from([0.0, -1.5, 1e30, float("inf")])


def axis_orders(ndim):
    return st.none() | st.permutations(range(ndim)).map(tuple)


@st.composite
def layouts(draw):
    dtype = draw(st.sampled_from(DTYPES))
    sample_shape = draw(st.sampled_from(SAMPLE_SHAPES))
    size = draw(st.integers(1, MAX_SIZE))
    return dict(shape=(size, *sample_shape), dtype=dtype, double=draw(st.booleans()),
                fill=draw(fill_values(dtype)), axisorder=draw(axis_orders(1 + len(sample_shape))),
                shmem=draw(st.sampled_from([None, True])))


def same_samples(actual, expected):
    """True if both arrays have the same dtype and shape and the same bytes (NaN included)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    return (actual.dtype == expected.dtype and actual.shape == expected.shape
            and actual.tobytes() == expected.tobytes())


class HistoryModel:
    """Every sample a stream ever wrote, by absolute index; what a RingBuffer must return."""

    def __init__(self, shape, dtype, fill):
        self.size, self.sample_shape, self.dtype = shape[0], tuple(shape[1:]), dtype
        filler = np.zeros((), dtype=dtype)
        filler[()] = (np.nan if dtype.kind in "fc" else 0) if fill is None else fill
        self.filler = filler
        self.reset()

    def reset(self):
        self.head = 0
        self.history = np.empty((0, *self.sample_shape), dtype=self.dtype)

    def write(self, data, index):
        """Append ``data`` ending at ``index``; fill the gap before it, if any."""
        start = index - len(data)
        gap = np.full((start - self.head, *self.sample_shape), self.filler, dtype=self.dtype)
        self.history = np.concatenate([self.history, gap, data])
        self.head = index

    def samples(self, start, stop):
        """History ``[start, stop)``; indexes below 0 were never written (fill)."""
        before = np.full((max(0, min(stop, 0) - start), *self.sample_shape), self.filler, dtype=self.dtype)
        return np.concatenate([before, self.history[max(start, 0):max(stop, 0)]])

    def read_error(self, start, stop):
        """The error ``get_data(start, stop)`` must raise, or None if it is a valid read."""
        if stop < start:
            return ValueError
        if stop - start > self.size or stop > self.head:
            return IndexError
        if start < self.head - self.size:
            return BufferOverrunError
        return None

    def absolute(self, index):
        return self.head + index if index < 0 else index


class RingBufferMachine(RuleBasedStateMachine):
    """One RingBuffer (and, in shared memory, a reader attached to it) next to its model."""

    @initialize(layout=layouts())
    def create(self, layout):
        self.layout = layout
        self.ring = RingBuffer(**layout)
        self.readers = [self.ring]
        if layout["shmem"]:
            attached = {**layout, "shmem": self.ring.shm_id}
            self.readers.append(RingBuffer(**attached))
        self.model = HistoryModel(layout["shape"], layout["dtype"], layout["fill"])

    def teardown(self):
        for buffer in getattr(self, "readers", [])[::-1]:
            buffer.close()

    # -- writing ---------------------------------------------------------------------

    def chunks(self, n):
        return hnp.arrays(self.model.dtype, (n, *self.model.sample_shape))

    @rule(data=st.data(), n=st.integers(0, MAX_SIZE + 2), gap=st.none() | st.integers(0, 3 * MAX_SIZE))
    def write(self, data, n, gap):
        """A chunk of n samples right after the head (gap None) or after a gap of *gap* samples."""
        chunk = data.draw(self.chunks(n), label="chunk")
        index = None if gap is None else self.model.head + gap + n
        if n > self.model.size:
            with pytest.raises(ValueError, match="larger than the buffer"):
                self.ring.new_chunk(chunk, index=index)
            return
        self.ring.new_chunk(chunk, index=index)
        self.model.write(chunk, self.model.head + n if index is None else index)

    @rule(data=st.data(), back=st.integers(1, 2 * MAX_SIZE))
    def write_backwards(self, data, back):
        """A chunk starting before the head is refused, and changes nothing."""
        n = data.draw(st.integers(1, self.model.size), label="n")
        chunk = data.draw(self.chunks(n), label="chunk")
        with pytest.raises(ValueError, match="indexes never go backwards"):
            self.ring.new_chunk(chunk, index=self.model.head + n - back)

    @rule(n=st.integers(0, 3), wrong=st.sampled_from(["dtype", "shape", "list"]))
    def write_wrong_kind(self, n, wrong):
        """A chunk of another dtype or sample shape, or not an array at all, is refused."""
        shape = (n, *self.model.sample_shape)
        if wrong == "dtype":
            other = np.dtype("int32") if self.model.dtype != np.dtype("int32") else np.dtype("float32")
            chunk, error = np.zeros(shape, dtype=other), TypeError
        elif wrong == "shape":
            chunk, error = np.zeros((n, *self.model.sample_shape, 2), dtype=self.model.dtype), ValueError
        else:
            chunk, error = np.zeros(shape, dtype=self.model.dtype).tolist(), TypeError
        with pytest.raises(error):
            self.ring.new_chunk(chunk)

    @rule()
    def reset(self):
        self.ring.reset()
        self.model.reset()

    # -- reading ---------------------------------------------------------------------

    def around_head(self):
        """Indexes from well before the oldest sample held to just past the head."""
        return st.integers(self.model.head - 2 * self.model.size - 3, self.model.head + 3)

    @rule(data=st.data(), copy=st.booleans(), join=st.booleans())
    def get_data(self, data, copy, join):
        start = data.draw(self.around_head(), label="start")
        stop = data.draw(st.integers(start - 2, start + self.model.size + 2), label="stop")
        error = self.model.read_error(start, stop)
        expected = None if error else self.model.samples(start, stop)
        for reader in self.readers:
            if error:
                with pytest.raises(error):
                    reader.get_data(start, stop, copy=copy, join=join)
                continue
            result = reader.get_data(start, stop, copy=copy, join=join)
            if join:
                assert same_samples(result, expected)
                if copy:
                    assert not np.shares_memory(result, reader._buffer), "copy=True read is a view"
                elif reader.double and result.size:
                    assert np.shares_memory(result, reader._buffer), "double buffer read is a copy"
            else:
                first, second = result
                assert same_samples(np.concatenate([first, second]), expected)

    @rule(data=st.data())
    def get_item(self, data):
        """``buf[i]``: one sample at absolute (or, negative, head-relative) index i."""
        index = data.draw(st.integers(-self.model.size - 3, self.model.head + 3) | self.around_head(),
                          label="index")
        absolute = self.model.absolute(index)
        error = self.model.read_error(absolute, absolute + 1)
        for reader in self.readers:
            if error:
                with pytest.raises(error):
                    reader[index]
            else:
                assert same_samples(reader[index], self.model.samples(absolute, absolute + 1)[0])

    @rule(data=st.data(), channel=st.booleans())
    def get_slice(self, data, channel):
        """``buf[start:stop:step]`` (each bound omitted, negative or absolute), optionally with a
        channel index after it; a negative step walks back from start as Python sequences do."""
        size = self.model.size
        bound = st.none() | st.integers(-size - 3, -1) | self.around_head()
        start, stop = data.draw(bound, label="start"), data.draw(bound, label="stop")
        step = data.draw(st.none() | st.integers(-4, 4), label="step")
        key = slice(start, stop, step)
        expected, error = self.expected_slice(start, stop, step)
        if channel and self.model.sample_shape and self.model.sample_shape[0]:
            picked = data.draw(st.integers(0, self.model.sample_shape[0] - 1), label="channel")
            key = (key, picked)
            expected = None if error else expected[:, picked]
        for reader in self.readers:
            if error:
                with pytest.raises(error):
                    reader[key]
            else:
                assert same_samples(reader[key], expected)

    def expected_slice(self, start, stop, step):
        """``(samples, None)`` a slice must return, or ``(None, error)`` it must raise."""
        model = self.model
        step = 1 if step is None else step
        if step == 0:
            return None, ValueError
        if step > 0:
            first = model.head - model.size if start is None else model.absolute(start)
            end = model.head if stop is None else model.absolute(stop)
            error = model.read_error(first, end)
            return (None, error) if error else (model.samples(first, end)[::step], None)
        newest = model.head - 1 if start is None else model.absolute(start)
        lowest = model.head - model.size if stop is None else model.absolute(stop) + 1
        lowest = min(lowest, newest + 1)
        error = model.read_error(lowest, newest + 1)
        if error:
            return None, error
        picked = [model.samples(i, i + 1)[0] for i in range(newest, lowest - 1, step)]
        return np.array(picked, dtype=model.dtype).reshape(len(picked), *model.sample_shape), None

    @rule(key=st.sampled_from([1.5, "3", None, (), [1]]))
    def get_wrong_key(self, key):
        """Keys that are neither integers, slices nor non-empty tuples are refused with TypeError."""
        with pytest.raises(TypeError):
            self.ring[key]

    @precondition(lambda self: self.model.head > 0)
    @rule(start=st.sampled_from([0.0, "0", None]))
    def get_data_wrong_index(self, start):
        with pytest.raises(TypeError):
            self.ring.get_data(start, self.model.head)

    @invariant()
    def heads_match(self):
        for reader in self.readers:
            assert reader.index() == self.model.head
            assert reader.first_index() == self.model.head - self.model.size


RingBufferMachine.TestCase.settings = settings(stateful_step_count=20)
test_ringbuffer_matches_numpy_history = RingBufferMachine.TestCase
