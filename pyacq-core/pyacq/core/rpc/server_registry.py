"""Which RPCServer serves the current thread.

Kept apart from the server class so that the serializer and the client can ask
"is there a server in this thread?" without importing the server module (which
imports them).
"""
import threading


class _ThreadServer(threading.local):
    # A class attribute: a thread without a server reads None without the AttributeError
    # that getattr(local, name, None) raises and catches (a cost on every RPC wait).
    server = None


_local = _ThreadServer()


def get_server():
    """Return the server registered for the calling thread, or None."""
    return _local.server


def register_server(server):
    """Make *server* the one server of the calling thread."""
    current = _local.server
    if current is not None and current is not server:
        raise RuntimeError(
            f"thread {threading.current_thread().name!r} already runs RPCServer at {current.address}; only one server per thread")
    _local.server = server


def unregister_server(server):
    """Forget *server* for the calling thread (no-op if it is not registered)."""
    if _local.server is server:
        _local.server = None
