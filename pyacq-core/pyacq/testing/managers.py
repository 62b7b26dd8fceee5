"""A Manager for the length of a test, and the check that it leaves nothing behind."""
import contextlib
import os

from pyacq.core.distributed.manager import create_manager
from pyacq.core.rpc.client import RPCClient
from pyacq.core.rpc.server import RPCServer
from pyacq.testing.processes import (
    assert_no_leftovers_since,
    descendants,
    leftovers,
    pid_alive,
    wait_until,
)


def _still_serving(proxy, timeout=5.0):
    """True if the server behind *proxy* answers a ping (False once it closed or died)."""
    if proxy._client().disconnected():
        return False
    try:
        return RPCClient.get_client(proxy._rpc_addr).ping(timeout=timeout) == "pong"
    except (RuntimeError, TimeoutError):
        return False


@contextlib.contextmanager
def running_manager(timeout=30.0, check_files=None):
    """Run a Manager in its own process; on exit close it and check what it left.

    Parameters
    ----------
    timeout : float, default 30.0
        Seconds the processes started meanwhile get to exit, and leftover files to
        disappear, once the Manager is closed.
    check_files : callable, optional
        Called with the set of :func:`~pyacq.testing.processes.leftovers` from
        before the Manager started, to check the files once it closed. Default:
        :func:`~pyacq.testing.processes.assert_no_leftovers_since`, which fails if a
        file this process or one it started made meanwhile remains after *timeout*
        (files of test runs going on at the same time are told apart).

    Yields
    ------
    ObjectProxy
        The Manager (as ``pyacq.create_manager()`` returns it). The test may close it
        itself.

    Raises
    ------
    AssertionError
        At exit, a process started while the Manager ran is still alive, or a file
        is left; the message lists them.
    """
    had_server = RPCServer.get_server() is not None
    files_before = leftovers()
    processes_before = descendants(os.getpid())
    manager = create_manager(auto_close_at_exit=False)
    try:
        yield manager
    finally:
        started = descendants(os.getpid()) - processes_before
        if _still_serving(manager):
            manager.close()
        if not had_server and RPCServer.get_server() is not None:
            # create_manager() gave this thread an RPC server to lend local streams; the
            # code after the test expects a thread without one.
            RPCServer.get_server().close()
        assert wait_until(lambda: not any(pid_alive(p) for p in started), timeout), \
            f"processes still running: {sorted(p for p in started if pid_alive(p))}"
        if check_files is None:
            assert_no_leftovers_since(files_before, timeout)
        else:
            check_files(files_before)
