"""OutputStream: the sending end of a stream."""
import operator
import threading
import time

import numpy as np

from .errors import StreamConnectionError, StreamStateError
from .publisher import StreamPublisher
from .streamdtype import dtype_from_params
from .streamparams import STREAM_DEFAULTS, build_params
from .transfermodes import all_transfermodes, get_transfermode

#: Longest time confirm_subscription holds the send lock in one go (seconds).
_CONFIRM_SLICE = 0.005


class OutputStream:
    """Sends chunks of a stream to any number of connected InputStreams.

    ``spec`` holds parameters fixed by the owning node (``configure`` cannot
    override them; the node may still edit ``spec`` before the stream is
    configured). Each chunk travels with its *index*: the absolute index of
    its last sample + 1.

    Streams are not thread-safe, except that ``send`` may run in one thread
    while another thread connects a new InputStream.
    """

    def __init__(self, spec=None, node=None, name=None):
        self.spec = {} if spec is None else spec
        self.node = node
        self.name = name
        self.configured = False
        self.closed = False
        self.sender = None
        self._params = None
        self._publisher = None
        self._index = 0
        self._lock = threading.Lock()

    def __repr__(self):
        state = "closed" if self.closed else "configured" if self.configured else "not configured"
        url = f" {self._params['url']}" if self.configured else ""
        return f"<OutputStream {self.name!r}{url} {state}>"

    def _describe(self):
        node = f" of {self.node._describe()}" if hasattr(self.node, "_describe") else ""
        return f"OutputStream {self.name!r}{node}" if self.name else f"OutputStream{node}"

    @property
    def params(self):
        """Plain dict describing the configured stream: what an InputStream needs to connect."""
        if not self.configured:
            raise StreamStateError(f"{self._describe()} is not configured: call configure() first")
        return dict(self._params)

    def configure(self, **kwargs):
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
        """
        if self.closed:
            raise StreamStateError(f"{self._describe()} is closed")
        if self.configured:
            raise StreamStateError(f"{self._describe()} is already configured")
        mode = self.spec.get("transfermode", kwargs.get("transfermode", STREAM_DEFAULTS["transfermode"]))
        sender_class, _ = get_transfermode(mode)
        params = build_params(
            self.spec, kwargs, sender_class.options,
            {key for sender, _ in all_transfermodes.values() for key in sender.options},
            self._describe(),
        )
        publisher = StreamPublisher(params["protocol"], params["interface"], params["port"])
        try:
            params["url"] = publisher.url
            if params["protocol"] == "tcp":
                params["port"] = int(publisher.url.rsplit(":", 1)[1])
            sender = sender_class(publisher.socket, params)
        except BaseException:
            publisher.close()
            raise
        self._publisher, self.sender, self._params = publisher, sender, params
        self._dtype = dtype_from_params(params["dtype"])
        shape = params["shape"]
        self._sample_shape = None if shape is None else tuple(shape[1:])
        self._chunk_length = None if shape is None or shape[0] == -1 else shape[0]
        self._index = 0
        self.configured = True
        if self.node is not None:
            self.node.after_output_configure(self.name)

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

    def send(self, data, index=None):
        """Send a chunk (samples along axis 0).

        ``index`` is the absolute index of the chunk's last sample + 1; it
        defaults to the previous index + ``len(data)``. A larger index
        declares lost samples (readers see the gap); a smaller one is refused.
        Contiguous arrays are sent without a copy: do not modify ``data``
        afterwards.
        """
        if not self.configured:
            raise StreamStateError(
                f"{self._describe()} cannot send: it is "
                f"{'closed' if self.closed else 'not configured'}"
            )
        data = self._as_chunk(data)
        n = data.shape[0]
        with self._lock:
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
            self._publisher.drain()
            self.sender.send(index, data)
            self._index = index

    def reset_buffer_index(self):
        """Restart the stream at index 0 (as on every Node.start()); readers see a new epoch."""
        if not self.configured:
            raise StreamStateError(f"{self._describe()} is not configured")
        with self._lock:
            self.sender.reset_index()
            self._index = 0

    def confirm_subscription(self, token, timeout):
        """Block until the InputStream that subscribed with ``token`` (hex) receives every later chunk.

        Returns the stream position at that moment, ``{'index', 'epoch'}``,
        so the reader can tell a gap from data sent before it connected.
        Called by ``InputStream.connect`` (possibly through RPC).
        """
        token = bytes.fromhex(token)
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                if not self.configured:
                    raise StreamStateError(f"{self._describe()} is not configured or closed")
                if self._publisher.wait_for_token(token, _CONFIRM_SLICE):
                    return {"index": self._index, "epoch": self.sender.epoch}
            if time.monotonic() >= deadline:
                raise StreamConnectionError(
                    f"{self._describe()}: the new InputStream did not reach "
                    f"{self._params['url']} within {timeout} s"
                )

    def close(self):
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
