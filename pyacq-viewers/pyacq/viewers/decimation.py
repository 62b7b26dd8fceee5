"""Decimation for display: a few points per pixel column, whatever the sample rate.

:class:`DecimatedCache` summarises a :class:`~pyacq.viewers.signalhistory.SignalHistory`
in bins of ``step`` samples aligned on absolute sample indexes (bin ``k``
covers samples ``[k * step, (k + 1) * step)``). Each refresh summarises only
the bins completed since the previous one, so the cost of a frame follows
the number of new samples and of pixels, never the width of the window in
samples. The cache is rebuilt from the history only when the bin size,
window or method change, or the stream restarts.
"""
import numpy as np

DECIMATION_METHODS = ("pure_decimate", "min_max", "mean")


def summarise_bins(block, method):
    """Summarise ``block`` (nb_bin, step, nb_trace) into ``(points_per_bin, nb_bin, nb_trace)``.

    'pure_decimate' keeps each bin's first sample; 'mean' averages it (a bin
    touching a gap is a gap); 'min_max' keeps its minimum then its maximum,
    ignoring missing samples unless the whole bin is missing, so that a
    short spike is never lost between two pixels.
    """
    if method == "pure_decimate":
        return block[None, :, 0, :]
    if method == "mean":
        return block.mean(axis=1)[None]
    if method == "min_max":
        return np.stack([np.fmin.reduce(block, axis=1), np.fmax.reduce(block, axis=1)])
    raise ValueError(f"unknown decimation_method {method!r}; choose one of {DECIMATION_METHODS}")


def points_per_bin(method):
    """How many values summarise one bin with ``method``: 2 for 'min_max' (minimum, maximum), else 1."""
    return 2 if method == "min_max" else 1


class DecimatedCache:
    """The last ``nb_bin`` bins of ``step`` samples of a history, summarised by ``method``."""

    def __init__(self, history, step, nb_bin, method):
        if method not in DECIMATION_METHODS:
            raise ValueError(f"unknown decimation_method {method!r}; choose one of {DECIMATION_METHODS}")
        self.history = history
        self.step = max(1, int(step))
        self.nb_bin = max(1, int(nb_bin))
        self.method = method
        self._points = points_per_bin(method)
        self._values = np.full((self._points, self.nb_bin, history.nb_trace), np.nan, dtype=np.float32)
        self._next_bin = None
        self._restarts = None
        self.head = 0

    def update(self):
        """Summarise the bins completed since the last call; return the current head index."""
        head, restarts = self.history.head()
        end_bin = head // self.step
        if restarts != self._restarts or self._next_bin is None or self._next_bin > end_bin:
            self._values[...] = np.nan
            self._next_bin = end_bin - self.nb_bin
            self._restarts = restarts
        first_bin = max(self._next_bin, end_bin - self.nb_bin)
        if end_bin > first_bin:
            block = self.history.read(first_bin * self.step, end_bin * self.step)
            summary = summarise_bins(block.reshape(end_bin - first_bin, self.step, -1), self.method)
            slots = np.arange(first_bin, end_bin) % self.nb_bin
            self._values[:, slots] = summary
        self._next_bin = end_bin
        self.head = head
        return head

    @property
    def end_bin(self):
        """Index of the first bin not yet complete: the window is bins ``[end_bin - nb_bin, end_bin)``."""
        return self._next_bin

    def window(self):
        """``(bins, values)``: absolute bin numbers (oldest first) and their summaries,
        ``values`` shaped (nb_bin * points_per_bin, nb_trace), min before max for 'min_max'."""
        bins = np.arange(self._next_bin - self.nb_bin, self._next_bin)
        ordered = self._values[:, bins % self.nb_bin]
        values = ordered.transpose(1, 0, 2).reshape(self.nb_bin * self._points, -1)
        return bins, values

    def point_offsets(self):
        """Sample offset of each point within its bin (min at the start, max half-way)."""
        return np.arange(self._points) * (self.step / self._points)
