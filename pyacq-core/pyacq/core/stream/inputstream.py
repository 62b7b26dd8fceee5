"""InputStream: the receiving end of a stream."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import zmq

from ..rpc.socket_watch import SocketWatch
from .errors import BufferOverrunError, MalformedMessageError, StreamSpecError, StreamStateError
from .outputstream import OutputStream
from .owner import InputOwner, describe_stream
from .ringbuffer import RingBuffer
from .streamdtype import dtype_from_params
from .streamparams import normalize_shape
from .subscriber import StreamSubscriber
from .transfermodes import BufferedReceiver, Receiver, get_transfermode

#: What ``InputStream.connect()`` accepts: an OutputStream, a proxy to one, or its params.
OutputLike = Any
#: ``confirm(token, timeout)``: asks the output to confirm a new subscription.
Confirm = Callable[[str, float], dict[str, int]]

logger = logging.getLogger(__name__)

#: Monitor events of the receiving socket that tell whether its source is connected.
_LINK_EVENTS = zmq.EVENT_DISCONNECTED | zmq.EVENT_HANDSHAKE_SUCCEEDED

#: Seconds between two warnings about the rejected messages of one InputStream.
REJECTION_LOG_INTERVAL = 10.0

#: What a receiver's ``recv()`` returns: ``(index, epoch, n_samples, data or None)``.
Chunk = tuple[int, int, int, np.ndarray | None]


def _resolve_output(output: OutputLike) -> tuple[dict[str, Any], Confirm | None]:
    """Return ``(params, confirm)`` for an OutputStream, a proxy to one, or a params dict."""
    if isinstance(output, dict):
        return output, None
    if isinstance(output, OutputStream):
        return output.params, output.confirm_subscription
    params = output.params
    if not isinstance(params, dict):
        params = params._get_value()

    def confirm_remotely(token: str, timeout: float) -> dict[str, int]:
        # The remote call may take the whole ``timeout``: the proxy must wait longer.
        return output.confirm_subscription(token, timeout, _timeout=timeout + 10.0)

    return params, confirm_remotely


class InputStream:
    """Receives the chunks of one OutputStream, in this or another thread or process.

    ``spec`` holds what the owning node requires (``dtype``, ``shape``,
    ``transfermode``); ``connect`` refuses an output that does not match it.

    Loss is never silent: a chunk that does not start where the previous one
    ended is logged and counted in :attr:`gap_count` / :attr:`lost_samples`;
    a sharedmem read of samples the writer already overwrote raises
    :class:`BufferOverrunError` and is counted in :attr:`overrun_count`. An
    output restarting at index 0 (``reset_buffer_index``) is counted in
    :attr:`restart_count`, and not as a gap.

    A source that goes silent because its process died (or its connection dropped)
    is not silent either: :meth:`poll` notices the lost connection, logs it once,
    and :attr:`source_lost` is True until the source is connected again.

    A message that is not a chunk of this stream (a header that does not match the
    stream's dtype or shape, a frame whose size does not match its header, a garbage
    sharedmem index message: :class:`MalformedMessageError`) is rejected, never used:
    it is counted in :attr:`rejected_count` and logged (a warning naming the stream and
    what was wrong, at most every ``REJECTION_LOG_INTERVAL`` seconds), nothing is
    allocated for what it claims, and the next good chunk is received normally.
    :meth:`poll` returns True only for a chunk: it receives the message that is ready
    and keeps it for :meth:`recv`, which returns it without waiting.

    Parameters
    ----------
    spec : dict, optional
        What the owner requires of the output (``dtype``, ``shape``,
        ``transfermode``, ...); :meth:`connect` refuses an output whose params
        differ. Default: empty (any output).
    node : Node, optional
        The node that owns the stream; it is told when the stream connects
        (``after_input_connect``) and named in the stream's errors and logs.
    name : str, optional
        The stream's name in its node (``node.inputs[name]``), shown in errors.
    """

    def __init__(self, spec: dict[str, Any] | None = None, node: InputOwner | None = None,
                 name: str | None = None) -> None:
        self.spec: dict[str, Any] = {} if spec is None else spec
        self.node = node
        self.name = name
        self.connected = False
        self.params: dict[str, Any] = {}
        self.buffer: RingBuffer | None = None
        self.receiver: Receiver | None = None
        self._subscriber: StreamSubscriber | None = None
        self._poller: zmq.Poller | None = None
        self._own_buffer = False
        self.gap_count = 0
        self.lost_samples = 0
        self.overrun_count = 0
        self.restart_count = 0
        #: Messages rejected because they were not chunks of this stream.
        self.rejected_count = 0
        self._next_rejection_log = 0.0
        # A chunk poll() received, for the next recv().
        self._pending: Chunk | None = None
        #: True while the connection to the source is lost (its process died, say).
        self.source_lost = False
        self._link_monitor: SocketWatch | None = None
        self._epoch: int | None = None
        self._expected: int | None = None

    def __repr__(self) -> str:
        url = f" {self.params['url']}" if self.connected else ""
        return f"<InputStream {self.name!r}{url} {'connected' if self.connected else 'not connected'}>"

    def _describe(self) -> str:
        return describe_stream("InputStream", self.name, self.node)

    def connect(self, output: OutputLike) -> None:
        """Connect to ``output``: an OutputStream, an RPC proxy to one, or its ``params`` dict.

        Returns once every chunk the output sends from now on will be received.

        Parameters
        ----------
        output : OutputStream, ObjectProxy or dict
            The configured output to receive. An OutputStream or a proxy to one is
            asked to confirm the subscription, which also tells the stream's
            position at that moment (so data sent before is not taken for a gap);
            with only its ``params`` dict, ``connect`` waits for the transport
            handshake instead.
        """
        if self.connected:
            raise StreamStateError(f"{self._describe()} is already connected; close() it first")
        params, confirm = _resolve_output(output)
        if "url" not in params or "transfermode" not in params:
            raise StreamSpecError(
                f"{self._describe()}: {params!r} is not the params of a configured OutputStream"
            )
        self._check_spec(params)
        _, receiver_class = get_transfermode(params["transfermode"])
        subscriber = StreamSubscriber(params["url"], confirm, server_key=params.get("server_key"))
        try:
            receiver = receiver_class(subscriber.socket, params)
        except BaseException:
            subscriber.close()
            raise
        self._subscriber = subscriber
        self.receiver = receiver
        # One poller for every poll(): Socket.poll() would build one per call.
        self._poller = zmq.Poller()
        self._poller.register(subscriber.socket, zmq.POLLIN)
        if not params["url"].startswith("inproc://"):
            self._link_monitor = SocketWatch(subscriber.socket, _LINK_EVENTS, owner=self)
            self._poller.register(self._link_monitor.reader, zmq.POLLIN)
        self.source_lost = False
        self.params = dict(params)
        self.buffer, self._own_buffer = receiver.buffer, False
        if subscriber.position is not None:
            self._epoch = subscriber.position["epoch"]
            self._expected = subscriber.position["index"]
        self.connected = True
        if self.node is not None and self.name is not None:
            self.node._input_connected(self.name)

    def _check_spec(self, params: dict[str, Any]) -> None:
        mismatches = []
        spec = self.spec
        if spec.get("dtype") is not None and (
            dtype_from_params(spec["dtype"]) != dtype_from_params(params["dtype"])
        ):
            mismatches.append(f"dtype {params['dtype']!r} (required {spec['dtype']!r})")
        if spec.get("shape") is not None and not _shape_matches(spec["shape"], params.get("shape")):
            mismatches.append(f"shape {params.get('shape')!r} (required {tuple(spec['shape'])!r})")
        if spec.get("transfermode") is not None and spec["transfermode"] != params["transfermode"]:
            mismatches.append(
                f"transfermode {params['transfermode']!r} (required {spec['transfermode']!r})"
            )
        if mismatches:
            raise StreamSpecError(
                f"{self._describe()} cannot connect to {params.get('url')}: the output has "
                + ", ".join(mismatches)
            )

    @property
    def socket(self) -> zmq.Socket | None:
        """The ZeroMQ SUB socket chunks arrive on, for polling several inputs with one
        ``zmq.Poller`` (then read with ``recv()``); None until connected."""
        return None if self._subscriber is None else self._subscriber.socket

    def _require_connected(self, action: str) -> tuple[StreamSubscriber, zmq.Poller, Receiver]:
        """The subscriber, its poller and the receiver, or the error saying *action* needs them."""
        if self._subscriber is None or self._poller is None or self.receiver is None:
            raise StreamStateError(f"{self._describe()} cannot {action}: it is not connected")
        return self._subscriber, self._poller, self.receiver

    def poll(self, timeout: int | None = None) -> bool:
        """Return True if a chunk is ready, waiting up to ``timeout`` ms (None: forever).

        Meanwhile, a lost or restored connection to the source updates
        :attr:`source_lost` (and is logged).

        Parameters
        ----------
        timeout : int or None, optional
            Milliseconds to wait; 0 only looks, None (default) waits until a chunk
            arrives.
        """
        subscriber, poller, receiver = self._require_connected("poll")
        if self._pending is not None:
            return True
        data_socket = subscriber.socket
        deadline = None if timeout is None else time.monotonic() + timeout / 1000.0
        while True:
            ready = dict(poller.poll(timeout))
            if self._link_monitor is not None and self._link_monitor.reader in ready:
                self._read_link_events()
            if data_socket in ready:
                # A whole message is ready: receiving it does not wait.
                try:
                    self._pending = receiver.recv()
                except MalformedMessageError as exc:
                    self._reject(exc)
                else:
                    return True
            elif not ready:
                return False
            if deadline is not None:
                timeout = max(0, int((deadline - time.monotonic()) * 1000))

    def _read_link_events(self) -> None:
        if self._link_monitor is None:
            return
        for message in self._link_monitor.pending():
            event = message["event"]
            if event == zmq.EVENT_DISCONNECTED and not self.source_lost:
                self.source_lost = True
                logger.warning("%s: its source, the OutputStream at %s, went silent: the "
                               "connection to it was lost (did its process die?)",
                               self._describe(), self.params["url"])
            elif event == zmq.EVENT_HANDSHAKE_SUCCEEDED and self.source_lost:
                self.source_lost = False
                logger.info("%s: its source at %s is connected again",
                            self._describe(), self.params["url"])

    def recv(self, return_data: bool | None = None,
             with_data: bool | None = None) -> tuple[int, np.ndarray | None]:
        """Receive the next chunk (blocking): return ``(index, data)``.

        ``index`` is the absolute index of the chunk's last sample + 1. Data
        is returned by default for plaindata; for sharedmem it is None unless
        ``return_data=True`` (alias ``with_data=True``), and is then a
        read-only view of the shared buffer (read ``input[start:stop]`` for
        any other span). Data arrays are read-only.

        Parameters
        ----------
        return_data : bool or None, optional
            Return the chunk's samples (True) or only its index (False, data None).
            Default None: the transfer mode's own default (True for plaindata,
            False for sharedmem, whose readers usually read the buffer directly).
        with_data : bool or None, optional
            The name pyacq 2.0's documentation gives ``return_data``; give one of
            the two (both, with different values, is refused).
        """
        _, _, receiver = self._require_connected("recv")
        if with_data is not None:
            if return_data is not None and bool(return_data) != bool(with_data):
                raise TypeError("recv(): return_data and with_data are aliases; give one")
            return_data = with_data
        if return_data is None:
            return_data = receiver.returns_data
        if self._pending is not None:
            (index, epoch, n, data), self._pending = self._pending, None
        else:
            index, epoch, n, data = self._next_chunk(receiver)
        self._account(index, epoch, n)
        if data is None and (return_data or self._own_buffer):
            try:
                data = cast(BufferedReceiver, receiver).read(index - n, index)
            except BufferOverrunError:
                self.overrun_count += 1
                logger.warning("%s: chunk ending at %d was overwritten before it was read",
                               self._describe(), index)
                raise
        if self._own_buffer and self.buffer is not None and data is not None:
            self.buffer.new_chunk(data, index)
        return index, (data if return_data else None)

    def _next_chunk(self, receiver: Receiver) -> Chunk:
        """Receive messages (waiting for them) until one is a chunk; reject the others."""
        while True:
            try:
                return receiver.recv()
            except MalformedMessageError as exc:
                self._reject(exc)

    def _reject(self, problem: MalformedMessageError) -> None:
        """Count a message that is not a chunk; log it, at most every REJECTION_LOG_INTERVAL s."""
        self.rejected_count += 1
        now = time.monotonic()
        if now < self._next_rejection_log:
            return
        self._next_rejection_log = now + REJECTION_LOG_INTERVAL
        logger.warning("%s: rejected a message from %s that is not a chunk of this stream: %s; "
                       "%d rejected so far (logged at most every %g s, counted in rejected_count)",
                       self._describe(), self.params.get("url"), problem, self.rejected_count,
                       REJECTION_LOG_INTERVAL)

    def _account(self, index: int, epoch: int, n: int) -> None:
        """Update gap / restart bookkeeping for a chunk of ``n`` samples ending at ``index``."""
        if epoch != self._epoch:
            if self._epoch is not None:
                self.restart_count += 1
                logger.debug("%s: the output restarted at index 0", self._describe())
                self._expected = 0
                if self._own_buffer and self.buffer is not None:
                    self.buffer.reset()
            self._epoch = epoch
        start = index - n
        if self._expected is not None and start > self._expected:
            self.gap_count += 1
            self.lost_samples += start - self._expected
            logger.warning(
                "%s: %d samples lost (indexes %d to %d never arrived); %d gaps so far",
                self._describe(), start - self._expected, self._expected, start, self.gap_count,
            )
        self._expected = index

    def empty_queue(self) -> None:
        """Receive and discard every chunk already waiting, so the next recv() is fresh.

        Discarded chunks still update the attached buffer and the gap counters.
        """
        self._require_connected("empty_queue")
        while self.poll(0):
            try:
                self.recv(return_data=False)
            except BufferOverrunError:
                continue

    def set_buffer(self, size: int | None = None, double: bool = True,
                   axisorder: tuple[int, ...] | None = None, shmem: bool | str | None = None,
                   fill: float | None = None) -> None:
        """Ensure chunks are kept in a RingBuffer of at least ``size`` samples.

        A sharedmem stream's own shared buffer is used when it already fits
        (``size``, ``double``, ``axisorder``); otherwise a new RingBuffer is
        attached (replacing any previous one) and every received chunk is
        copied into it. Read it with :meth:`get_data` or ``input[start:stop]``.

        Parameters
        ----------
        size : int or None, optional
            Samples the buffer holds. None (default) uses the sharedmem stream's
            own buffer size; a plaindata stream needs a size.
        double : bool, optional
            Make every span of up to ``size`` samples one contiguous view (reads
            never copy). Default True.
        axisorder : tuple of int or None, optional
            Memory order of the axes, outermost first; ``(1, 0)`` keeps each
            channel's samples contiguous. Default None: time outermost.
        shmem : bool, str or None, optional
            Put a new buffer in shared memory (True), so that other processes can
            read it through its ``shm_id``; a ``shm_id`` string attaches to an
            existing segment, as for RingBuffer. Default None: private memory.
        fill : float or None, optional
            Value of samples never received (gaps). Default None: NaN for float
            dtypes, zero for the others.
        """
        _, _, receiver = self._require_connected("set_buffer")
        shape = self.params.get("shape")
        if shape is None:
            raise StreamSpecError(
                f"{self._describe()}: set_buffer() needs the output to declare its shape"
            )
        shared = receiver.buffer
        if shared is not None and shmem is None and fill is None and (
            (size is None or size <= shared.shape[0])
            and bool(double) == shared.double
            and (axisorder is None or tuple(axisorder) == shared.axisorder)
        ):
            self._replace_buffer(shared, own=False)
            return
        if size is None:
            if shared is None:
                raise TypeError(f"{self._describe()}: set_buffer() needs a size in samples")
            size = shared.shape[0]
        current = self.buffer if self._own_buffer else None
        if current is not None and (
            current.shape[0] >= size and current.double == bool(double)
            and (axisorder is None or tuple(axisorder) == current.axisorder)
            and current.fill == fill and (shmem is None) == (current.shm_id is None)
        ):
            return
        buffer = RingBuffer((size,) + tuple(shape[1:]), self.params["dtype"], double=double,
                            fill=fill, axisorder=axisorder, shmem=shmem)
        self._replace_buffer(buffer, own=True)

    def _replace_buffer(self, buffer: RingBuffer, own: bool) -> None:
        if self._own_buffer and self.buffer is not None and self.buffer is not buffer:
            self.buffer.close()
        self.buffer, self._own_buffer = buffer, own

    def _require_buffer(self) -> RingBuffer:
        if self.buffer is None:
            raise StreamStateError(
                f"{self._describe()} has no buffer to read from: call set_buffer() first"
            )
        return self.buffer

    def get_data(self, *args: Any, **kwargs: Any) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Read the attached RingBuffer; see :meth:`RingBuffer.get_data`.

        Parameters
        ----------
        *args
            ``start, stop[, copy[, join]]``, as for :meth:`RingBuffer.get_data`.
        **kwargs
            The same, by name.
        """
        return self._require_buffer().get_data(*args, **kwargs)

    def __getitem__(self, key: int | slice) -> np.ndarray:
        """``input[start:stop]``: read the attached buffer by absolute index."""
        return self._require_buffer()[key]

    def reset_buffer_index(self) -> None:
        """Forget the stream position (the next chunk sets it) and clear an attached buffer."""
        self._expected = None
        if self._own_buffer and self.buffer is not None:
            self.buffer.reset()

    def close(self) -> None:
        """Close the socket and release buffers; nothing can be received afterwards."""
        if self._own_buffer and self.buffer is not None:
            self.buffer.close()
        if self.receiver is not None:
            self.receiver.close()
            self.receiver = None
        if self._link_monitor is not None:
            self._link_monitor.stop()
            self._link_monitor = None
        if self._subscriber is not None:
            self._subscriber.close()
            self._subscriber = self._poller = None
        self.buffer, self._own_buffer = None, False
        self._pending = None
        self.connected = False


def _shape_matches(required: Any, declared: Any) -> bool:
    """True if a declared output shape satisfies a required one (-1 in time matches anything)."""
    if declared is None:
        return False
    required = normalize_shape(required)
    declared = list(declared)
    if len(required) != len(declared):
        return False
    if required[0] != -1 and required[0] != declared[0]:
        return False
    return required[1:] == declared[1:]
