"""Fixtures for the RPC tests: spawned processes that are always cleaned up, CURVE keys."""
import os
import shutil
import types

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


@pytest.fixture
def keys(tmp_path):
    """A server certificate, an authorized client, an intruder whose key is not authorized:
    ``keys.<name>`` is the secret certificate file, ``keys.<name>_public`` the public key
    (Z85 bytes), ``keys.authorized`` the directory holding the client's public key."""
    from pyacq.core.rpc import curve
    authorized = tmp_path / "authorized"
    authorized.mkdir()
    found = types.SimpleNamespace(authorized=str(authorized))
    for name in ("server", "client", "intruder"):
        public, secret = curve.create_keys(str(tmp_path / name), name)
        setattr(found, name, secret)
        setattr(found, f"{name}_public", curve.load_public_key(public))
    shutil.copy(tmp_path / "client" / "client.key", authorized)
    return found


@pytest.fixture
def empty_keyring():
    """The test starts and ends with an empty keyring (the keyring is process-wide); the
    CURVE test modules use it for every test."""
    from pyacq.core.rpc import curve
    curve.forget_keys()
    yield
    curve.forget_keys()
