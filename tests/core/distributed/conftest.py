"""Fixtures for the distributed tests: managers, process-table and leftover-file checks."""
import os
import sys

import pytest
from process_checks import leftovers, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)


@pytest.fixture(scope="session", autouse=True)
def helpers_importable_in_children():
    """Spawned NodeGroups import distributed_helpers by name (they inherit PYTHONPATH)."""
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, old) if p)
    yield
    if old is None:
        del os.environ["PYTHONPATH"]
    else:
        os.environ["PYTHONPATH"] = old


@pytest.fixture(autouse=True)
def no_leftover_files():
    """Every test removes the shared memory, ipc files and NodeGroup directories it created."""
    before = leftovers()
    yield
    assert wait_until(lambda: not (leftovers() - before), 30.0), \
        f"files left behind: {sorted(leftovers() - before)}"


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
