"""Shared memory that unrelated processes map by name.

Built on POSIX ``shm_open`` + ``mmap`` (a tagged ``mmap`` on Windows) rather
than ``multiprocessing.shared_memory``: in Python 3.11 the latter registers
every segment a process *opens* with a resource tracker that unlinks it when
that process exits, so a reader's exit would destroy the writer's buffer.
Here only the creator of a segment ever removes it: on ``close()``, when it is
garbage collected, or at interpreter exit.
"""
from __future__ import annotations

import mmap
import os
import secrets
import sys
import weakref

import numpy as np
from numpy.typing import DTypeLike

from . import mirroredmemory
from .streamdtype import dtype_from_params, dtype_to_params

if sys.platform == "win32":
    _posixshmem = None
else:
    import _posixshmem

#: Segments are POSIX shared memory (readers can map a segment without knowing its size).
POSIX_SHM = _posixshmem is not None


def _new_shm_id():
    name = f"pyacq-{os.getpid()}-{secrets.token_hex(6)}"
    return name if _posixshmem is None else "/" + name


def _unlink(shm_id):
    try:
        _posixshmem.shm_unlink(shm_id)
    except FileNotFoundError:
        pass


class SharedMem:
    """A block of ``nbytes`` bytes of shared memory.

    With ``shm_id=None`` a new segment is created and owned by this object
    (it is removed when the owner closes); otherwise the existing segment
    ``shm_id`` is opened (``nbytes=None`` then maps the whole segment, POSIX
    only). An opened segment is mapped read-only unless ``readonly=False``: a
    reader in another process cannot then overwrite the writer's data by mistake.
    """

    def __init__(self, nbytes: int | None, shm_id: str | None = None,
                 readonly: bool | None = None) -> None:
        self.owner = shm_id is None
        if readonly is None:
            readonly = not self.owner
        if nbytes is None and not self.owner and _posixshmem is not None:
            nbytes = self._segment_size(str(shm_id))
        if nbytes is None:
            raise ValueError(f"SharedMem({shm_id!r}): give nbytes, the segment's size (only POSIX "
                             "shared memory tells it)")
        nbytes = int(nbytes)
        if nbytes <= 0:
            raise ValueError(f"SharedMem needs a positive size in bytes, got {nbytes}")
        self.nbytes = nbytes
        self.readonly = bool(readonly) and not self.owner
        self.shm_id = _new_shm_id() if self.owner else str(shm_id)
        if sys.platform == "win32":
            access = mmap.ACCESS_READ if self.readonly else mmap.ACCESS_WRITE
            self._mmap = mmap.mmap(-1, nbytes, tagname=self.shm_id, access=access)
        else:
            self._mmap = self._map_posix()
        self._finalizer = (
            weakref.finalize(self, _unlink, self.shm_id)
            if self.owner and _posixshmem is not None
            else None
        )

    @staticmethod
    def _open_posix(shm_id, flags, mode=0):
        try:
            return _posixshmem.shm_open(shm_id, flags, mode=mode)
        except FileNotFoundError:
            raise FileNotFoundError(
                f"shared memory segment {shm_id!r} does not exist (was its writer closed?)"
            ) from None

    @classmethod
    def _segment_size(cls, shm_id):
        fd = cls._open_posix(shm_id, os.O_RDONLY)
        try:
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def _map_posix(self):
        if self.owner:
            flags, mode = os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600
        else:
            flags, mode = (os.O_RDONLY if self.readonly else os.O_RDWR), 0
        fd = self._open_posix(self.shm_id, flags, mode)
        try:
            if self.owner:
                os.ftruncate(fd, self.nbytes)
            elif os.fstat(fd).st_size < self.nbytes:
                raise ValueError(
                    f"shared memory segment {self.shm_id!r} holds "
                    f"{os.fstat(fd).st_size} bytes, {self.nbytes} expected"
                )
            prot = mmap.PROT_READ if self.readonly else mmap.PROT_READ | mmap.PROT_WRITE
            return mmap.mmap(fd, self.nbytes, prot=prot)
        except BaseException:
            if self.owner:
                _unlink(self.shm_id)
            raise
        finally:
            os.close(fd)

    def to_dict(self) -> dict[str, int | str]:
        """Return what another process needs to open this segment: ``SharedMem(**d)``."""
        return {"nbytes": self.nbytes, "shm_id": self.shm_id}

    def to_numpy(self, offset: int, dtype: DTypeLike, shape: tuple[int, ...],
                 strides: tuple[int, ...] | None = None) -> np.ndarray:
        """Return a numpy array viewing part of the segment (read-only if the mapping is)."""
        return np.ndarray(shape, dtype=dtype, buffer=self._mmap, offset=offset, strides=strides)

    def map_twice(self, offset, nbytes):
        """Map ``nbytes`` of the segment from ``offset`` twice, back to back (see mirroredmemory).

        Returns a ctypes char array of ``2 * nbytes``, valid as long as arrays
        made from it exist; raises OSError where the platform cannot do it.
        """
        if _posixshmem is None:
            raise OSError("mirrored mappings of shared memory need POSIX shared memory")
        fd = self._open_posix(self.shm_id, os.O_RDONLY if self.readonly else os.O_RDWR)
        try:
            return mirroredmemory.map_twice(fd, offset, nbytes, writable=not self.readonly)
        finally:
            os.close(fd)

    def close(self) -> None:
        """Unmap the segment; the owner also removes it so no process can open it again.

        Arrays obtained from :meth:`to_numpy` stay valid: the mapping itself is
        released when the last of them is garbage collected.
        """
        if self._finalizer is not None:
            self._finalizer()
        try:
            self._mmap.close()
        except BufferError:
            pass


class SharedArray:
    """A numpy array (``.array``) stored in a :class:`SharedMem`, openable by another process.

    ``SharedArray(shape, dtype)`` creates it (an int *shape* is one axis; the
    defaults make one float64); another process opens it with the shape, dtype and
    ``shm_id`` that ``to_dict()`` gives, read-only unless ``readonly=False``.
    """

    def __init__(self, shape: int | tuple[int, ...] = (1,), dtype: DTypeLike | str = "float64",
                 shm_id: str | None = None, readonly: bool | None = None) -> None:
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        self.shape = tuple(int(n) for n in shape)
        self.dtype = dtype_from_params(dtype)
        nbytes = int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize
        self.shm = SharedMem(max(nbytes, 1), shm_id=shm_id, readonly=readonly)
        self.array: np.ndarray | None = self.shm.to_numpy(0, self.dtype, self.shape)

    def to_numpy(self) -> np.ndarray | None:
        """The array (a view of the shared memory, read-only if opened so); None once closed."""
        return self.array

    def to_dict(self) -> dict[str, object]:
        """What another process needs to open this array:
        ``SharedArray(d["shape"], d["dtype"], shm_id=d["shm_id"])``."""
        return {
            "shape": list(self.shape),
            "dtype": dtype_to_params(self.dtype),
            "shm_id": self.shm.shm_id,
        }

    def close(self) -> None:
        """Drop the array and close the memory (the creator also removes the segment)."""
        self.array = None
        self.shm.close()
