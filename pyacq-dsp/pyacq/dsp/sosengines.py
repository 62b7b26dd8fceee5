"""Engines that run cascaded second-order sections (SOS) over (time, channel) chunks.

An engine filters chunk after chunk, carrying the filter state from one to
the next until ``reset()``. (OverlapFiltfilt has engines of its own,
:mod:`pyacq.dsp.overlapengines`, which keep the samples of its windows
too.) Engines:

* ``'scipy'``: ``scipy.signal.sosfilt`` (float64 arithmetic), coefficients
  (n_sections, 6) shared by every channel;
* ``'opencl'``: :mod:`pyacq.dsp.openclsos` (needs pyopencl and an OpenCL
  device), which also accepts (n_channels, n_sections, 6). ``'opencl2'`` and
  ``'opencl3'``, the names of pyacq 2.0's OpenCL kernel variants, are accepted
  for it: one kernel (one work item per channel, the sections in registers)
  serves every case they covered.

Sections are rows ``[b0, b1, b2, a0, a1, a2]`` with ``a0 == 1``, as made by
``scipy.signal.iirfilter(..., output='sos')``; both engines use the
transposed direct form II of ``scipy.signal.sosfilt``.
"""
import importlib

import numpy as np
from pyacq.core._lazy_exports import lazy_exports

from .filterengines import SosEngine

ENGINES = ("scipy", "opencl")

#: Other names accepted for an engine: pyacq 2.0's OpenCL variants.
ENGINE_VARIANTS = {"opencl2": "opencl", "opencl3": "opencl"}


def canonical_engine(engine, describe):
    """The engine (``'scipy'`` or ``'opencl'``) that the name *engine* stands for."""
    name = ENGINE_VARIANTS.get(engine, engine)
    if name not in ENGINES:
        raise ValueError(f"{describe}: unknown engine {engine!r}; choose one of "
                         f"{ENGINES + tuple(ENGINE_VARIANTS)}")
    return name


def engine_registry(scipy_engine, opencl_engine):
    """``{name: engine class}`` for every accepted engine name (variants included)."""
    classes = {"scipy": scipy_engine, "opencl": opencl_engine}
    return {name: classes[ENGINE_VARIANTS.get(name, name)]
            for name in ENGINES + tuple(ENGINE_VARIANTS)}


def opencl_lazy_exports(module_name, registry_name, scipy_engine, opencl_engine):
    """The module ``__getattr__`` and ``__dir__`` (PEP 562) of a filter module whose pyacq 2.0
    names ``HAVE_PYOPENCL`` (pyopencl imports) and *registry_name* (see
    :func:`engine_registry`) are made on first use: both import pyopencl, which importing
    the module must not. *opencl_engine* is ``'module:Class'`` of the OpenCL engine."""
    def make_registry():
        module, class_name = opencl_engine.split(":")
        return engine_registry(scipy_engine, getattr(importlib.import_module(module), class_name))
    return lazy_exports(module_name, {"HAVE_PYOPENCL": "pyacq.dsp.openclsos",
                                      registry_name: make_registry})


def check_coefficients(coefficients, describe, per_channel_allowed):
    """Return the coefficients as a float64 array, or raise naming what is wrong."""
    if coefficients is None:
        raise TypeError(f"{describe}: configure() needs coefficients, an (n_sections, 6) array "
                        "of second-order sections, e.g. scipy.signal.iirfilter(..., output='sos')")
    sos = np.array(coefficients, dtype=np.float64)
    shapes = "(n_sections, 6) or (n_channels, n_sections, 6)" if per_channel_allowed else "(n_sections, 6)"
    if sos.ndim not in ((2, 3) if per_channel_allowed else (2,)) or sos.shape[-1] != 6 \
            or sos.shape[-2] < 1:
        extra = "" if per_channel_allowed or sos.ndim != 3 else \
            "; per-channel coefficients need engine='opencl'"
        raise ValueError(f"{describe}: coefficients must have shape {shapes}, got {sos.shape}{extra}")
    if not np.isfinite(sos).all():
        raise ValueError(f"{describe}: coefficients contain NaN or infinite values")
    if not (sos[..., 3] == 1).all():
        raise ValueError(f"{describe}: every section must be normalised with a0 = 1 "
                         "(column 3 of the coefficients)")
    return sos


class ScipySosEngine:
    """``scipy.signal.sosfilt`` along the time axis of (time, channel) chunks, in float64.

    The state is carried from chunk to chunk; the output has the input's
    dtype (channel-major in memory: sosfilt works on a channel-major copy).
    """

    name = "scipy"

    def __init__(self, coefficients, nb_channel, dtype):
        from scipy.signal import sosfilt
        self._sosfilt = sosfilt
        self.sos = coefficients
        self.nb_channel = nb_channel
        self.dtype = np.dtype(dtype)
        self.reset()

    def reset(self):
        """The next chunk starts a signal: the filter starts at rest on zero."""
        self._state = np.zeros((len(self.sos), 2, self.nb_channel))

    def filter(self, chunk):
        """Filter ``chunk`` (time, channel), which follows the previous one."""
        out, self._state = self._sosfilt(self.sos, chunk, axis=0, zi=self._state)
        return out.astype(self.dtype, copy=False)

    def close(self):
        """Nothing to release: the state is a numpy array."""


def require_shared_coefficients(coefficients, describe):
    """Refuse per-channel coefficients (n_channels, n_sections, 6): only OpenCL runs them."""
    if coefficients.ndim == 3:
        raise ValueError(f"{describe}: per-channel coefficients {coefficients.shape} need "
                         "engine='opencl'")


def make_sos_engine(engine: str, coefficients: np.ndarray, nb_channel: int, dtype: np.dtype,
                    chunksize: int | None, describe: str) -> SosEngine:
    """Build the engine named ``engine`` for ``nb_channel`` channels of ``dtype`` samples."""
    if canonical_engine(engine, describe) == "scipy":
        require_shared_coefficients(coefficients, describe)
        return ScipySosEngine(coefficients, nb_channel, dtype)
    from .openclsos import OpenCLSosEngine
    return OpenCLSosEngine(coefficients, nb_channel, dtype, chunksize)


def check_engine_available(engine, describe):
    """Return the engine *engine* names (see :func:`canonical_engine`); raise at configure()
    time when it cannot run here, naming what to install."""
    name = canonical_engine(engine, describe)
    if name == "opencl":
        from .openclsos import require_opencl
        require_opencl(describe)
    return name
