"""Reordering of log records by creation time.

Records from several processes arrive at the log server with different
delays; holding each one for a short while lets earlier-created records
that arrive a little later still be written first.
"""
import heapq
import itertools
import time


class TimeOrderedBuffer:
    """Holds records for *delay* seconds after arrival, releasing them by creation time."""

    def __init__(self, delay=0.1):
        self.delay = delay
        self._heap = []
        self._count = itertools.count()

    def __len__(self):
        return len(self._heap)

    def push(self, record):
        """Add a record (anything with a ``created`` timestamp)."""
        heapq.heappush(self._heap, (record.created, next(self._count), time.monotonic(), record))

    def pop_ready(self):
        """Return, oldest first, the records that have waited long enough."""
        ready = []
        limit = time.monotonic() - self.delay
        while self._heap and self._heap[0][2] <= limit:
            ready.append(heapq.heappop(self._heap)[3])
        return ready

    def pop_all(self):
        """Return every held record, oldest first."""
        ready = [entry[3] for entry in sorted(self._heap)]
        self._heap.clear()
        return ready
