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
    when the input stream restarts. The OpenCL engine keeps the state on the
    device and makes one upload, one launch and one download per chunk.
    """

    def _configure(self, coefficients=None, engine="scipy", chunksize=None):
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
