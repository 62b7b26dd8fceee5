"""plaindata transfer mode: each chunk travels as a small header + its raw bytes.

The header (index, epoch, memory order, shape) is packed with a struct built
once per number of dimensions. C- and Fortran-contiguous arrays (a transposed
array is Fortran-contiguous) are handed to ZeroMQ without copying; any other
layout is copied once into C order.

The receiver checks every message against the stream before using it: a header that
does not match the stream's shape, a body whose size does not match the header, or
extra or missing frames raise MalformedMessageError (the InputStream rejects the
message and goes on); nothing is allocated for what a header claims.
"""
import functools
import math
import struct
from typing import Any, ClassVar

import numpy as np
import zmq

from ..rpc.malloc_tuning import keep_large_buffers_mapped
from .compression import get_codec
from .errors import MalformedMessageError
from .ringbuffer import RingBuffer
from .streamdtype import dtype_from_params

_PREFIX = struct.Struct("<qIBB")  # index, epoch, layout flags, ndim
_FORTRAN = 1  # flag: the bytes are in Fortran order
_INLINE = 2  # flag: the bytes follow the header in the same frame
_FLAGS = _FORTRAN | _INLINE

#: Chunks smaller than this travel in one frame with their header: ZeroMQ
#: would copy them anyway (pyzmq's copy threshold), and one frame costs less
#: per message than two.
INLINE_LIMIT = zmq.COPY_THRESHOLD


@functools.cache
def _header_struct(ndim):
    return struct.Struct(_PREFIX.format + "q" * ndim)


def _exports_buffer(dtype):
    """True if numpy can hand arrays of ``dtype`` to ZeroMQ as a buffer (not datetime64...)."""
    try:
        memoryview(np.zeros(1, dtype))
    except (ValueError, TypeError):
        return False
    return True


class PlainDataSender:
    """Sends chunks over ``socket`` as ``[header, raw data]`` multipart messages.

    Usually created by ``OutputStream.configure(transfermode='plaindata')``.
    Contiguous chunks are sent without a copy: the caller must not modify an
    array after passing it to ``send``.
    """

    options: ClassVar[dict[str, Any]] = {}

    def __init__(self, socket: zmq.Socket, params: dict[str, Any]) -> None:
        self._socket = socket
        dtype = dtype_from_params(params["dtype"])
        codec = get_codec(params["compression"], dtype.itemsize)
        self._compress = None if codec is None else codec[0]
        # Sent as a byte view when compressed, or when numpy cannot export the
        # dtype as a buffer.
        self._as_bytes = self._compress is not None or not _exports_buffer(dtype)
        self.epoch = 0

    def send(self, index: int, data: np.ndarray) -> None:
        """Publish ``data`` as ``[header, bytes]`` (one frame when small); ``index`` ends the chunk."""
        layout = data.flags
        if layout.c_contiguous:
            flags, body = 0, data
        elif layout.f_contiguous:
            flags, body = _FORTRAN, data.T
        else:
            flags, body = 0, np.ascontiguousarray(data)
        if self._as_bytes:
            body = body.reshape(-1).view(np.uint8)
            if self._compress is not None:
                body = self._compress(body)
            nbytes = len(body)
        else:
            nbytes = data.nbytes
        shape = data.shape
        ndim = len(shape)
        if nbytes < INLINE_LIMIT:
            header = _header_struct(ndim).pack(index, self.epoch, flags | _INLINE, ndim, *shape)
            self._socket.send(b"".join((header, body)))
        else:
            header = _header_struct(ndim).pack(index, self.epoch, flags, ndim, *shape)
            self._socket.send(header, zmq.SNDMORE)
            self._socket.send(body, copy=False)

    def reset_index(self) -> None:
        """Start a new epoch: readers tell the restarted index from a gap."""
        self.epoch += 1

    def close(self) -> None:
        """Nothing to release: the OutputStream owns and closes the socket."""


class PlainDataReceiver:
    """Receives what :class:`PlainDataSender` sends; chunks are read-only arrays over the message."""

    returns_data = True
    buffer: RingBuffer | None = None

    def __init__(self, socket: zmq.Socket, params: dict[str, Any]) -> None:
        keep_large_buffers_mapped()  # each large chunk arrives in a fresh ZeroMQ buffer
        self._socket = socket
        self._dtype = dtype_from_params(params["dtype"])
        codec = get_codec(params["compression"], self._dtype.itemsize)
        self._decompress = None if codec is None else codec[1]
        shape = params.get("shape")
        # What every chunk's shape must be after its time axis, and its number of
        # dimensions (None: any, for a stream that did not declare its shape).
        self._sample_shape = None if shape is None else tuple(shape[1:])
        self._ndim = None if shape is None else len(shape)

    def recv(self) -> tuple[int, int, int, np.ndarray]:
        """Return ``(index, epoch, n_samples, data)`` for the next chunk.

        Raises MalformedMessageError, once the whole message is read, if it is not a
        chunk of this stream.
        """
        header = self._socket.recv(copy=False)
        if not header.more:
            return self._parse(header.buffer, None)
        frames = [header, self._socket.recv(copy=False)]
        while frames[-1].more:
            frames.append(self._socket.recv(copy=False))
        if len(frames) != 2:
            raise MalformedMessageError(f"message of {len(frames)} frames; a chunk has 1 or 2")
        return self._parse(header.buffer, frames[1].buffer)

    def _parse(self, message, body):
        """The chunk of a *message* (header frame) and its *body* frame (None if inline)."""
        if len(message) < _PREFIX.size:
            raise MalformedMessageError(f"header of {len(message)} bytes, shorter than the "
                                        f"{_PREFIX.size} bytes of its fixed part")
        index, epoch, flags, ndim = _PREFIX.unpack_from(message)
        if ndim != self._ndim and (self._ndim is not None or ndim == 0):
            raise MalformedMessageError(
                f"header declares {ndim} dimensions, the stream has {self._ndim or 'at least 1'}")
        if flags & ~_FLAGS or (body is None) != bool(flags & _INLINE):
            raise MalformedMessageError(
                f"header flags {flags:#x} do not describe a message of {1 if body is None else 2} "
                "frame(s)")
        header_struct = _header_struct(ndim)
        if len(message) < header_struct.size or (body is not None
                                                 and len(message) != header_struct.size):
            raise MalformedMessageError(f"header frame of {len(message)} bytes, a header of "
                                        f"{ndim} dimensions has {header_struct.size}")
        shape = header_struct.unpack_from(message)[4:]
        sample_shape = self._sample_shape
        if (shape[1:] != sample_shape) if sample_shape is not None else min(shape) < 0:
            raise MalformedMessageError(
                f"header declares shape {shape}, the stream's chunks are (n, "
                f"{', '.join(map(str, sample_shape or ()))})")
        if not 0 <= shape[0] <= index:
            raise MalformedMessageError(
                f"header declares {shape[0]} samples ending at index {index}: a chunk has 0 or "
                "more samples, from index 0 on")
        body = (message[header_struct.size:] if body is None else body).toreadonly()
        nbytes = math.prod(shape) * self._dtype.itemsize
        if self._decompress is not None:
            body = self._decompress(body, nbytes)
        elif len(body) != nbytes:
            raise MalformedMessageError(
                f"body of {len(body)} bytes, the header's shape {shape} of {self._dtype} "
                f"needs {nbytes}")
        data = np.frombuffer(body, dtype=self._dtype)
        data = data.reshape(shape) if not flags & _FORTRAN else data.reshape(shape[::-1]).T
        return index, epoch, shape[0], data

    def close(self) -> None:
        """Nothing to release: the InputStream owns and closes the socket."""
