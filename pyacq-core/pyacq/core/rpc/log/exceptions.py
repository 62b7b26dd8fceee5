"""Turning uncaught exceptions into log records, so remote crashes reach the log server."""
import logging
import sys
import threading

from .stdio import LoggingStream

logger = logging.getLogger("pyacq.uncaught")


def log_exceptions():
    """Install hooks that log unhandled exceptions (main thread and other threads).

    The previous hooks still run afterwards, so local output is unchanged --
    except Python's default hooks while stderr is captured (``capture_stdio``):
    the traceback they print would come back as ``stderr`` records, the same
    error logged a second time, line by line.
    """
    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def excepthook(exc_type, exc, tb):
        if not issubclass(exc_type, KeyboardInterrupt):
            logger.error("Unhandled exception:", exc_info=(exc_type, exc, tb))
        if not _prints_to_captured_stderr(previous_hook, sys.__excepthook__):
            previous_hook(exc_type, exc, tb)

    def thread_excepthook(args):
        if args.exc_type is not SystemExit:
            logger.error("Unhandled exception in thread %s:",
                         args.thread.name if args.thread else "?",
                         exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        if not _prints_to_captured_stderr(previous_thread_hook, threading.__excepthook__):
            previous_thread_hook(args)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook


def _prints_to_captured_stderr(hook, default_hook):
    """True when *hook* is Python's default one and stderr is logged line by line."""
    return hook is default_hook and isinstance(sys.stderr, LoggingStream)
