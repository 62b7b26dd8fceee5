"""SosFilter: causal IIR filtering of a multi-channel stream, chunk by chunk.

The filter state is carried from chunk to chunk, so the output equals
``scipy.signal.sosfilt`` applied to the whole recording at once, whatever
the chunk sizes.
"""
from pyacq.core.validation import check_int

from .sosengines import ScipySosEngine, opencl_lazy_exports
from .sosnode import SosNode

#: ``HAVE_PYOPENCL`` and ``sosfilter_engines``, made on first use.
__getattr__, __dir__ = opencl_lazy_exports(__name__, "sosfilter_engines", ScipySosEngine,
                                           "pyacq.dsp.openclsos:OpenCLSosEngine")


class SosFilter(SosNode):
    """Filters multi-channel signals with a cascade of second-order IIR sections.

    The output ``signals`` has the input's dtype (float32 or float64), channel
    names, sample rate and indexes; the state is reset at every start() and
    when the input stream restarts. The OpenCL engine keeps the state on the
    device and makes one upload, one launch and one download per chunk.
    """

    def _configure(self, coefficients=None, engine="scipy", chunksize=None):
        """Choose the filter and the engine that runs it.

        Parameters
        ----------
        coefficients : array_like, required
            The second-order sections, shape (nb_section, 6), each row
            ``b0, b1, b2, a0, a1, a2`` with ``a0 = 1``, as
            ``scipy.signal.iirfilter(..., output='sos')`` or
            ``scipy.signal.butter(..., output='sos')`` make them (cut-off
            frequencies relative to the input's sample rate). With the OpenCL
            engine it may also be (nb_channel, nb_section, 6): one filter per
            channel. Finite values only; leaving it out is refused.
        engine : {'scipy', 'opencl'}, default 'scipy'
            'scipy': ``scipy.signal.sosfilt`` on the CPU, in float64.
            'opencl' (also 'opencl2', 'opencl3'): the state stays on an
            OpenCL device, for many channels; it needs pyopencl
            (``pip install 'pyacq-dsp[opencl]'``) and a device, checked here.
        chunksize : int, optional
            Samples the OpenCL engine's device buffers hold, allocated at
            initialize(); a longer chunk is filtered in several passes. By
            default they are sized by the first chunk and grown as needed.
            The scipy engine filters any chunk in one call and ignores it.
        """
        self._set_coefficients(coefficients, engine)
        chunksize = check_int(self, "chunksize", chunksize, minimum=1, none_allowed=True)
        self.engine, self.chunksize = engine, chunksize

    def _initialize(self):
        self._make_engine(self.chunksize)

    def _reset_processing(self):
        self._engine.reset()

    def _process_signals(self, index, data, lost):
        if lost is None:
            self._engine.reset()
        self.output.send(self._engine.filter(data), index=index)
