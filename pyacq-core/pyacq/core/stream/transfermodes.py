"""Registry of transfer modes: name -> (sender class, receiver class).

A transfer mode is a pair of classes that agree on what travels over a
stream's socket. :class:`Sender` and :class:`Receiver` state what
:class:`~pyacq.core.stream.OutputStream` and
:class:`~pyacq.core.stream.InputStream` need of them; any pair of classes with
these members can be registered (they need not inherit from anything), so a
plugin may add its own mode with :func:`register_transfermode`.
"""
from typing import Any, ClassVar, Protocol

import numpy as np
import zmq

from .errors import StreamSpecError
from .plaindatastream import PlainDataReceiver, PlainDataSender
from .ringbuffer import RingBuffer
from .sharedmemstream import SharedMemReceiver, SharedMemSender


class Sender(Protocol):
    """The writing half of a transfer mode, built by ``OutputStream.configure()``.

    ``Sender(socket, params)`` is built on the output's publishing socket. It
    may add entries to ``params``: they reach every reader (a shared memory
    segment's name, for example).

    A sender class may set ``shares_memory = True`` when the samples stay in
    this machine's shared memory and the socket carries only their indexes:
    its tcp socket then stays plain under CURVE, since its readers are local
    users who map the memory anyway.
    """

    #: The extra ``configure()`` keywords this mode accepts, with their defaults.
    options: ClassVar[dict[str, Any]]
    #: Bumped by :meth:`reset_index`, so that readers tell a restarted index from a gap.
    epoch: int

    def __init__(self, socket: zmq.Socket, params: dict[str, Any]) -> None: ...

    def send(self, index: int, data: np.ndarray) -> None:
        """Publish ``data``, the chunk whose last sample has absolute index ``index - 1``."""

    def reset_index(self) -> None:
        """Start the sample index again at 0 (and bump :attr:`epoch`)."""

    def close(self) -> None:
        """Release what the sender holds (shared memory, buffers)."""


class Receiver(Protocol):
    """The reading half of a transfer mode, built by ``InputStream.connect()``.

    ``Receiver(socket, params)`` is built on the input's subscribing socket
    with the params the output published.
    """

    @property
    def returns_data(self) -> bool:
        """True if :meth:`recv` returns the chunk's data; False if the data stays in
        :attr:`buffer` (then the receiver is a :class:`BufferedReceiver`)."""

    @property
    def buffer(self) -> RingBuffer | None:
        """The ring buffer holding the stream's samples on the reader's side, or None."""

    def __init__(self, socket: zmq.Socket, params: dict[str, Any]) -> None: ...

    def recv(self) -> tuple[int, int, int, np.ndarray | None]:
        """Wait for the next message and return its chunk: ``(index, epoch, n_samples,
        data or None)``; raise MalformedMessageError (once the whole message is read) if
        it is not a chunk of this stream, without allocating what it claims."""

    def close(self) -> None:
        """Release what the receiver holds."""


class BufferedReceiver(Receiver, Protocol):
    """A :class:`Receiver` whose chunks stay in shared memory and are read on demand."""

    def read(self, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` of the stream (BufferOverrunError if overwritten)."""


#: ``{transfermode name: (sender class, receiver class)}``, as pyacq 2.0 exposes it.
all_transfermodes: dict[str, tuple[type[Sender], type[Receiver]]] = {}


def register_transfermode(name: str, sender_class: type[Sender],
                          receiver_class: type[Receiver]) -> None:
    """Make ``transfermode=name`` available to every OutputStream / InputStream.

    Both ends must register the same mode: a plugin registers it where it is imported
    (for example from a pluggy hook), in every process that sends or receives it.

    Parameters
    ----------
    name : str
        The ``transfermode`` value that selects the mode; an existing name is replaced.
    sender_class : type
        A class following the ``Sender`` protocol, which ``OutputStream.send`` hands chunks to;
        its ``options`` are the extra ``configure`` keywords the mode accepts.
    receiver_class : type
        The matching ``Receiver`` class, built by ``InputStream.connect``.
    """
    all_transfermodes[name] = (sender_class, receiver_class)


def get_transfermode(name: str) -> tuple[type[Sender], type[Receiver]]:
    """Return ``(sender_class, receiver_class)`` for ``name``.

    Raises
    ------
    StreamSpecError
        If no transfer mode of that name is registered; the message lists those that are.
    """
    try:
        return all_transfermodes[name]
    except (KeyError, TypeError):
        raise StreamSpecError(
            f"unknown transfermode {name!r}; choose one of {sorted(all_transfermodes)}"
        ) from None


register_transfermode("plaindata", PlainDataSender, PlainDataReceiver)
register_transfermode("sharedmem", SharedMemSender, SharedMemReceiver)
