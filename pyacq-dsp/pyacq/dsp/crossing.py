"""Threshold crossings of a streamed signal, found exactly once, with debouncing.

The signal arrives in chunks of any size. A crossing between the last sample
of one chunk and the first of the next is found because the previous sample
is kept; a debounce decision that depends on samples not yet received is
kept pending until they arrive. Everything per chunk is vectorised.

Definitions (``x`` the watched signal, ``t`` the threshold):

* front ``'+'``: sample ``i`` is a crossing when ``x[i-1] < t <= x[i]``;
  front ``'-'``: when ``x[i-1] > t >= x[i]``. The event position is ``i``.
* crossings closer than ``debounce`` samples to each other form a burst
  (chained: each is closer than ``debounce`` to the previous one).
  ``'no-debounce'`` keeps every crossing, ``'before-stable'`` the first of
  each burst (decided at once), ``'after-stable'`` the last of each burst
  (decided once ``debounce`` samples without crossing have followed it, or
  when the stream ends: :meth:`CrossingDetector.finish`).
"""
import math

import numpy as np

DEBOUNCE_MODES = ("no-debounce", "after-stable", "before-stable")
FRONTS = ("+", "-")

_NO_CROSSING = np.empty(0, dtype=np.int64)


class CrossingDetector:
    """Stateful detector: feed chunks with :meth:`process`, get absolute event positions."""

    def __init__(self):
        self.reset()

    def reset(self):
        """Forget the previous sample and pending decisions (a new stream starts)."""
        self._previous = None
        self._last_crossing = None
        self._pending = None

    def forget_previous_sample(self):
        """The next chunk does not follow the last one (samples were lost): no crossing
        is reported at its first sample, whose predecessor is unknown."""
        self._previous = None

    def finish(self):
        """The stream ends (the node stops): return the pending 'after-stable' crossing, if any.

        No more data can come, so the last crossing of the burst in progress is
        final: it is decided now instead of being dropped.
        """
        events, self._pending = self._flush_pending(_NO_CROSSING), None
        return events

    def process(self, values, stop, threshold, front, debounce_mode, debounce):
        """Return the int64 positions of the events decided with this chunk.

        ``values`` are the watched samples (1-D) ending at absolute index
        ``stop``; ``debounce`` is in samples. The previous chunk's last
        sample, crossings and pending decision are carried over.
        """
        start = stop - len(values)
        crossings = self._crossings(values, start, threshold, front)
        if len(values):
            self._previous = values[-1]
        events = self._debounce(crossings, stop, debounce_mode, debounce)
        if len(crossings):
            self._last_crossing = int(crossings[-1])
        return events

    def _crossings(self, values, start, threshold, front):
        if not len(values):
            return _NO_CROSSING
        level = values >= threshold if front == "+" else values <= threshold
        if self._previous is None:
            before = level[:1]
        else:
            previous = self._previous
            before = np.array([previous >= threshold if front == "+" else previous <= threshold])
        entered = ~np.concatenate([before, level[:-1]]) & level
        return np.flatnonzero(entered).astype(np.int64) + start

    def _debounce(self, crossings, stop, mode, debounce):
        if mode == "no-debounce":
            events, self._pending = self._flush_pending(crossings), None
            return events
        if mode == "before-stable":
            events, self._pending = self._flush_pending(_NO_CROSSING), None
            if not len(crossings):
                return events
            keep = np.diff(crossings) >= debounce
            first_kept = self._last_crossing is None or crossings[0] - self._last_crossing >= debounce
            return np.concatenate([events, crossings[np.concatenate([[first_kept], keep])]])
        candidates = crossings if self._pending is None else np.concatenate([[self._pending], crossings])
        if not len(candidates):
            return _NO_CROSSING
        keep = np.diff(candidates) >= debounce
        last = int(candidates[-1])
        if stop >= math.ceil(last + debounce):
            keep, self._pending = np.append(keep, True), None
        else:
            keep, self._pending = np.append(keep, False), last
        return candidates[keep]

    def _flush_pending(self, events):
        """A crossing pending when the mode left 'after-stable' is the last of its burst so far."""
        if self._pending is None:
            return events
        return np.concatenate([[self._pending], events]).astype(np.int64)
