"""Waiting on conditions, checking the process table and the environment, for tests that
spawn processes.

Importable from every test module: tests/conftest.py puts this folder on sys.path.
"""
import collections.abc
import contextlib
import glob
import os
import tempfile
import time

#: Files pyacq creates for shared memory, ipc sockets and NodeGroup temporary directories.
LEFTOVER_PATTERNS = ("/dev/shm/pyacq-*", os.path.join(tempfile.gettempdir(), "pyacq-stream-*"),
                     os.path.join(tempfile.gettempdir(), "pyacq-nodegroup-*"))


def wait_until(condition, timeout=30.0, interval=0.01):
    """Return True as soon as condition() is true; False after *timeout* seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def pid_alive(pid):
    """True if *pid* is a live process (a zombie counts as dead)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def descendants(pid):
    """Pids of every live process descending from *pid* (read from the process table)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


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
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as f:
                if tag in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return [pid for pid in found if pid_alive(pid)]


def assert_gone(pid, timeout=30.0):
    """Process *pid* has exited within *timeout* seconds."""
    assert wait_until(lambda: not pid_alive(pid), timeout), f"process {pid} is still alive"


def assert_all_gone(pids, timeout=30.0):
    """Every process of *pids* has exited within *timeout* seconds."""
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout), \
        f"processes still running: {sorted(p for p in pids if pid_alive(p))}"


def leftovers():
    """Shared memory segments, ipc directories and NodeGroup temporary directories of pyacq."""
    return {path for pattern in LEFTOVER_PATTERNS for path in glob.glob(pattern)}


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
