"""Turning uncaught exceptions into log records, so remote crashes reach the log server."""
import logging
import sys
import threading

logger = logging.getLogger("pyacq.uncaught")


def log_exceptions():
    """Install hooks that log unhandled exceptions (main thread and other threads).

    The previous hooks still run afterwards, so local output is unchanged.
    """
    previous_hook = sys.excepthook
    previous_thread_hook = threading.excepthook

    def excepthook(exc_type, exc, tb):
        if not issubclass(exc_type, KeyboardInterrupt):
            logger.error("Unhandled exception:", exc_info=(exc_type, exc, tb))
        previous_hook(exc_type, exc, tb)

    def thread_excepthook(args):
        if args.exc_type is not SystemExit:
            logger.error("Unhandled exception in thread %s:",
                         args.thread.name if args.thread else "?",
                         exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
        previous_thread_hook(args)

    sys.excepthook = excepthook
    threading.excepthook = thread_excepthook
