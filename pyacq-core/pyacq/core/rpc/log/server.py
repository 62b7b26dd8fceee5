"""LogServer: receives log records from other processes and hands them to a logger."""
import json
import logging
import threading
import time

import zmq

from ..context import get_context
from .time_order import TimeOrderedBuffer

_log = logging.getLogger(__name__)


class LogServer(threading.Thread):
    """Thread receiving log records from LogSenders and passing them to *logger*.

    Each received record is rebuilt as a LogRecord (keeping its origin: host,
    process and thread names, creation time) and handled by *logger*, as if it
    had been logged locally. With *sort*, records are held for a fraction of a
    second and passed on in creation order, so that the output of several
    processes interleaves correctly.
    """

    def __init__(self, logger, address="tcp://127.0.0.1:*", sort=True):
        super().__init__(daemon=True, name="LogServer")
        self.logger = logger
        self._socket = get_context().socket(zmq.PULL)
        self._socket.setsockopt(zmq.LINGER, 0)
        self._socket.bind(address)
        #: The address LogSenders connect to.
        self.address = self._socket.getsockopt(zmq.LAST_ENDPOINT).decode()
        self._buffer = TimeOrderedBuffer() if sort else None
        self._stop_event = threading.Event()

    def run(self):
        """Receive records until stopped and hand them to local logging (in time order if sorted)."""
        sock = self._socket
        try:
            while not self._stop_event.is_set():
                wait_ms = 20 if self._buffer else 200
                if sock.poll(wait_ms, zmq.POLLIN):
                    while sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                        self._receive(sock.recv(zmq.NOBLOCK))
                if self._buffer is not None:
                    self._handle_all(self._buffer.pop_ready())
            while sock.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                self._receive(sock.recv(zmq.NOBLOCK))
            if self._buffer is not None:
                self._handle_all(self._buffer.pop_all())
        finally:
            sock.close()

    def _receive(self, msg):
        try:
            data = json.loads(msg)
            if not isinstance(data, dict):
                raise TypeError("a log record must be a json object")
            record = _checked_record(logging.makeLogRecord(data))
        except Exception as exc:  # noqa: BLE001 -- whatever a sender put in it
            _log.warning("LogServer dropped a malformed record: %s", exc)
            return
        if self._buffer is None:
            self.logger.handle(record)
        else:
            self._buffer.push(record)

    def _handle_all(self, records):
        for record in records:
            self.logger.handle(record)

    def stop(self, timeout=5.0):
        """Stop receiving, hand over the records still held, and wait for the thread."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)


def _checked_record(record):
    """Make a received record safe to sort and format, whatever the sender put in it."""
    record.args = None
    record.msg = str(record.msg)
    if not isinstance(record.created, (int, float)) or isinstance(record.created, bool):
        record.created = time.time()
    if not isinstance(record.levelno, int):
        record.levelno = logging.INFO
    record.levelname = str(record.levelname)
    if record.exc_text is not None:
        record.exc_text = str(record.exc_text)
    record.exc_info = None
    return record
