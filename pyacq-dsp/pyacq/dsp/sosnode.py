"""SosNode: the common part of the nodes that filter a stream with second-order sections."""
from pyacq.core.validation import check_signal_input

from .processingnode import ProcessingNode
from .sosengines import check_coefficients, check_engine_available, make_sos_engine


class SosNode(ProcessingNode):
    """A ProcessingNode filtering one float ``signals`` input into one ``signals`` output with
    a cascade of second-order sections, through a scipy or OpenCL engine.

    Subclasses handle the chunks in ``_process_signals`` and make their engine at initialize
    with :meth:`_make_engine`; the output takes the input's dtype, channel names and sample rate.
    """

    _input_specs = {"signals": dict()}
    _output_specs = {"signals": dict()}
    _output_follows = {"signals": ("signals",)}
    _chunk_handlers = {"signals": "_process_signals"}

    def _set_coefficients(self, coefficients, engine):
        """Check that ``engine`` is usable and ``coefficients`` fit it; keep the coefficients."""
        per_channel = check_engine_available(engine, self._describe()) == "opencl"
        self.coefficients = check_coefficients(coefficients, self._describe(),
                                               per_channel_allowed=per_channel)

    def update_output_specs(self):
        """Give output ``signals`` the input's dtype, channels and rate, once the input is (time, channel)."""
        params = self.inputs["signals"].params
        if params.get("shape") is not None and len(params["shape"]) == 2:
            self.forward_signal_params("signals", params)

    def check_input_specs(self):
        """Require a float (time, channel) analogsignal input, as many channels as per-channel coefficients.

        Raises
        ------
        RuntimeError, TypeError, ValueError
            The input is not connected, is not such a signal, or the coefficients
            are for another number of channels.
        """
        _, self._dtype, self.nb_channel = check_signal_input(
            self, "signals", dtype_kinds="f", kind_description="floating point (float32 or float64)",
            streamtypes=("analogsignal",), need_sample_rate=False)
        if self.coefficients.ndim == 3 and self.coefficients.shape[0] != self.nb_channel:
            raise ValueError(f"{self._describe()}: per-channel coefficients for "
                             f"{self.coefficients.shape[0]} channels, but input 'signals' has "
                             f"{self.nb_channel}")

    def _make_engine(self, chunksize):
        """The engine for the configured coefficients and the input's channels and dtype."""
        self._engine = make_sos_engine(self.engine, self.coefficients, self.nb_channel, self._dtype,
                                       chunksize, self._describe())

    def _close(self):
        if getattr(self, "_engine", None) is not None:
            self._engine.close()
            self._engine = None
