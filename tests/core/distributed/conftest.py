"""Fixtures for the distributed tests: managers, process-table and leftover-file checks."""
import os
import sys

import pytest
from process_checks import leftovers, wait_until


@pytest.fixture(scope="session", autouse=True)
def helpers_importable_in_children(importable_in_children):
    """Spawned NodeGroups import distributed_helpers by name (they inherit PYTHONPATH)."""
    importable_in_children(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def no_leftover_files():
    """Every test removes the shared memory, ipc files and NodeGroup directories it created."""
    before = leftovers()
    yield
    assert wait_until(lambda: not (leftovers() - before), 30.0), \
        f"files left behind: {sorted(leftovers() - before)}"


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


@pytest.fixture
def gated_python(tmp_path):
    """A ``GatedPython`` in a fresh directory, released at teardown in any case."""
    gate = GatedPython(tmp_path)
    yield gate
    gate.release()
