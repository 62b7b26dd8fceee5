"""Memory mapped twice, back to back: the data of a ring buffer that never wraps.

A ring buffer's data region of P bytes is mapped at some address A and again
at A + P. A chunk written at any position before P continues, through the
second mapping, at the start of the first, and a span read there is one
contiguous view: every read of up to P bytes is contiguous while each sample
is stored, and written, once. (Without this, ``double=True`` buffers write
every sample twice.)

It needs ``mmap`` at a fixed address (POSIX) and a region whose size is a
multiple of the page size: :func:`mirror_period` rounds a buffer's length up
to one. :data:`AVAILABLE` tells whether this platform has what it takes.
"""
import ctypes
import math
import mmap
import os
import sys
import weakref

PAGE = mmap.PAGESIZE
_PROT_NONE = 0
_MAP_FIXED = 0x10  # the same on Linux and macOS
_MAP_FAILED = ctypes.c_void_p(-1).value

if sys.platform.startswith("linux") or sys.platform == "darwin":
    _libc = ctypes.CDLL(None, use_errno=True)
    _mmap = _libc.mmap
    _mmap.restype = ctypes.c_void_p
    _mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long)
    _munmap = _libc.munmap
    _munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
    _munmap.restype = ctypes.c_int
    AVAILABLE = True
else:
    AVAILABLE = False


def mirror_period(size, sample_bytes):
    """The smallest number of samples >= ``size`` that fills whole pages."""
    quantum = PAGE // math.gcd(PAGE, sample_bytes)  # samples in the smallest whole-page block
    return -(-size // quantum) * quantum


def _check(address, what):
    if address is None or address == _MAP_FAILED:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mmap failed while {what}: {os.strerror(errno)}")
    return address


def map_twice(fd, offset, nbytes, writable):
    """Map ``nbytes`` of ``fd`` from ``offset`` twice back to back; return a ctypes char array.

    The array spans both mappings (``2 * nbytes``); numpy arrays made from it
    keep it alive, and the mappings are released when the last of them is
    garbage collected. ``offset`` and ``nbytes`` must be multiples of PAGE.
    """
    if not AVAILABLE:
        raise OSError("mirrored mappings need POSIX mmap")
    if offset % PAGE or nbytes % PAGE or nbytes <= 0:
        raise ValueError(f"mirrored mappings need whole pages: offset {offset}, {nbytes} bytes")
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    base = _check(_mmap(None, 2 * nbytes, _PROT_NONE, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0),
                  "reserving address space")
    try:
        for half in (base, base + nbytes):
            _check(_mmap(half, nbytes, prot, mmap.MAP_SHARED | _MAP_FIXED, fd, offset),
                   "mapping the ring buffer twice")
    except BaseException:
        _munmap(base, 2 * nbytes)
        raise
    region = (ctypes.c_char * (2 * nbytes)).from_address(base)
    weakref.finalize(region, _munmap, base, 2 * nbytes)
    return region


def private_mirror(nbytes):
    """A mirrored mapping of ``nbytes`` of memory private to this process (Linux), or None.

    Unlike ordinary private memory, it stays shared (not copied on write) with
    a child made by ``fork()``.
    """
    if not AVAILABLE or not hasattr(os, "memfd_create"):
        return None
    fd = os.memfd_create("pyacq-ring", os.MFD_CLOEXEC)
    try:
        os.ftruncate(fd, nbytes)
        return map_twice(fd, 0, nbytes, writable=True)
    finally:
        os.close(fd)
