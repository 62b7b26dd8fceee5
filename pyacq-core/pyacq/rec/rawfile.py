"""RawStreamFile: one stream's samples appended to a flat binary file.

Every chunk is handed to the kernel with ``os.write`` as it arrives (no
user-space buffer), so a process killed mid-recording leaves a file holding
every completed write; a reader recovers the number of samples from the file
size (a trailing partial sample is ignored). ``fsync`` on stop makes it
durable against power loss too.
"""
import logging
import os

import numpy as np

logger = logging.getLogger(__name__)


class RawStreamFile:
    """Append-only raw file of samples of ``sample_nbytes`` bytes each (C order, native dtype)."""

    def __init__(self, path, sample_nbytes):
        self.path = path
        self.sample_nbytes = sample_nbytes
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        self._size = 0

    def write(self, data, index=None):
        """Append a chunk; a short write is continued until every byte is written or it fails.

        A chunk is written whole or not at all: when a write fails (a full disk
        accepts the first bytes of a chunk, then refuses the rest), the file is cut
        back to the end of the previous chunk, so that it holds only whole chunks,
        and the error is raised. ``index`` (the stream index after the chunk) is
        accepted for the writer interface of StreamTrack; samples are always
        appended.
        """
        view = memoryview(np.ascontiguousarray(data).reshape(-1).view(np.uint8))
        complete_size = self._size
        try:
            while view:
                written = os.write(self._fd, view)
                self._size += written
                view = view[written:]
        except OSError:
            self._cut_back(complete_size)
            raise

    def _cut_back(self, size):
        """After a failed write, truncate the file to ``size`` bytes (its last whole chunk)."""
        if self._size == size:
            return
        try:
            os.ftruncate(self._fd, size)
            self._size = size
        except OSError as exc:
            logger.error("%s: could not cut the part of a chunk written before a failed write "
                         "(%d bytes after byte %d): %s; a reader will see these bytes as samples",
                         self.path, self._size - size, size, exc.strerror or exc)

    def fill(self, n_samples):
        """Append ``n_samples`` zero samples; the file is extended without writing (sparse)."""
        self._size += n_samples * self.sample_nbytes
        os.ftruncate(self._fd, self._size)

    def flush(self):
        """Make every sample written so far durable against power loss (``fsync``)."""
        os.fsync(self._fd)

    def close(self):
        """Close the file; calling it again does nothing."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
