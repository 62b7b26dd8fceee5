"""ChunkResizer: re-cut a stream into chunks of a fixed number of samples."""
import numpy as np

from .streamrelay import StreamRelay


class ChunkResizer(StreamRelay):
    """Re-emits input ``'in'`` on output ``'out'`` in chunks of ``chunksize`` samples.

    Indexes keep their meaning (each output chunk ends at the absolute index
    of its last sample + 1). Samples are never held across a gap in the input
    or an input restart, nor after stop(): what is pending is sent as a
    shorter chunk first, so the output's shape has a variable time axis.
    """

    _output_specs = {"out": {}}

    def _configure(self, chunksize=None):
        if isinstance(chunksize, bool) or not isinstance(chunksize, (int, np.integer)) or chunksize <= 0:
            raise ValueError(
                f"{self._describe()}: chunksize must be a positive int, got {chunksize!r}"
            )
        self.chunksize = int(chunksize)
        self._pending = None
        self._pending_end = None

    def update_output_spec(self, output):
        super().update_output_spec(output)
        shape = output.spec.get("shape")
        if shape is not None:
            output.spec["shape"] = [-1] + list(shape[1:])

    def process_chunk(self, index, data):
        start = index - data.shape[0]
        if self._pending_end is not None and start != self._pending_end:
            self.flush()
        pending = data if self._pending is None else np.concatenate([self._pending, data])
        size = self.chunksize
        count = pending.shape[0]
        first_index = index - count
        full = count - count % size
        for stop in range(size, full + 1, size):
            self.output.send(pending[stop - size:stop], index=first_index + stop)
        self._pending = pending[full:] if full < count else None
        self._pending_end = index if self._pending is not None else None

    def flush(self):
        if self._pending is not None:
            self.output.send(self._pending, index=self._pending_end)
        self._pending = None
        self._pending_end = None
