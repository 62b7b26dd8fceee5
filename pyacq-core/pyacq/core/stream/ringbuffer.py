"""RingBuffer: the last N samples of a stream, addressed by absolute sample index.

The write head (index of the next sample to write) and a "reserved" head
(index the writer is currently writing up to) live in a small int64 header
next to the data. With ``shmem`` both live in shared memory, so a reader in
another process sees exactly what the writer has committed and can tell when
the samples it asks for are being, or have been, overwritten.

With ``double=True`` every span of up to ``size`` samples reads as one view.
Where the platform allows (see mirroredmemory) the data is mapped twice back
to back, so each sample is still written once; otherwise every sample is
written twice. The header records the layout, so that readers in other
processes map the data the same way (or, if they cannot, read it in two parts).
"""
from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Literal, SupportsFloat, overload

import numpy as np
from numpy.typing import DTypeLike

from . import mirroredmemory
from .errors import BufferOverrunError
from .sharedarray import POSIX_SHM, SharedMem
from .streamdtype import dtype_from_params

_MAGIC = 0x7079616371524232  # "pyacqRB2"
_HEADER_ITEMS = 16
_HEADER_BYTES = _HEADER_ITEMS * 8
_MAGIC_SLOT, _HEAD_SLOT, _RESERVED_SLOT = 0, 1, 2
_LAYOUT_SLOTS = slice(3, 7)  # size, double, itemsize, bytes per sample
# Shared data starts on a page of its own (mirrored mappings need it; others get the same alignment).
_DATA_OFFSET = mirroredmemory.PAGE
# Where the data is: samples per turn of the ring, byte offset, samples stored
# (2 x size for double buffers written twice, else one turn).
_PERIOD_SLOT, _OFFSET_SLOT, _STORED_SLOT = 7, 8, 9


