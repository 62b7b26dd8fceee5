"""ProcessingNode: the common machinery of the DSP nodes.

Each input is read by its own :class:`~pyacq.core.streamtools.inputpoller.InputPoller`
thread; the handlers of all inputs run under one lock, so a node with two
inputs (TriggerAccumulator) sees its state change one chunk at a time. The
base class also tells a handler whether the chunk follows the previous one,
follows lost samples (a gap), or starts a new stream (first chunk, or the
upstream node restarted at index 0). Subclasses check their input streams
with :func:`pyacq.core.validation.check_signal_input`.
"""
import logging
import threading

from pyacq.core.node import Node
from pyacq.core.streamtools.inputpoller import InputPoller
from pyacq.core.validation import named_channel_info

logger = logging.getLogger(__name__)

#: Longest wait of a poller thread (ms): stop() takes effect within it.
POLL_TIMEOUT_MS = 100
#: How long stop() waits for a poller thread to finish its current chunk (s).
JOIN_TIMEOUT_S = 10.0


class ProcessingNode(Node):
    """Node whose inputs are handled chunk by chunk in background threads.

    Subclasses map each input name to a handler method in ``_chunk_handlers``;
    a handler is called as ``handler(index, data, lost)`` where ``lost`` is
    None when the chunk starts a stream, else the number of samples that
    never arrived just before it (0 when contiguous). ``_reset_processing()``
    runs before every start. :attr:`processed_until` maps each input to the
    index of the last chunk handled (None before the first).

    An exception in a handler is a loss, not a failure (see
    :mod:`pyacq.core.node`): the chunk is lost, the exception is logged with
    the node's name, the input and the chunk's index, and counted in
    :attr:`processing_error_count` (since the node was created); processing
    goes on with the next chunk and the node stays running. An exception that
    ends a poller thread itself (its input closed under it) makes the node
    ``failed``, as for every node.

    Parameters
    ----------
    *args
        Node's positional parameters (``name``, ``parent``), passed on unchanged.
    **kwargs
        Node's keywords, passed on unchanged: see :class:`~pyacq.core.node.Node`.
    """

    _chunk_handlers = {}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.processing_error_count = 0
        self._processing_lock = threading.Lock()
        self._pollers = []
        self.processed_until = dict.fromkeys(self._chunk_handlers)

    @property
    def processing_errors(self):
        """The former name of :attr:`processing_error_count`."""
        return self.processing_error_count

    # -- lifecycle ------------------------------------------------------------------

    def _start(self):
        self._reset_processing()
        self._next_index = dict.fromkeys(self._chunk_handlers)
        self.processed_until = dict.fromkeys(self._chunk_handlers)
        self._pollers = [
            InputPoller(self.inputs[name], callback=self._make_callback(name, method),
                        timeout=POLL_TIMEOUT_MS, return_data=True,
                        name=f"{self.name or type(self).__name__}-{name}")
            for name, method in self._chunk_handlers.items()
        ]
        for poller in self._pollers:
            poller.start()

    def _stop(self):
        for poller in self._pollers:
            poller.stop()
        for poller in self._pollers:
            poller.join(timeout=JOIN_TIMEOUT_S)
            if poller.is_alive():
                raise RuntimeError(
                    f"{self._describe()}: thread {poller.name!r} did not finish its chunk "
                    f"within {JOIN_TIMEOUT_S} s"
                )
        self._pollers = []

    def _reset_processing(self):
        """Forget any state carried from a previous run (override)."""

    def _make_callback(self, input_name, method_name):
        handler = getattr(self, method_name)

        def callback(index, data):
            with self._processing_lock:
                start = index - len(data)
                expected = self._next_index[input_name]
                lost = None if expected is None or start < expected else start - expected
                self._next_index[input_name] = index
                try:
                    handler(index, data, lost)
                except Exception:
                    self.processing_error_count += 1
                    logger.exception("%s: error while processing the chunk of input %r ending "
                                     "at index %d (%d errors so far)", self._describe(),
                                     input_name, index, self.processing_error_count)
                self.processed_until[input_name] = index
        return callback

    # -- outputs that follow the input ------------------------------------------------

    def forward_signal_params(self, output_name, params, dtype=None):
        """Give output ``output_name`` the input's dtype, channel count, sample rate and names.

        Call it from ``update_output_specs`` for an output declared in
        ``_output_follows``: the output then describes the same signal as its input,
        whatever order the user configures and connects them in.

        Parameters
        ----------
        output_name : str
            The output whose ``spec`` is set.
        params : dict
            The ``params`` of the input it follows (a (time, channel) signal).
        dtype : numpy dtype or str, optional
            The output's dtype when it differs from the input's (a detector that
            outputs events, say); default: the input's.
        """
        nb_channel = int(params["shape"][1])
        self.outputs[output_name].spec.update(
            streamtype=params.get("streamtype", "analogsignal"),
            dtype=params["dtype"] if dtype is None else dtype,
            shape=(-1, nb_channel),
            sample_rate=params.get("sample_rate"),
            nb_channel=nb_channel,
            channel_info=named_channel_info(params.get("channel_info"), nb_channel),
        )
