"""Exceptions of the recorders: a recording that cannot be created or written says why."""


class RecordingExistsError(FileExistsError):
    """The recording directory already exists: a recorder never writes over a recording."""


class RecordingWriteError(OSError):
    """Writing to disk failed (full disk, permission denied, file too large...).

    The recorder stopped itself; everything written before the failure is on
    disk and readable, the chunk being written when it failed is lost.
    """
