"""The filter state of second-order sections at rest, shared by every SOS engine.

The scipy engines (:mod:`pyacq.dsp.sosengines`, :mod:`pyacq.dsp.overlapengines`)
and the OpenCL ones (:mod:`pyacq.dsp.openclsos`, :mod:`pyacq.dsp.opencloverlap`)
start their filters from the same state. It lives below all of them, in this
module of its own, so that the engine choice in :mod:`pyacq.dsp.sosengines`
can import the OpenCL engines without those importing it back.
"""
import numpy as np


def steady_state_per_channel(sos, values):
    """Initial state (n_channels, n_sections, 2) of a filter at rest on the constant ``values``.

    ``sos`` is (n_sections, 6) or (n_channels, n_sections, 6).
    """
    from scipy.signal import sosfilt_zi
    values = np.asarray(values, dtype=np.float64)
    if sos.ndim == 2:
        return sosfilt_zi(sos)[None, :, :] * values[:, None, None]
    return np.stack([sosfilt_zi(channel_sos) for channel_sos in sos]) * values[:, None, None]
