"""ChunkResizer: re-cut a stream into chunks of a fixed number of samples."""
import logging

import numpy as np

from pyacq.core.validation import check_int

from .streamrelay import StreamRelay

logger = logging.getLogger(__name__)


class ChunkResizer(StreamRelay):
    """Re-emits input ``'in'`` on output ``'out'`` in chunks of exactly ``chunksize`` samples.

    Only full chunks are sent, so the output's shape has a fixed time axis
    (``chunksize``), as pyacq 2.0 did: the samples past the last full chunk are held
    and go out at the front of the next one. Indexes keep their meaning (each output
    chunk ends at the absolute index of its last sample + 1).

    Held samples cannot join samples that do not follow them: at a gap in the input,
    an input restart or a stop (the next start restarts the indexes), they are
    discarded. Nothing goes silently: :attr:`discarded_samples` counts them, each
    discard is logged (a gap at warning level; the remainder of a stop, which is
    routine, at info level) and the readers see them inside the stream's index gap.
    """

    _output_specs = {"out": {}}

    def _configure(self, chunksize=100):
        """Choose the length of the chunks sent on output ``'out'``.

        Parameters
        ----------
        chunksize : int, default 100
            Samples per output chunk, an integer >= 1 (a bool is refused). It is
            also the time axis of the output's ``shape``. A smaller value lowers
            the latency downstream, a larger one the per-chunk cost; at most
            ``chunksize - 1`` samples wait for the next input chunk.
        """
        self.chunksize = check_int(self, "chunksize", chunksize, minimum=1)
        #: Samples held for an incomplete chunk and discarded since configure() (see above).
        self.discarded_samples = 0
        self._pending = None
        self._pending_end = None

    def update_output_spec(self, output):
        """Copy the input's description, with ``chunksize`` as the length of the time axis."""
        super().update_output_spec(output)
        shape = output.spec.get("shape")
        if shape is not None:
            output.spec["shape"] = [self.chunksize] + list(shape[1:])

    def process_chunk(self, index, data):
        """Send every full chunk the held samples and ``data`` make up, and hold the rest.

        Held samples that ``data`` does not continue (a gap in the input) are
        discarded first, counted and logged.
        """
        start = index - data.shape[0]
        if self._pending_end is not None and start != self._pending_end:
            self._discard(f"a gap in the input (next sample {start})", logging.WARNING)
        pending = data if self._pending is None else np.concatenate([self._pending, data])
        size = self.chunksize
        count = pending.shape[0]
        first_index = index - count
        full = count - count % size
        for stop in range(size, full + 1, size):
            self.output.send(pending[stop - size:stop], index=first_index + stop)
        self._pending = pending[full:] if full < count else None
        self._pending_end = index if self._pending is not None else None

    def flush(self, cause):
        """Discard the samples held for an incomplete chunk, counted and logged."""
        if cause == "stop":
            self._discard("stop", logging.INFO)
        else:
            self._discard("a restart of the input", logging.WARNING)

    def _discard(self, reason, level):
        if self._pending is None:
            return
        count = self._pending.shape[0]
        self.discarded_samples += count
        logger.log(level, "%s: %d samples up to index %d, fewer than a chunk of %d, discarded "
                   "at %s (%d discarded in all)", self._describe(), count, self._pending_end,
                   self.chunksize, reason, self.discarded_samples)
        self._pending = None
        self._pending_end = None
