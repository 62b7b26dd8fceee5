"""The process table and pyacq's files, as a test sees them (Linux: read from ``/proc``).

A test that starts processes checks at its end that they exited and that nothing
they made remains: shared-memory segments, ipc socket directories, NodeGroup
temporary directories.
"""
import glob
import os
import re
import tempfile
import time

#: Files pyacq creates for shared memory, ipc sockets and NodeGroup temporary directories.
LEFTOVER_PATTERNS = ("/dev/shm/pyacq-*", os.path.join(tempfile.gettempdir(), "pyacq-stream-*"),
                     os.path.join(tempfile.gettempdir(), "pyacq-nodegroup-*"))


#: A variable a test run sets to a value of its own (pyacq's suite does, in its conftest):
#: every process the run starts inherits it, and keeps it once reparented, so that the
#: leftover check tells this run's files from those of a run at the same time.
TEST_RUN_VARIABLE = "PYACQ_TEST_RUN"

#: The pid in a name pyacq makes: ``pyacq-<pid>-*`` segments, ``pyacq-stream-<pid>-*`` ipc
#: directories. A NodeGroup directory (``pyacq-nodegroup-*``) names no pid.
_PID_IN_NAME = re.compile(r"pyacq-(?:stream-)?(\d+)-")


def wait_until(condition, timeout=30.0, interval=0.01):
    """Wait for a condition, polling it.

    Parameters
    ----------
    condition : callable
        Called without argument until it returns a true value.
    timeout : float, default 30.0
        Seconds to wait at most.
    interval : float, default 0.01
        Seconds between two calls.

    Returns
    -------
    bool
        True as soon as ``condition()`` is true; its last value after ``timeout``.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


def pid_alive(pid):
    """True if *pid* is a live process (a zombie counts as dead).

    Parameters
    ----------
    pid : int
        The process id.
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def descendants(pid):
    """Pids of every live process descending from *pid* (read from the process table).

    Parameters
    ----------
    pid : int
        The process whose children, grandchildren... are returned (not itself).
    """
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


def leftovers():
    """Paths of pyacq's shared-memory segments, ipc directories and NodeGroup temporary
    directories that exist now, whoever made them."""
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

    Parameters
    ----------
    before : set of str
        What :func:`leftovers` returned when the test began.
    """
    new = leftovers() - before
    if not new:
        return new
    this_run = {os.getpid(), *descendants(os.getpid())}
    return {path for path in new if not _made_by_another_run(path, this_run)}


def assert_no_leftovers_since(before, timeout=30.0):
    """Within *timeout* seconds, the test has no leftovers since *before* (``leftovers_since``).

    Parameters
    ----------
    before : set of str
        What :func:`leftovers` returned when the test began.
    timeout : float, default 30.0
        Seconds the files get to disappear (a process that is exiting removes its own).

    Raises
    ------
    AssertionError
        Files remain; the message lists them.
    """
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
    return {pid for pid, environ in environments() if in_tmpdir in environ}


def _of_another_run(pid, this_run):
    """True if *pid* runs, outside this test run's processes (a dead one may be ours)."""
    if pid in this_run or not pid_alive(pid):
        return False
    try:
        environ = environment(pid)
    except PermissionError:
        return True  # another user's process
    except OSError:
        return False  # exited meanwhile
    return f"{TEST_RUN_VARIABLE}={os.environ.get(TEST_RUN_VARIABLE)}".encode() not in environ


def environment(pid):
    """The ``NAME=value`` entries (bytes) of the environment process *pid* started with."""
    with open(f"/proc/{pid}/environ", "rb") as f:
        return f.read().split(b"\0")


def environments():
    """``(pid, environment entries)`` of every process whose environment this user may read."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                yield int(entry), environment(entry)
            except OSError:
                continue
