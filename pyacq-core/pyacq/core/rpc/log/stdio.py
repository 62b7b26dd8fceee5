"""Forwarding a process's stdout and stderr as log records."""
import io
import logging
import sys
import threading

_writing = threading.local()


class LoggingStream(io.TextIOBase):
    """Text stream that logs each complete line it receives at *level*.

    Writes made while logging a line (e.g. a handler reporting its own error
    on stderr) are dropped, which breaks the loop they would otherwise start.
    """

    def __init__(self, logger, level, encoding="utf-8"):
        super().__init__()
        self._logger = logger
        self._level = level
        self._encoding = encoding
        self._partial = ""
        self._lock = threading.Lock()

    @property
    def encoding(self):
        """The encoding of the stream being replaced, for code that asks."""
        return self._encoding

    def writable(self):
        """Always True: this stream only writes."""
        return True

    def write(self, text):
        """Log every complete line of *text* (the rest waits for its newline); return len(text)."""
        if getattr(_writing, "active", False):
            return len(text)
        with self._lock:
            lines = (self._partial + text).split("\n")
            self._partial = lines.pop()
        self._log_lines(lines)
        return len(text)

    def flush(self):
        """Log the pending partial line, if any."""
        with self._lock:
            lines, self._partial = ([self._partial] if self._partial else []), ""
        self._log_lines(lines)

    def _log_lines(self, lines):
        _writing.active = True
        try:
            for line in lines:
                self._logger.log(self._level, line)
        finally:
            _writing.active = False


def capture_stdio():
    """Replace sys.stdout and sys.stderr with streams that log their lines.

    Lines go to the loggers 'stdout' (INFO) and 'stderr' (WARNING).
    """
    sys.stdout = LoggingStream(logging.getLogger("stdout"), logging.INFO)
    sys.stderr = LoggingStream(logging.getLogger("stderr"), logging.WARNING)
