"""The interfaces of the engines that run pyacq.dsp's filters.

A filter node does the bookkeeping (indexes, gaps, resets, streams); an engine
only filters, so that a scipy engine and an OpenCL engine are interchangeable
and give the same samples. These protocols state what a node needs of each
kind; an engine satisfies one by having its members (no inheritance). The
engines shipped are listed in :mod:`pyacq.dsp.sosengines` and
:mod:`pyacq.dsp.overlapengines`.
"""
from typing import Protocol

import numpy as np


class SosEngine(Protocol):
    """Filters (time, channel) chunks through second-order sections, carrying the state.

    Built as ``Engine(coefficients, nb_channel, dtype, ...)``; used by SosFilter.
    """

    #: The engine's name, as given to ``configure(engine=...)``.
    name: str

    def reset(self) -> None:
        """Start again at rest: the next chunk begins a new signal."""

    def filter(self, chunk: np.ndarray) -> np.ndarray:
        """Filter ``chunk`` (time, channel), which follows the previous one; same shape and dtype."""

    def close(self) -> None:
        """Release what the engine holds (device buffers)."""


class OverlapEngine(Protocol):
    """Forward-filters samples as they come and releases them filtered backwards too.

    Built as ``Engine(coefficients, nb_channel, dtype, chunksize, overlapsize)``;
    used by OverlapFiltfilt, which decides where windows start and end.
    """

    #: The engine's name, as given to ``configure(engine=...)``.
    name: str

    def restart(self, first_sample: np.ndarray) -> None:
        """Forget the held samples; the next ones start a segment at rest on ``first_sample``."""

    def append(self, samples: np.ndarray) -> None:
        """Forward-filter ``samples`` (time, channel), which follow the previous ones, and hold them."""

    def release(self, count: int) -> np.ndarray | None:
        """Filter the held samples backwards; return the oldest ``count`` (None if 0), dropped."""

    def close(self) -> None:
        """Release what the engine holds (device buffers)."""
