"""Waiting on conditions, checking the process table and the environment, for tests that
spawn processes.

Importable from every test module: tests/conftest.py puts this folder on sys.path.
"""
import collections.abc
import contextlib
import glob
import os
import re
import tempfile
import time

#: Files pyacq creates for shared memory, ipc sockets and NodeGroup temporary directories.
LEFTOVER_PATTERNS = ("/dev/shm/pyacq-*", os.path.join(tempfile.gettempdir(), "pyacq-stream-*"),
                     os.path.join(tempfile.gettempdir(), "pyacq-nodegroup-*"))

#: Variable tests/conftest.py sets to a value of its own in each test process: every process
#: a test starts inherits it, and keeps it when its parent dies and it is reparented.
TEST_RUN_VARIABLE = "PYACQ_TEST_RUN"

#: The pid in a name pyacq makes: ``pyacq-<pid>-*`` segments, ``pyacq-stream-<pid>-*`` ipc
#: directories. A NodeGroup directory (``pyacq-nodegroup-*``) names no pid.
_PID_IN_NAME = re.compile(r"pyacq-(?:stream-)?(\d+)-")


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
    return [pid for pid, environ in _environments() if tag in environ and pid_alive(pid)]


def assert_gone(pid, timeout=30.0):
    """Process *pid* has exited within *timeout* seconds."""
    assert wait_until(lambda: not pid_alive(pid), timeout), f"process {pid} is still alive"


def assert_all_gone(pids, timeout=30.0):
    """Every process of *pids* has exited within *timeout* seconds."""
    assert wait_until(lambda: not any(pid_alive(p) for p in pids), timeout), \
        f"processes still running: {sorted(p for p in pids if pid_alive(p))}"


def leftovers():
    """Shared memory segments, ipc directories and NodeGroup temporary directories of pyacq,
    whoever made them (see ``leftovers_since`` for those of one test)."""
    return {path for pattern in LEFTOVER_PATTERNS for path in glob.glob(pattern)}


def leftovers_since(before):
    """The entries of ``leftovers()`` that this test process, or a process it started, made
    since *before* (an earlier ``leftovers()``).

    An entry in *before* is not the test's: a crashed earlier run may have left it. A new
    entry is left out only where it can be told to belong to another process tree (a test
    run at the same time, another user): it is owned by another user, or every process
    that made it is alive, neither this process nor a descendant of it, and not tagged with
    this test run's ``TEST_RUN_VARIABLE``. Who made an entry is read from its name (the pid
    in ``pyacq-<pid>-*`` and ``pyacq-stream-<pid>-*``) or, for a NodeGroup directory, from
    the processes running with it as their TMPDIR. Every other new entry counts, including
    those whose maker has exited (what a killed process leaves is exactly what a test
    checks) and those whose maker cannot be told: the check stays strict for the test's own
    leaks and may wait (``assert_no_leftovers_since``) for another run's transient files.
    """
    new = leftovers() - before
    if not new:
        return new
    this_run = {os.getpid(), *descendants(os.getpid())}
    return {path for path in new if not _made_by_another_run(path, this_run)}


def assert_no_leftovers_since(before, timeout=30.0):
    """Within *timeout* seconds, the test has no leftovers since *before* (``leftovers_since``)."""
    assert wait_until(lambda: not leftovers_since(before), timeout, interval=0.05), \
        f"files left behind: {sorted(leftovers_since(before))}"


def _made_by_another_run(path, this_run):
    try:
        if os.lstat(path).st_uid != os.getuid():
            return True
    except FileNotFoundError:
        return True  # removed meanwhile: nobody's leftover
    makers = _makers(path)
    return bool(makers) and all(_of_another_run(pid, this_run) for pid in makers)


def _makers(path):
    """Pids of the processes that made *path*, as far as can be told (see ``leftovers_since``)."""
    match = _PID_IN_NAME.match(os.path.basename(path))
    if match:
        return {int(match.group(1))}
    in_tmpdir = f"TMPDIR={path}".encode()
    return {pid for pid, environ in _environments() if in_tmpdir in environ}


def _of_another_run(pid, this_run):
    """True if *pid* runs, outside this test run's processes (a dead one may be ours)."""
    if pid in this_run or not pid_alive(pid):
        return False
    try:
        environ = _environment(pid)
    except PermissionError:
        return True  # another user's process
    except OSError:
        return False  # exited meanwhile
    return f"{TEST_RUN_VARIABLE}={os.environ.get(TEST_RUN_VARIABLE)}".encode() not in environ


def _environment(pid):
    """The ``NAME=value`` entries (bytes) of the environment process *pid* started with."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        return f.read().split(b"\0")


def _environments():
    """``(pid, environment entries)`` of every process whose environment this user may read."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                yield int(entry), _environment(entry)
            except OSError:
                continue


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
