"""RPCLogHandler: terminal output for records gathered from many processes."""
import logging
import sys
import threading
import zlib

from .names import stamp_record
from .time_order import TimeOrderedBuffer

_SOURCE_COLORS = (31, 32, 33, 34, 35, 36, 91, 92, 93, 94, 95, 96)
_LEVEL_COLORS = {logging.DEBUG: 90, logging.INFO: 0, logging.WARNING: 33,
                 logging.ERROR: 31, logging.CRITICAL: 41}


def _colored(text, code):
    return f"\x1b[{code}m{text}\x1b[0m" if code else text


def _source_color(name):
    # crc32, not hash(): the colour of a process must not change between runs.
    return _SOURCE_COLORS[zlib.crc32(name.encode()) % len(_SOURCE_COLORS)]


class RPCLogHandler(logging.StreamHandler):
    """StreamHandler that writes records sorted by creation time, coloured by source.

    Records are held for a fraction of a second so that those arriving late
    from other processes are still written in creation order. On a terminal,
    host, process and thread names each get a stable colour and the level
    colours the message; written to a file or a pipe, the text stays plain
    (escape codes would only clutter it). Without a *stream*, records go to
    whatever ``sys.stderr`` is when they are written (it may have been
    replaced, and the old one closed, meanwhile).
    """

    def __init__(self, stream=None):
        super().__init__(stream or sys.stderr)
        self._follow_stderr = stream is None
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        self._buffer = TimeOrderedBuffer()
        self._wakeup = threading.Event()
        self._closed = False
        self._flusher = None

    def emit(self, record):
        """Hold *record*; a flusher thread writes it once no record of another process can precede it."""
        stamp_record(record)
        with self.lock:
            self._buffer.push(record)
            if self._flusher is None and not self._closed:
                self._flusher = threading.Thread(target=self._flush_periodically,
                                                 daemon=True, name="RPCLogHandler")
                self._flusher.start()

    def _flush_periodically(self):
        while not self._wakeup.wait(self._buffer.delay / 2):
            self._write(self._ready())
        self._write(self._all())

    def _ready(self):
        with self.lock:
            return self._buffer.pop_ready()

    def _all(self):
        with self.lock:
            return self._buffer.pop_all()

    def _write(self, records):
        if not records:
            return
        with self.lock:
            self._use_current_stderr()
            for record in records:
                try:
                    self.stream.write(self.format(record) + self.terminator)
                except Exception:  # noqa: BLE001 -- reported the logging way
                    self.handleError(record)
            self.stream.flush()

    def _use_current_stderr(self):
        if self._follow_stderr:
            self.stream = sys.stderr

    def flush_records(self):
        """Write every held record now (pyacq 2.0's name for :meth:`flush`)."""
        self.flush()

    def flush(self):
        """Write every held record now."""
        self._write(self._all())
        with self.lock:
            self._use_current_stderr()
        super().flush()

    def format(self, record):
        """The record's text prefixed by its host, process and thread names (coloured on a terminal)."""
        names = (record.hostname, record.process_name, record.thread_name)
        text = super().format(record)
        if not self._on_terminal():
            return f"[{' '.join(names)}] {text}"
        source = " ".join(_colored(name, _source_color(name)) for name in names)
        return f"[{source}] {_colored(text, _LEVEL_COLORS.get(record.levelno, 0))}"

    def _on_terminal(self):
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):  # no isatty(), or a closed stream
            return False

    def close(self):
        """Write the held records and stop the flushing thread."""
        self._closed = True
        self._wakeup.set()
        if self._flusher is not None and self._flusher is not threading.current_thread():
            self._flusher.join(5.0)
        self.flush()
        super().close()
