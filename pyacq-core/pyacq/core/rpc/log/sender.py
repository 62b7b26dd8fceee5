"""LogSender: a logging handler that forwards records to a remote LogServer."""
import json
import logging
import threading

import zmq

from .names import stamp_record

# Attributes of a LogRecord that carry its meaning; the rest (args, exc_info)
# cannot cross processes and is folded into 'msg' and 'exc_text'.
_RECORD_FIELDS = ("name", "levelno", "levelname", "pathname", "filename", "module",
                  "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
                  "threadName", "processName", "process", "hostname", "process_name",
                  "thread_name")

_sending = threading.local()


class LogSender(logging.Handler):
    """Handler for forwarding log records to a remote LogServer via ZeroMQ.

    Records are sent as json over a PUSH socket, not through RPC, so that
    forwarding a record never creates more records. The socket has a ZeroMQ
    context of its own: closing the handler (``logging.shutdown()`` does at exit)
    then waits, boundedly, until the last records are delivered. *address* is the server's
    address (None: call ``connect()`` later); *logger* the name of a logger to
    attach to ('' for the root logger; None: do not attach).
    """

    def __init__(self, address=None, logger=None):
        super().__init__()
        self._context = zmq.Context()
        self._socket = None
        self._address = None
        if address is not None:
            self.connect(address)
        if logger is not None:
            logging.getLogger(logger).addHandler(self)

    @property
    def address(self):
        """Address of the LogServer records go to (None if not connected)."""
        return self._address

    def connect(self, addr):
        """Send records to the LogServer at *addr* from now on."""
        self.acquire()
        try:
            if self._socket is not None:
                self._socket.close(linger=0)
            self._socket = self._context.socket(zmq.PUSH)
            self._socket.setsockopt(zmq.LINGER, 1000)
            self._socket.setsockopt(zmq.SNDHWM, 100000)
            self._socket.connect(addr)
            self._address = addr
        finally:
            self.release()

    def handle(self, record):
        """Forward *record*, ignoring records produced while forwarding one."""
        if getattr(_sending, "active", False):
            return False
        _sending.active = True
        try:
            return super().handle(record)
        finally:
            _sending.active = False

    def emit(self, record):
        """Send *record* to the LogServer (nothing once closed)."""
        if self._socket is None:
            return
        try:
            self._socket.send(json.dumps(record_to_dict(record)).encode(), zmq.NOBLOCK)
        except zmq.Again:
            pass
        except Exception:  # noqa: BLE001 -- reported the logging way
            self.handleError(record)

    def close(self):
        """Detach from every logger, deliver pending records (1 s at most), close."""
        self.acquire()
        try:
            if self._socket is not None:
                self._socket.close()
                self._socket = None
            if not self._context.closed:
                self._context.term()
        finally:
            self.release()
        loggers = [logging.root] + [
            lg for lg in logging.root.manager.loggerDict.values() if isinstance(lg, logging.Logger)]
        for lg in loggers:
            if self in lg.handlers:
                lg.removeHandler(self)
        super().close()


def record_to_dict(record):
    """Return the json-safe content of *record*, its message and traceback formatted."""
    stamp_record(record)
    data = {name: getattr(record, name, None) for name in _RECORD_FIELDS}
    data["msg"] = record.getMessage()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    data["exc_text"] = record.exc_text
    data["stack_info"] = record.stack_info
    return data
