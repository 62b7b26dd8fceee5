"""Waiting on conditions, checking the process table and the environment, for tests that
spawn processes (on top of ``pyacq.testing.processes``).

Importable from every test module: tests/conftest.py puts this folder on sys.path.
"""
import collections.abc
import contextlib
import os

# The process-table and leftover helpers pyacq ships for plugin tests; the test modules
# import them from here, beside the stricter checks below.
from pyacq.testing.processes import (  # noqa: F401  (re-exported)
    LEFTOVER_PATTERNS,
    TEST_RUN_VARIABLE,
    assert_no_leftovers_since,
    descendants,
    environment,
    environments,
    leftovers,
    leftovers_since,
    pid_alive,
    wait_until,
)


def pyacq_descendants(pid):
    """Descendants of *pid* running pyacq (NodeGroups, Hosts, Managers, watchdogs), leaving out
    the processes of session-wide fixtures such as a sound server."""
    found = set()
    for child in descendants(pid):
        try:
            with open(f"/proc/{child}/cmdline", "rb") as f:
                if b"pyacq" in f.read():
                    found.add(child)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def processes_tagged(variable, marker):
    """Pids of live processes whose environment has ``variable=marker``: a test tags the
    processes it starts this way, so that their children are found even after a parent exits."""
    tag = f"{variable}={marker}".encode()
    return [pid for pid, environ in environments() if tag in environ and pid_alive(pid)]


def assert_gone(pid, timeout=30.0):
    """Process *pid* has exited within *timeout* seconds."""
    assert wait_until(lambda: not pid_alive(pid), timeout), f"process {pid} is still alive"


def assert_all_gone(pids, timeout=30.0):
    """Every process of *pids* has exited within *timeout* seconds."""
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout), \
        f"processes still running: {sorted(p for p in pids if pid_alive(p))}"


class _ReadOnlyEnviron(collections.abc.Mapping):
    """A copy of ``os.environ`` that raises TypeError on any attempt to change it."""

    def __init__(self, environ):
        self._variables = dict(environ)

    def __getitem__(self, name):
        return self._variables[name]

    def __iter__(self):
        return iter(self._variables)

    def __len__(self):
        return len(self._variables)


@contextlib.contextmanager
def environ_read_only(monkeypatch):
    """Within the block, ``os.environ`` may be read but not changed: code that sets a variable
    there to serve one call (which a thread spawning at the same time would see) raises
    TypeError. A context of its own, since pytest writes os.environ between test phases."""
    with monkeypatch.context() as patch:
        patch.setattr(os, "environ", _ReadOnlyEnviron(os.environ))
        yield
