"""OutputStream: the sending end of a stream.

In a process that runs a CURVE-protected RPC server (a NodeGroup of a Host
started with ``--curve-dir``, say), a tcp stream requires CURVE too: its params
carry the stream's public key as ``server_key``, only the clients that server
accepts receive it, and the others are logged and counted in
``OutputStream.refused_subscribers`` (see ``pyacq.core.rpc.curve``). ipc,
inproc and sharedmem streams stay plain: their readers are local users.
"""
from __future__ import annotations

import operator
import threading
import time
from typing import Any

import numpy as np

from .errors import StreamConnectionError, StreamSpecError, StreamStateError
from .owner import OutputOwner, describe_stream
from .publisher import StreamPublisher
from .streamdtype import dtype_from_params
from .streamparams import STREAM_DEFAULTS, build_params
from .transfermodes import Sender, all_transfermodes, get_transfermode

#: Longest time confirm_subscription holds the send lock in one go (seconds).
_CONFIRM_SLICE = 0.005


class OutputStream:
    """Sends chunks of a stream to any number of connected InputStreams.

    ``spec`` holds parameters fixed by the owning node (``configure`` cannot
    override them). The node may edit ``spec`` after the stream is configured
    too, typically when the input its output follows connects; it then calls
    :meth:`follow_spec`, which re-derives the params. While :attr:`awaiting`
    names such an input not yet connected, a configured stream holds its
    socket but has no params to give. Each chunk travels with its *index*: the
    absolute index of its last sample + 1.

    Streams are not thread-safe, except that ``send`` may run in one thread
    while another thread connects a new InputStream.

    Parameters
    ----------
    spec : dict, optional
        Stream parameters the owner fixes (for example a device's ``shape`` and
        ``sample_rate``); keywords given to :meth:`configure` cannot override them.
        The dict is kept, not copied, so the owner can edit it later. Default: empty.
    node : Node, optional
        The node that owns the stream; it is told when the stream is configured
        (``after_output_configure``) and named in the stream's errors. None for a
        stream used without a node.
    name : str, optional
        The stream's name in its node (``node.outputs[name]``), shown in errors.
    """

    def __init__(self, spec: dict[str, Any] | None = None, node: OutputOwner | None = None,
                 name: str | None = None) -> None:
        self.spec: dict[str, Any] = {} if spec is None else spec
        self.node = node
        self.name = name
        self.configured = False
        self.closed = False
        self.sender: Sender | None = None
        #: What the params still wait for (e.g. "the node's input 'signals'"),
        #: set by the node; None when the spec is complete.
        self.awaiting: str | None = None
        self._params: dict[str, Any] | None = None
        # The keywords given to configure(), and the params derived from them and the spec
        # (before the socket and the sender add theirs): what follow_spec() starts from.
        self._requested: dict[str, Any] = {}
        self._derived: dict[str, Any] | None = None
        # (error class, message) while the params no longer describe what the node sends.
        self._out_of_date: tuple[type[Exception], str] | None = None
        self._publisher: StreamPublisher | None = None
        self._index = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "configured" if self.configured else "not configured"
        url = f" {self._publisher.url}" if self._publisher is not None else ""
        return f"<OutputStream {self.name!r}{url} {state}>"

    def _describe(self) -> str:
        return describe_stream("OutputStream", self.name, self.node)

    @property
    def params(self) -> dict[str, Any]:
        """Plain dict describing the configured stream: what an InputStream needs to connect."""
        self._require_ready("give its params")
        return dict(self._params or {})

    @property
    def last_index(self) -> int:
        """Absolute index of the last chunk sent (its last sample + 1); 0 before any, and
        again after ``reset_buffer_index()``."""
        return self._index

    @property
    def refused_subscribers(self) -> int:
        """How many subscriber handshakes a CURVE-protected stream refused (0 when plain)."""
        return 0 if self._publisher is None else self._publisher.refused_subscribers

    def _require_ready(self, action: str) -> None:
        """Raise unless the params describe what the stream will send."""
        if not self.configured:
            raise StreamStateError(
                f"{self._describe()} cannot {action}: it is "
                f"{'closed' if self.closed else 'not configured; call configure() first'}"
            )
        if self.awaiting is not None:
            raise StreamStateError(
                f"{self._describe()} cannot {action} yet: its params follow {self.awaiting}, "
                "which is not connected; connect that input first"
            )
        if self._out_of_date is not None:
            error_class, message = self._out_of_date
            raise error_class(message)

    def _ready(self, action: str) -> tuple[StreamPublisher, Sender]:
        """The publisher and the sender, or the error telling why the stream cannot *action*."""
        self._require_ready(action)
        if self._publisher is None or self.sender is None:
            raise StreamStateError(f"{self._describe()} cannot {action}: it is closed")
        return self._publisher, self.sender

    def configure(self, **kwargs: Any) -> None:
        """Configure the stream and open its socket.

        Stream parameters: ``protocol`` ('tcp', 'ipc', 'inproc'),
        ``interface`` and ``port`` (tcp; default 127.0.0.1 and a free port),
        ``transfermode`` (see ``pyacq.core.stream.all_transfermodes``),
        ``streamtype`` ('analogsignal', 'digitalsignal', 'event',
        'image/video'), ``dtype`` (any numpy dtype), ``shape`` (first axis is
        time, -1 for chunks of variable length; None accepts any shape),
        ``compression`` (see ``compression_methods``), ``scale`` and
        ``offset`` (physical value = offset + scale * sample; metadata, the
        samples travel unchanged), ``units``, ``sample_rate``. Any other
        keyword is an option of the transfer mode's sender (for sharedmem:
        ``buffer_size``, ``double``, ``axisorder``, ``fill``). sharedmem
        readers share the writer's machine, where ``protocol='ipc'`` is the
        cheapest channel for its index messages.

        Parameters
        ----------
        **kwargs
            The stream parameters above, each optional. Defaults: ``protocol='tcp'``,
            ``interface='127.0.0.1'``, a free ``port``, ``transfermode='plaindata'``,
            ``streamtype='analogsignal'``, ``dtype='float32'``, ``shape=None``, no
            compression, ``scale=None``, ``offset=None``, ``units=''``,
            ``sample_rate=None``. A keyword the stream's ``spec`` fixes to another
            value, or one no transfer mode knows, is refused.
        """
        if self.closed:
            raise StreamStateError(f"{self._describe()} is closed")
        if self.configured:
            raise StreamStateError(f"{self._describe()} is already configured")
        if "server_key" in kwargs:
            raise TypeError(f"{self._describe()}: configure() got server_key, which the stream "
                            "sets itself (from its process's CURVE certificate); leave it out")
        sender_class, params = self._derive_params(kwargs)
        publisher = StreamPublisher(params["protocol"], params["interface"], params["port"],
                                    owner=self._describe(),
                                    authenticate=not getattr(sender_class, "shares_memory", False))
        self._publisher = publisher
        try:
            self._adopt(sender_class, params)
        except BaseException:
            self._publisher = None
            publisher.close()
            raise
        self._requested = dict(kwargs)
        self.configured = True
        if self.node is not None and self.name is not None:
            self.node.after_output_configure(self.name)

    def follow_spec(self) -> bool:
        """Re-derive the params from ``spec``, which the node changed after configure().

        The documented order configures a node's outputs before connecting its
        inputs, but a filter's output takes its input's dtype, shape and sample
        rate, known only once that input connects. The node then edits ``spec``
        and calls this method (:class:`~pyacq.core.node.Node` does, after each
        input connects and in ``initialize()``). The params are built again from
        the new spec and the keywords given to configure(), on the same socket
        and URL, so the protocol and transfer mode stay the user's; the sender
        is made again for them (a sharedmem ring buffer of the new dtype and
        shape). Nothing changes when the params stay the same.

        Returns
        -------
        bool
            True if the params changed.

        Raises
        ------
        StreamSpecError
            A keyword given to configure() contradicts the new spec (the message
            names both values and the fix), or the sender refuses the new params.
        StreamStateError
            The stream is not configured, still :attr:`awaiting` an input, or
            an InputStream already connected with the old params.

        After an error the stream is out of date: reading ``params`` and
        ``send()`` raise it again, until a later call succeeds.
        """
        with self._lock:
            if self._publisher is None or self.awaiting is not None:
                self._require_ready("follow its spec")
            publisher = self._publisher
            assert publisher is not None  # _require_ready raised otherwise
            self._out_of_date = None
            try:
                sender_class, params = self._derive_params(
                    self._requested, spec_origin="the node's spec (set from its connected input)")
                if self.sender is not None and params == self._derived:
                    return False
                if self.sender is not None and self._derived is not None and publisher.has_readers():
                    changed = sorted(k for k in params if params[k] != self._derived.get(k))
                    raise StreamStateError(
                        f"{self._describe()}: its node changes {changed} to "
                        f"{[params[k] for k in changed]}, but an InputStream already connected to "
                        f"{publisher.url} with the old values; connect downstream streams "
                        "after the node's inputs are connected"
                    )
                old_sender, self.sender = self.sender, None
                if old_sender is not None:
                    old_sender.close()
                try:
                    self._adopt(sender_class, params)
                except Exception as exc:
                    error_class = StreamSpecError if isinstance(exc, StreamSpecError) else StreamStateError
                    raise error_class(f"{self._describe()}: cannot send with the params its node "
                                      f"derived from its inputs: {exc}") from exc
            except (StreamSpecError, StreamStateError) as exc:
                self._out_of_date = (type(exc), str(exc))
                raise
            return True

    def _derive_params(self, kwargs, spec_origin="the node's spec"):
        """The sender class and the normalised params for ``spec`` and the keywords ``kwargs``."""
        mode = self.spec.get("transfermode", kwargs.get("transfermode", STREAM_DEFAULTS["transfermode"]))
        sender_class, _ = get_transfermode(mode)
        params = build_params(
            self.spec, kwargs, sender_class.options,
            {key for sender, _ in all_transfermodes.values() for key in sender.options},
            self._describe(), spec_origin,
        )
        return sender_class, params

    def _adopt(self, sender_class, params):
        """Use ``params`` on the open socket; make their sender unless the stream is awaiting."""
        derived = dict(params)
        publisher = self._publisher
        params["url"] = publisher.url
        if params["protocol"] == "tcp":
            params["port"] = int(publisher.url.rsplit(":", 1)[1])
        if publisher.server_key is not None:
            params["server_key"] = publisher.server_key
        sender = None if self.awaiting is not None else sender_class(publisher.socket, params)
        self.sender, self._params, self._derived = sender, params, derived
        self._dtype = dtype_from_params(params["dtype"])
        shape = params["shape"]
        self._sample_shape = None if shape is None else tuple(shape[1:])
        self._chunk_length = None if shape is None or shape[0] == -1 else shape[0]
        self._index = 0

    def _as_chunk(self, data):
        """Check ``data`` against the stream's dtype and shape; accept raw bytes too."""
        if not isinstance(data, np.ndarray):
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(
                    f"{self._describe()}: send() expects a numpy array (or bytes), got "
                    f"{type(data).__name__}"
                )
            data = np.frombuffer(data, dtype=self._dtype)
            if self._sample_shape:
                data = data.reshape((-1,) + self._sample_shape)
        if data.dtype != self._dtype:
            raise TypeError(
                f"{self._describe()}: chunk dtype {data.dtype} does not match the stream "
                f"dtype {self._dtype}; convert it with data.astype()"
            )
        if data.ndim == 0:
            raise ValueError(f"{self._describe()}: a chunk needs a time axis, got a 0-d array")
        if self._sample_shape is not None and data.shape[1:] != self._sample_shape:
            raise ValueError(
                f"{self._describe()}: chunk shape {data.shape} does not match the stream "
                f"shape {tuple(self._params['shape'])}"
            )
        if self._chunk_length is not None and data.shape[0] != self._chunk_length:
            raise ValueError(
                f"{self._describe()}: chunk of {data.shape[0]} samples, but the stream shape "
                f"{tuple(self._params['shape'])} fixes {self._chunk_length} samples per chunk"
            )
        return data

    def send(self, data: np.ndarray | bytes, index: int | None = None) -> None:
        """Send a chunk (samples along axis 0).

        ``index`` is the absolute index of the chunk's last sample + 1; it
        defaults to the previous index + ``len(data)``. A larger index
        declares lost samples (readers see the gap); a smaller one is refused.
        Contiguous arrays are sent without a copy: do not modify ``data``
        afterwards.

        Parameters
        ----------
        data : numpy.ndarray or bytes
            The chunk, time on axis 0, with the stream's dtype and sample shape;
            raw bytes are taken as the samples' buffer.
        index : int, optional
            Absolute index of the chunk's last sample + 1. Default: the previous
            index + ``len(data)`` (no gap).
        """
        if self.sender is None or self._out_of_date is not None:
            self._require_ready("send")
        chunk = self._as_chunk(data)
        n = chunk.shape[0]
        with self._lock:
            publisher, sender = self._publisher, self.sender
            if publisher is None or sender is None or self._out_of_date is not None:
                publisher, sender = self._ready("send")
            if index is None:
                index = self._index + n
            else:
                index = operator.index(index)
                if index - n < self._index:
                    raise ValueError(
                        f"{self._describe()}: index {index} for a chunk of {n} samples goes "
                        f"back before index {self._index} already sent; indexes only grow "
                        "(reset_buffer_index() restarts at 0)"
                    )
            publisher.drain()
            sender.send(index, chunk)
            self._index = index

    def reset_buffer_index(self) -> None:
        """Restart the stream at index 0 (as on every Node.start()); readers see a new epoch."""
        _, sender = self._ready("reset its index")
        with self._lock:
            sender.reset_index()
            self._index = 0

    def confirm_subscription(self, token: str, timeout: float) -> dict[str, int]:
        """Block until the InputStream that subscribed with ``token`` (hex) receives every later chunk.

        Returns the stream position at that moment, ``{'index', 'epoch'}``,
        so the reader can tell a gap from data sent before it connected.
        Called by ``InputStream.connect`` (possibly through RPC).

        Parameters
        ----------
        token : str
            The subscription token (hex) the InputStream's subscriber sends.
        timeout : float
            Seconds to wait for the token before raising StreamConnectionError.
        """
        subscription = bytes.fromhex(token)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if self._publisher is None or self.sender is None:
                    raise StreamStateError(f"{self._describe()} is not configured or closed")
                if self._publisher.wait_for_token(subscription, _CONFIRM_SLICE):
                    return {"index": self._index, "epoch": self.sender.epoch}
                url = self._publisher.url
            if time.monotonic() >= deadline:
                raise StreamConnectionError(
                    f"{self._describe()}: the new InputStream did not reach {url} within {timeout} s"
                )

    def close(self) -> None:
        """Close the socket and release the sender's resources (shared memory, ipc file)."""
        with self._lock:
            if self.sender is not None:
                self.sender.close()
                self.sender = None
            if self._publisher is not None:
                self._publisher.close()
                self._publisher = None
            self.configured = False
            self.closed = True
