"""pytest fixtures for testing node packages: ``pytest_plugins = ["pyacq.testing.fixtures"]``.

A pytest plugin, hence the only pyacq module that needs pytest (the ``testing`` extra of
pyacq-core).
"""
import pytest

from pyacq.testing.managers import running_manager


@pytest.fixture
def pyacq_manager():
    """A Manager in its own process, closed at teardown, failing the test if a process
    it started or a pyacq file (shared memory, ipc socket) is left behind."""
    with running_manager() as manager:
        yield manager
