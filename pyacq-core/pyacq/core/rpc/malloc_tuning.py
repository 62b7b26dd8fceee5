"""Keep freed large buffers mapped, so that each large message does not page-fault.

RPC messages and stream chunks of a megabyte or more are received into fresh
buffers (a ZeroMQ frame, the arrays decoded from it) that are freed a moment
later. glibc's malloc hands such freed memory back to the kernel as soon as the
free space at the top of its heap exceeds its trim threshold (twice the largest
block it has recently mapped on its own), and the next message then touches
fresh pages: one page fault per 4 KiB, which costs more than copying the data
several times (a 1 MiB RPC round trip took 5-8 ms instead of about 1 ms).

:func:`keep_large_buffers_mapped` fixes the limits glibc's own dynamic
thresholds converge to (blocks up to 32 MiB come from the heap, and up to 64 MiB
of free heap stay mapped), from the first message on. It affects the whole
process, takes effect when the first RPCClient, RPCServer or plaindata
InputStream of a process is created, and does nothing where malloc is not glibc's.
"""
import ctypes
import sys

#: mallopt() parameter numbers, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit systems, and the trim threshold
#: its dynamic rule pairs with it (twice as much).
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

_result = None


def keep_large_buffers_mapped():
    """Set glibc's mmap and trim thresholds once for this process; True if they are set."""
    global _result
    if _result is None:
        _result = _set_thresholds()
    return _result


def _set_thresholds():
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None)  # the symbols already loaded in this process, libc's included
    if not hasattr(libc, "gnu_get_libc_version"):
        return False  # not glibc (e.g. musl): leave its malloc alone
    mallopt = libc.mallopt
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
