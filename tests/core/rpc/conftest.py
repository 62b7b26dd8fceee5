"""Fixtures for the RPC tests: spawned processes that are always cleaned up."""
import os

import pytest
from process_checks import assert_gone


@pytest.fixture(scope="session", autouse=True)
def helpers_importable_in_children(importable_in_children):
    """Let spawned children import rpc_test_helpers (they inherit PYTHONPATH)."""
    importable_in_children(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def spawn():
    """Factory for ProcessSpawner; every process is closed and checked dead at teardown."""
    from pyacq.core.rpc import ProcessSpawner
    spawned = []

    def factory(**kwds):
        proc = ProcessSpawner(**kwds)
        spawned.append(proc)
        return proc

    yield factory
    for proc in spawned:
        proc.close()
    for proc in spawned:
        assert_gone(proc.pid)


@pytest.fixture(scope="module")
def child():
    """One spawned process shared by a module's tests."""
    from pyacq.core.rpc import ProcessSpawner
    proc = ProcessSpawner(name="shared-child")
    yield proc
    proc.close()
    assert_gone(proc.pid)


@pytest.fixture
def calc(child):
    """A Calculator living in the shared child."""
    return child.client._import("rpc_test_helpers").Calculator()


@pytest.fixture
def lazy_server():
    """An RPCServer registered (lazily) in the test thread, so local objects can be lent."""
    from pyacq.core.rpc import RPCServer
    server = RPCServer()
    server.run_lazy()
    yield server
    server.close()
    assert RPCServer.get_server() is None
