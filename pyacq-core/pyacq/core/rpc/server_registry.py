"""Which RPCServer serves the current thread.

Kept apart from the server class so that the serializer and the client can ask
"is there a server in this thread?" without importing the server module (which
imports them).
"""
import threading

_local = threading.local()


def get_server():
    """Return the server registered for the calling thread, or None."""
    return getattr(_local, "server", None)


def register_server(server):
    """Make *server* the one server of the calling thread."""
    current = getattr(_local, "server", None)
    if current is not None and current is not server:
        raise RuntimeError(
            f"thread {threading.current_thread().name!r} already runs RPCServer at {current.address}; only one server per thread")
    _local.server = server


def unregister_server(server):
    """Forget *server* for the calling thread (no-op if it is not registered)."""
    if getattr(_local, "server", None) is server:
        _local.server = None
