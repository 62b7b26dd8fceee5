"""Fixtures for the distributed tests: managers, process-table and leftover-file checks."""
import os

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
