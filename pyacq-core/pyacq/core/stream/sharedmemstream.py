"""sharedmem transfer mode: chunks are written to a RingBuffer in shared memory
and only ``(index, epoch, n_samples)`` travels over the socket.

Readers attach read-only to the writer's segment and read without copying;
the ring buffer's header tells them when the writer has lapped them. An index
message that cannot be one (not exactly one frame of ``(index, epoch, n_samples)``,
more samples than the buffer holds, a chunk starting before index 0, or ending after
what the writer has written, which it does before sending the index) raises
MalformedMessageError: the InputStream rejects it and goes on.
"""
import numbers
import struct
from typing import Any, ClassVar

import numpy as np
import zmq

from pyacq.core.validation import check_int

from .errors import MalformedMessageError, StreamSpecError
from .ringbuffer import RingBuffer
from .streamdtype import dtype_from_params

_MESSAGE = struct.Struct("<qIq")  # index, epoch, n_samples


def _ring_shape(params):
    shape = params.get("shape")
    if shape is None:
        raise StreamSpecError("transfermode='sharedmem' needs the stream shape, e.g. shape=(-1, 16)")
    size = params.get("buffer_size")
    if size is None:
        raise StreamSpecError("transfermode='sharedmem' needs buffer_size, the ring buffer length "
                              "in samples (a positive int)")
    size = check_int("transfermode='sharedmem'", "buffer_size", size, minimum=1, error=StreamSpecError)
    return (size,) + tuple(shape[1:])


class SharedMemSender:
    """Writes chunks to a shared RingBuffer and publishes their index.

    Usually created by ``OutputStream.configure(transfermode='sharedmem',
    buffer_size=...)``. Options: ``buffer_size`` (samples held, required),
    ``double`` (every read is a contiguous view, see :class:`RingBuffer`),
    ``axisorder`` (memory layout, see :class:`RingBuffer`), ``fill`` (value of
    samples not yet written).
    """

    options: ClassVar[dict[str, Any]] = {"buffer_size": None, "double": False, "axisorder": None, "fill": None}
    #: The samples stay in shared memory; the socket carries only indexes (see ``Sender``).
    shares_memory: ClassVar[bool] = True

    def __init__(self, socket: zmq.Socket, params: dict[str, Any]) -> None:
        if params.get("compression"):
            raise StreamSpecError("compression applies to transfermode='plaindata' only")
        fill = params["fill"]
        if fill is not None and not isinstance(fill, numbers.Real):
            raise StreamSpecError(f"fill must be a number or None, got {fill!r}")
        self._socket = socket
        self.ring = RingBuffer(
            _ring_shape(params), dtype_from_params(params["dtype"]), double=params["double"],
            fill=fill, axisorder=params["axisorder"], shmem=True,
        )
        params.update(
            shm_id=self.ring.shm_id, buffer_size=self.ring.shape[0], double=self.ring.double,
            axisorder=list(self.ring.axisorder),
        )
        self._size = self.ring.shape[0]
        self.epoch = 0

    def send(self, index: int, data: np.ndarray) -> None:
        """Write ``data`` to the ring buffer, then publish ``(index, epoch, n_samples)``."""
        n = data.shape[0]
        if n > self._size:
            raise ValueError(
                f"chunk of {n} samples is larger than the shared buffer "
                f"(buffer_size={self._size})"
            )
        self.ring._append(data, index - n, index)
        self._socket.send(_MESSAGE.pack(index, self.epoch, n))

    def reset_index(self) -> None:
        """Clear the ring buffer and start a new epoch."""
        self.ring.reset()
        self.epoch += 1

    def close(self) -> None:
        """Release the shared memory segment (the OutputStream closes the socket)."""
        self.ring.close()


class SharedMemReceiver:
    """Attaches read-only to a :class:`SharedMemSender`'s buffer (:attr:`buffer`)."""

    returns_data = False

    def __init__(self, socket: zmq.Socket, params: dict[str, Any]) -> None:
        self._socket = socket
        self.buffer = RingBuffer(
            _ring_shape(params), dtype_from_params(params["dtype"]), double=params["double"],
            fill=params.get("fill"), axisorder=params["axisorder"], shmem=params["shm_id"],
        )

    def recv(self) -> tuple[int, int, int, None]:
        """Return ``(index, epoch, n_samples, None)`` for the next chunk; see :meth:`read`.

        Raises MalformedMessageError, once the whole message is read, if it is not an
        index message of this stream.
        """
        frames = [self._socket.recv(copy=False)]
        while frames[-1].more:
            frames.append(self._socket.recv(copy=False))
        message = frames[0].buffer
        if len(frames) != 1 or len(message) != _MESSAGE.size:
            raise MalformedMessageError(
                f"index message of {len(frames)} frame(s), the first of {len(message)} bytes; "
                f"expected one frame of {_MESSAGE.size} bytes")
        index, epoch, n = _MESSAGE.unpack(message)
        size = self.buffer.shape[0]
        if not 0 <= n <= size or index < n:
            raise MalformedMessageError(
                f"index message declares {n} samples ending at index {index}; chunks hold 0 to "
                f"{size} samples (the buffer size) and start at index 0 or later")
        written = self.buffer.index()
        if index > written:
            raise MalformedMessageError(
                f"index message declares a chunk ending at index {index}, but the writer has "
                f"written only {written} samples (an index sent before the writer restarted "
                "at 0 reads the same)")
        return index, epoch, n, None

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` from shared memory: a view, or BufferOverrunError if lapped."""
        return self.buffer.get_data(start, stop)

    def close(self) -> None:
        """Detach from the writer's shared memory (the InputStream closes the socket)."""
        self.buffer.close()
