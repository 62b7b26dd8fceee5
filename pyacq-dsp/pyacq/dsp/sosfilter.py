"""SosFilter: causal IIR filtering of a multi-channel stream, chunk by chunk.

The filter state is carried from chunk to chunk, so the output equals
``scipy.signal.sosfilt`` applied to the whole recording at once, whatever
the chunk sizes.
"""
import numbers

from .processingnode import ProcessingNode
from .sosengines import check_coefficients, check_engine_available, make_sos_engine


class SosFilter(ProcessingNode):
    """Filters multi-channel signals with a cascade of second-order IIR sections.

    ``configure(coefficients, engine='scipy', chunksize=None)``:
    ``coefficients`` has shape (nb_section, 6) (``scipy.signal.iirfilter(...,
    output='sos')``); with ``engine='opencl'`` (pyopencl and an OpenCL device
    needed) it may also be (nb_channel, nb_section, 6), a different filter per
    channel. ``chunksize`` sizes the OpenCL engine's device buffers, allocated
    at initialize; longer chunks are filtered in several passes (None: sized
    by the first chunk, grown as needed). The scipy engine filters any chunk
    in one call and does not use it.

    The output ``signals`` has the input's dtype (float32 or float64), channel
    names, sample rate and indexes; the state is reset at every start() and
    when the input stream restarts. The OpenCL engine works in (channel,
    time) order: a row-major input is transposed into a staging copy.
    """

    _input_specs = {"signals": dict()}
    _output_specs = {"signals": dict()}
    _chunk_handlers = {"signals": "_process_signals"}

    def _configure(self, coefficients=None, engine="scipy", chunksize=None):
        check_engine_available(engine, self._describe())
        self.coefficients = check_coefficients(coefficients, self._describe(),
                                               per_channel_allowed=engine == "opencl")
        if chunksize is not None and (isinstance(chunksize, bool)
                                      or not isinstance(chunksize, numbers.Integral) or chunksize < 1):
            raise ValueError(f"{self._describe()}: chunksize must be None or an int >= 1, "
                             f"got {chunksize!r}")
        self.engine, self.chunksize = engine, chunksize

    def after_input_connect(self, inputname):
        params = self.inputs[inputname].params
        if params.get("shape") is not None and len(params["shape"]) == 2:
            self._forward_signal_params("signals", params)

    def check_input_specs(self):
        _, self._dtype, self.nb_channel = self._check_signal_input(
            "signals", "f", "floating point (float32 or float64)", need_sample_rate=False)
        if self.coefficients.ndim == 3 and self.coefficients.shape[0] != self.nb_channel:
            raise ValueError(f"{self._describe()}: per-channel coefficients for "
                             f"{self.coefficients.shape[0]} channels, but input 'signals' has "
                             f"{self.nb_channel}")

    def _initialize(self):
        self._engine = make_sos_engine(self.engine, self.coefficients, self.nb_channel, self._dtype,
                                       self.chunksize, self._describe())

    def _close(self):
        if getattr(self, "_engine", None) is not None:
            self._engine.close()
            self._engine = None

    def _reset_processing(self):
        self._filter_state = self._engine.zero_state()

    def _process_signals(self, index, data, lost):
        if lost is None:
            self._filter_state = self._engine.zero_state()
        self.output.send(self._engine.filter(data, self._filter_state), index=index)
