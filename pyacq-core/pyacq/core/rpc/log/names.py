"""Names of this host, process and threads, stamped on every log record.

Records from many processes meet in one log server; these names tell where
each came from (RPCLogHandler colours by them).
"""
import os
import socket
import threading

_names: dict[str, str | None] = {"host": None, "process": None}
_thread_names: dict[int, str] = {}


def set_host_name(name):
    """Set the name of this host used for logging."""
    _names["host"] = name


def get_host_name():
    """Return the name of this host used for logging (default: the hostname)."""
    return _names["host"] or socket.gethostname()


def set_process_name(name):
    """Set the name of this process used for logging."""
    _names["process"] = name


def get_process_name():
    """Return the name of this process used for logging (default: ``process-<pid>``)."""
    return _names["process"] or f"process-{os.getpid()}"


def set_thread_name(name, tid=None):
    """Set the name of a thread used for logging (default: the current thread)."""
    _thread_names[threading.get_ident() if tid is None else tid] = name


def get_thread_name(tid=None):
    """Return the logging name of a thread (default: the current thread).

    Falls back to the name of the Python thread object, then to ``thread-<id>``.
    """
    tid = threading.get_ident() if tid is None else tid
    name = _thread_names.get(tid)
    if name is not None:
        return name
    for thread in threading.enumerate():
        if thread.ident == tid:
            return thread.name
    return f"thread-{tid}"


def stamp_record(record):
    """Add ``hostname``, ``process_name`` and ``thread_name`` to *record* if missing."""
    if not hasattr(record, "hostname"):
        record.hostname = get_host_name()
    if not hasattr(record, "process_name"):
        record.process_name = get_process_name()
    if not hasattr(record, "thread_name"):
        record.thread_name = _thread_names.get(record.thread) or record.threadName
    return record