class RingBuffer:
    """Ring buffer holding the last ``shape[0]`` samples of a stream.

    Parameters
    ----------
    shape : tuple
        ``(size, ...)``: number of samples held, then the shape of one sample.
    dtype : numpy dtype, str or list
        Type of one sample's values, structured dtypes included, in any form
        ``numpy.dtype`` accepts or the serialized form of a stream's params.
    double : bool
        Make any span of up to ``size`` samples one contiguous view (reads
        never copy), by mapping the memory twice where possible, else by
        writing every sample twice.
    fill : scalar or None
        Value of samples never written (and of samples skipped by an index
        gap); ``None`` means NaN for float and complex dtypes (a missing sample
        then never reads as a plausible value), zero for the others.
    axisorder : sequence of int or None
        Memory order of the axes, outermost first; ``None`` is row-major with
        time outermost. ``(1, 0)`` keeps each channel's samples contiguous.
    shmem : None, True or str
        ``None``: private memory. ``True``: a new shared memory segment, see
        :attr:`shm_id`. A ``shm_id`` string: attach read-only to the segment
        of a writer created with the same shape/dtype/double/axisorder.
    """

    def __init__(self, shape: Sequence[int], dtype: DTypeLike | str | list, double: bool = True,
                 fill: SupportsFloat | None = None, axisorder: Sequence[int] | None = None,
                 shmem: bool | str | None = None) -> None:
        self.shape = tuple(int(n) for n in shape)
        if len(self.shape) < 1 or self.shape[0] < 1:
            raise ValueError(f"RingBuffer shape must start with a positive size, got {shape}")
        self.dtype = dtype_from_params(dtype)
        self.double = bool(double)
        self.fill = fill
        self.axisorder = self._check_axisorder(axisorder, len(self.shape))
        self._size = size = self.shape[0]
        self._sample_bytes = int(np.prod(self.shape[1:], dtype=np.int64)) * self.dtype.itemsize
        layout = (size, int(self.double), self.dtype.itemsize, self._sample_bytes)
        self.readonly = isinstance(shmem, str)
        self._shm = None
        if self.readonly:
            self._attach(shmem, layout)
        else:
            self._create(shmem is not None, layout)

    def _can_mirror(self):
        return (self.double and self.axisorder[0] == 0 and self._sample_bytes > 0
                and mirroredmemory.AVAILABLE)

    def _create(self, shared, layout):
        """Allocate the header and the data (mirrored if possible) for a writer."""
        size, sample_bytes = self._size, self._sample_bytes
        region = None
        if self._can_mirror():
            period = mirroredmemory.mirror_period(size, sample_bytes)
            offset = _DATA_OFFSET if shared else 0
            try:
                if shared:
                    self._shm = SharedMem(offset + period * sample_bytes)
                    region = self._shm.map_twice(offset, period * sample_bytes)
                else:
                    region = mirroredmemory.private_mirror(period * sample_bytes)
            except OSError:
                region = None
            if region is None and self._shm is not None:
                self._shm.close()
                self._shm = None
        if region is not None:
            placement = (period, offset, period)
            self._header = (self._shm.to_numpy(0, np.int64, (_HEADER_ITEMS,)) if shared
                            else np.zeros(_HEADER_ITEMS, dtype=np.int64))
            self._set_view(np.frombuffer(region, dtype=self.dtype), 2 * period, period, mirrored=True)
        else:
            stored = size * (2 if self.double else 1)
            placement = (size, _DATA_OFFSET, stored)
            if shared:
                self._shm = SharedMem(_DATA_OFFSET + stored * sample_bytes)
                self._header = self._shm.to_numpy(0, np.int64, (_HEADER_ITEMS,))
                memory = self._shm.to_numpy(_DATA_OFFSET, self.dtype, (stored * self._items(),))
            else:
                self._header = np.zeros(_HEADER_ITEMS, dtype=np.int64)
                memory = np.zeros(stored * self._items(), dtype=self.dtype)
            self._set_view(memory, stored, size, mirrored=False)
        self._header[_LAYOUT_SLOTS] = layout
        self._header[[_PERIOD_SLOT, _OFFSET_SLOT, _STORED_SLOT]] = placement
        self._header[_MAGIC_SLOT] = _MAGIC
        self._fill_all()

    def _attach(self, shm_id, layout):
        """Map another process's shared buffer read-only, as its header describes it."""
        classic_bytes = _DATA_OFFSET + self._size * (2 if self.double else 1) * self._sample_bytes
        # POSIX readers map the whole segment, whatever layout its writer chose.
        self._shm = SharedMem(None if POSIX_SHM else classic_bytes, shm_id=shm_id, readonly=True)
        if self._shm.nbytes < _HEADER_BYTES:
            raise ValueError(f"shared memory {shm_id!r} does not hold a pyacq RingBuffer")
        self._header = self._shm.to_numpy(0, np.int64, (_HEADER_ITEMS,))
        self._check_layout(layout)
        period, offset, stored = (int(v) for v in self._header[[_PERIOD_SLOT, _OFFSET_SLOT, _STORED_SLOT]])
        if self._shm.nbytes < offset + stored * self._sample_bytes:
            raise ValueError(f"shared RingBuffer {shm_id!r} is smaller than its header says")
        if self.double and stored == period:  # written once: mirror it too, if we can
            try:
                region = self._shm.map_twice(offset, period * self._sample_bytes)
            except (OSError, ValueError):
                region = None
            if region is not None:
                memory = np.frombuffer(region, dtype=self.dtype)
                memory.flags.writeable = False  # the pages are mapped read-only
                self._set_view(memory, 2 * period, period, mirrored=True)
                return
        memory = self._shm.to_numpy(offset, self.dtype, (stored * self._items(),))
        self._set_view(memory, stored, period, mirrored=False)

    def _items(self):
        return int(np.prod(self.shape[1:], dtype=np.int64))

    def _set_view(self, memory, length, period, mirrored):
        """Shape the flat ``memory`` into the (length, ...) buffer in axis order."""
        full_shape = (length,) + self.shape[1:]
        memory_shape = tuple(full_shape[axis] for axis in self.axisorder)
        self._buffer = memory[:length * self._items()].reshape(memory_shape).transpose(
            np.argsort(self.axisorder))
        self._length, self._period, self._mirrored = length, period, mirrored

    @staticmethod
    def _check_axisorder(axisorder, ndim):
        if axisorder is None:
            return tuple(range(ndim))
        order = tuple(int(a) for a in axisorder)
        if sorted(order) != list(range(ndim)):
            raise ValueError(
                f"axisorder {tuple(axisorder)} is not a permutation of the {ndim} buffer axes"
            )
        return order

    def _check_layout(self, layout):
        if int(self._header[_MAGIC_SLOT]) != _MAGIC:
            raise ValueError(f"shared memory {self.shm_id!r} does not hold a pyacq RingBuffer")
        found = tuple(int(v) for v in self._header[_LAYOUT_SLOTS])
        if found != layout:
            raise ValueError(
                f"shared RingBuffer {self.shm_id!r} has layout (size, double, itemsize, "
                f"bytes per sample) = {found}, but {layout} was requested"
            )

    @property
    def shm_id(self) -> str | None:
        """Id of the shared memory segment, or None for a private buffer."""
        return None if self._shm is None else self._shm.shm_id

    def index(self) -> int:
        """Absolute index of the next sample to be written (= samples written so far)."""
        return int(self._header[_HEAD_SLOT])

    def first_index(self) -> int:
        """Oldest absolute index still readable (negative before the buffer first fills)."""
        return int(self._header[_HEAD_SLOT]) - self._size

    def _fill_value(self):
        if self.fill is not None:
            return self.fill
        return np.nan if self.dtype.kind in "fc" else 0

    def _fill_all(self):
        # A mirrored buffer's second turn is the first one again.
        self._buffer[:self._period if self._mirrored else self._length] = self._fill_value()

    def reset(self) -> None:
        """Restart at index 0 with every sample set to the fill value (writer only)."""
        self._check_writable()
        self._header[_RESERVED_SLOT] = int(self._header[_HEAD_SLOT]) + self._size
        self._fill_all()
        self._header[_HEAD_SLOT] = 0
        self._header[_RESERVED_SLOT] = 0

    def _check_writable(self):
        if self.readonly:
            raise PermissionError(
                f"RingBuffer {self.shm_id!r} is attached read-only to another writer's memory"
            )

    def new_chunk(self, data: np.ndarray, index: int | None = None) -> None:
        """Append ``data`` (samples along axis 0) ending at absolute ``index``.

        ``index`` defaults to the current index + ``len(data)``. A larger index
        leaves a gap, whose samples read as the fill value; a smaller one
        (going backwards) is refused.

        Parameters
        ----------
        data : numpy.ndarray
            The samples, time on axis 0, with the buffer's dtype and sample shape,
            at most ``size`` samples.
        index : int, optional
            Absolute index after the chunk's last sample. Default: no gap.
        """
        self._check_writable()
        if not isinstance(data, np.ndarray):
            raise TypeError(f"RingBuffer.new_chunk expects a numpy array, got {type(data).__name__}")
        if data.dtype != self.dtype:
            raise TypeError(f"chunk dtype {data.dtype} does not match the buffer dtype {self.dtype}")
        if data.shape[1:] != self.shape[1:] or data.ndim != len(self.shape):
            raise ValueError(
                f"chunk shape {data.shape} does not fit a buffer of samples shaped {self.shape[1:]}"
            )
        n = data.shape[0]
        if n > self._size:
            raise ValueError(f"chunk of {n} samples is larger than the buffer ({self._size} samples)")
        head = int(self._header[_HEAD_SLOT])
        index = head + n if index is None else operator.index(index)
        start = index - n
        if start < head:
            raise ValueError(
                f"chunk would start at index {start}, before the {head} samples already "
                "written; indexes never go backwards (call reset() to restart)"
            )
        self._append(data, start, index)

    def _append(self, data, start, index):
        """Write already-validated ``data`` as samples ``[start, index)``."""
        header = self._header
        head = int(header[_HEAD_SLOT])
        header[_RESERVED_SLOT] = index
        if start > head:
            self._store(max(head, index - self._size), start, self._fill_value())
        self._store(start, index, data)
        header[_HEAD_SLOT] = index

    def _store(self, start, stop, source):
        """Copy ``source`` (an array of ``stop - start`` samples, or a scalar) to its slots."""
        count = stop - start
        if count <= 0:
            return
        period = self._period
        position = start % period
        buffer = self._buffer
        if self._mirrored:  # one copy, continued by the mirror past the end of the turn
            buffer[position:position + count] = source
            return
        first = min(count, period - position)
        is_array = isinstance(source, np.ndarray)
        pieces = ((position, 0, first), (0, first, count - first)) if first < count else (
            (position, 0, count),)
        for slot, offset, length in pieces:
            part = source[offset:offset + length] if is_array else source
            buffer[slot:slot + length] = part
            if self.double:
                buffer[slot + period:slot + period + length] = part

    @overload
    def get_data(self, start: int, stop: int, copy: bool = ...,
                 join: Literal[True] = ...) -> np.ndarray: ...

    @overload
    def get_data(self, start: int, stop: int, copy: bool = ...,
                 *, join: Literal[False]) -> tuple[np.ndarray, np.ndarray]: ...

    def get_data(self, start: int, stop: int, copy: bool = False,
                 join: bool = True) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Return samples ``[start, stop)`` (absolute indexes).

        ``copy=False`` returns a view whenever possible (always with
        ``double=True``). ``join=False`` returns a pair ``(first, second)``
        of arrays instead, split where the span wraps around the buffer
        (``second`` is empty if it does not), which avoids a copy with
        ``double=False``. Raises ``IndexError`` for samples not yet written or
        longer than the buffer, and :class:`BufferOverrunError` (an
        ``IndexError``) for samples already overwritten.

        Parameters
        ----------
        start : int
            Absolute index of the first sample read.
        stop : int
            Absolute index after the last sample read.
        copy : bool, optional
            Return arrays that stay valid after the buffer is overwritten.
            Default False (views).
        join : bool, optional
            Return one array (True, default) or the ``(first, second)`` pair.
        """
        start, stop = self._check_range(start, stop)
        period = self._period
        count = stop - start
        position = start % period
        buffer = self._buffer
        copied = copy
        if position + count <= self._length:
            first, second = buffer[position:position + count], buffer[0:0]
        else:
            first, second = buffer[position:period], buffer[0:count - (period - position)]
        result: np.ndarray | tuple[np.ndarray, np.ndarray]
        if join:
            if second.shape[0]:
                result, copied = np.concatenate([first, second]), True
            else:
                result = first.copy() if copy else first
        else:
            result = (first.copy(), second.copy()) if copy else (first, second)
        if copied:
            self._check_not_overwritten(start)
        return result

    def _check_range(self, start, stop):
        try:
            start, stop = operator.index(start), operator.index(stop)
        except TypeError:
            raise TypeError(
                f"RingBuffer indexes must be integers, got {start!r} and {stop!r}"
            ) from None
        if stop < start:
            raise ValueError(f"stop index {stop} is before start index {start}")
        if stop - start > self._size:
            raise IndexError(
                f"{stop - start} samples requested but the buffer holds only {self._size}"
            )
        head = int(self._header[_HEAD_SLOT])
        if stop > head:
            raise IndexError(f"samples up to index {stop} requested, only {head} written so far")
        self._check_not_overwritten(start)
        return start, stop

    def _check_not_overwritten(self, start):
        oldest = int(self._header[_RESERVED_SLOT]) - self._size
        if start < oldest:
            raise BufferOverrunError(
                f"samples from index {start} were overwritten: the buffer now holds "
                f"indexes from {oldest} (reader lapped by the writer)"
            )

    def __getitem__(self, key: int | slice) -> np.ndarray:
        """Absolute-index access: ``buf[i]``, ``buf[start:stop:step]``, ``buf[start:stop, channels]``.

        Negative indexes count back from the write head (``buf[-10:]`` is the
        last ten samples); an omitted start means the oldest sample held. A
        negative step walks back from the newest sample (``buf[::-1]``: every
        sample held, newest first; ``buf[-10::-2]``: from the tenth newest back
        to the oldest, every other one), as Python sequences do.
        """
        if isinstance(key, tuple):
            if not key:
                raise TypeError("RingBuffer index must not be an empty tuple")
            time_key, rest = key[0], key[1:]
            samples = self[time_key]
            return samples[(slice(None),) + rest] if isinstance(time_key, slice) else samples[rest]
        head = self.index()
        if isinstance(key, slice):
            step = 1 if key.step is None else operator.index(key.step)
            if step == 0:
                raise ValueError("RingBuffer slice step cannot be zero")
            if step < 0:
                return self._backwards(key, step, head)
            start = head - self._size if key.start is None else self._absolute(key.start, head)
            stop = head if key.stop is None else self._absolute(key.stop, head)
            data = self.get_data(start, stop)
            return data if step == 1 else data[::step]
        index = self._absolute(key, head)
        return self.get_data(index, index + 1)[0]

    def _backwards(self, key, step, head):
        """``buf[start:stop:step]`` for a negative step: samples start, start + step, ...
        down to (excluding) stop, which default to the newest and to before the oldest."""
        start = head - 1 if key.start is None else self._absolute(key.start, head)
        lowest = head - self._size if key.stop is None else self._absolute(key.stop, head) + 1
        lowest = min(lowest, start + 1)
        return self.get_data(lowest, start + 1)[::-1][::-step]

    @staticmethod
    def _absolute(index, head):
        try:
            index = operator.index(index)
        except TypeError:
            raise TypeError(
                f"RingBuffer indexes must be integers or slices, got {type(index).__name__}"
            ) from None
        return head + index if index < 0 else index

    def close(self) -> None:
        """Release the memory (a shared segment is removed if this buffer created it)."""
        self._buffer = self._header = None
        if self._shm is not None:
            self._shm.close()
