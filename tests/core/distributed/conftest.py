"""Fixtures for the distributed tests: managers, process-table and leftover-file checks."""
import contextlib
import os
import sys
import threading

import pytest
from process_checks import assert_no_leftovers_since, leftovers, wait_until


@pytest.fixture(scope="session", autouse=True)
def helpers_importable_in_children(importable_in_children):
    """Spawned NodeGroups import distributed_helpers by name (they inherit PYTHONPATH)."""
    importable_in_children(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def no_leftover_files():
    """Every test removes the shared memory, ipc files and NodeGroup directories it created."""
    before = leftovers()
    yield
    assert_no_leftovers_since(before)


@pytest.fixture
def local_manager():
    """A Manager created here; closed at teardown, with the RPC server create_manager() gave
    this thread."""
    from pyacq.core.manager import create_manager
    from pyacq.core.rpc.server import RPCServer
    had_server = RPCServer.get_server() is not None
    man = create_manager("local", auto_close_at_exit=False)
    try:
        yield man
    finally:
        man.close()
        if not had_server and RPCServer.get_server() is not None:
            RPCServer.get_server().close()


@pytest.fixture
def log_records():
    """Records the log server of this process hands to the root logger."""
    import logging

    class Collect(logging.Handler):
        def __init__(self):
            super().__init__()
            self.records = []

        def emit(self, record):
            self.records.append(record)

    handler = Collect()
    logging.getLogger().addHandler(handler)
    yield handler.records
    logging.getLogger().removeHandler(handler)


class GatedPython:
    """An interpreter for ``executable=`` that starts Python only once the test says so.

    A spawn through it stays in progress, for as long as the test needs, at a point it
    can see (``started()``), which holds the spawn without slowing the machine down.
    The script gives up after 60 s (the spawner's own start timeout), so that a test
    that forgets to ``release()`` cannot leave it behind.
    """

    def __init__(self, directory):
        self._started = directory / "started"
        self._go = directory / "go"
        self.executable = str(directory / "gated-python")
        with open(self.executable, "w") as script:
            script.write(
                "#!/bin/sh\n"
                f": > '{self._started}'\n"
                "i=0\n"
                f"while [ ! -e '{self._go}' ] && [ $i -lt 3000 ]; do sleep 0.02; i=$((i + 1)); done\n"
                f"exec '{sys.executable}' \"$@\"\n")
        os.chmod(self.executable, 0o755)

    def started(self):
        """True once a process was started through this interpreter (and waits for the gate)."""
        return self._started.exists()

    def release(self):
        """Let every process started through this interpreter go on into Python."""
        self._go.touch()

    @contextlib.contextmanager
    def spawning(self, spawn, timeout=90.0):
        """Run ``spawn(executable)`` in a thread of its own with this interpreter as executable;
        yield its :class:`GatedSpawn` once the process waits at the gate.

        Leaving the block releases the gate and waits up to *timeout* s for the spawn to end,
        so that within the block the test sees a spawn that is in progress, however long
        its checks take.
        """
        gated = GatedSpawn(spawn, self.executable)
        try:
            assert wait_until(self.started, 30), "the gated spawn's process did not start"
            yield gated
        finally:
            self.release()
            gated.join(timeout)


class GatedSpawn:
    """A call spawning through a GatedPython, run in a thread (see ``GatedPython.spawning``)."""

    def __init__(self, spawn, executable):
        self._outcome = {}
        self._thread = threading.Thread(target=self._run, args=(spawn, executable), daemon=True)
        self._thread.start()

    def _run(self, spawn, executable):
        try:
            self._outcome["value"] = spawn(executable)
        except BaseException as exc:  # noqa: BLE001 -- raised again by result()
            self._outcome["error"] = exc

    def in_progress(self):
        """True while the spawn has not returned (nor raised)."""
        return self._thread.is_alive()

    def join(self, timeout):
        self._thread.join(timeout)

    def result(self):
        """What the spawn returned, once it ended; the exception it raised is raised again."""
        assert not self.in_progress(), "the gated spawn did not end once released"
        if "error" in self._outcome:
            raise self._outcome["error"]
        return self._outcome["value"]


@pytest.fixture
def gated_python(tmp_path):
    """A ``GatedPython`` in a fresh directory, released at teardown in any case."""
    gate = GatedPython(tmp_path)
    yield gate
    gate.release()
