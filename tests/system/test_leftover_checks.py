"""The leftover-file check counts what a test's own processes leave, and nothing that another
test run (or an earlier, crashed one) leaves at the same time."""
import os
import signal
import subprocess
import tempfile

import pytest
from process_checks import TEST_RUN_VARIABLE, assert_gone, descendants, leftovers, leftovers_since


@pytest.fixture
def make_entry():
    """``make_entry(path)``: create the file *path*; ``make_entry()``: create a NodeGroup
    directory, as a Host does. Returns the path; every entry made is removed at teardown."""
    made = []

    def make(path=None):
        if path is None:
            path = tempfile.mkdtemp(prefix="pyacq-nodegroup-")
        else:
            open(path, "x").close()
        made.append(path)
        return path

    yield make
    for path in made:
        if os.path.isdir(path):
            os.rmdir(path)
        else:
            os.unlink(path)


@pytest.fixture
def orphan():
    """``orphan(tagged, tmpdir=None)``: the pid of a live process that is not a descendant of
    this one (its parent exited), carrying this run's tag or not, with TMPDIR=*tmpdir* if
    given; killed at teardown."""
    pids = []

    def start(tagged, tmpdir=None):
        env = {k: v for k, v in os.environ.items() if k != TEST_RUN_VARIABLE or tagged}
        if tmpdir is not None:
            env["TMPDIR"] = tmpdir
        shell = subprocess.Popen(["sh", "-c", "sleep 120 > /dev/null & echo $!"], env=env,
                                 stdout=subprocess.PIPE, text=True)
        pid = int(shell.stdout.readline())
        shell.communicate(timeout=10)
        pids.append(pid)
        assert pid not in descendants(os.getpid())
        return pid

    yield start
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
        assert_gone(pid)


def shm(pid):
    return f"/dev/shm/pyacq-{pid}-leftovercheck"


def test_entries_present_before_are_not_the_tests():
    """An entry listed before the test began is not among its leftovers, whoever made it."""
    before = leftovers() | {shm(os.getpid())}
    assert shm(os.getpid()) not in leftovers_since(before)


def test_entries_of_this_run_count(make_entry, orphan):
    """New entries made by this process, by a process of this run that has exited, or by a
    live orphan carrying this run's tag are the test's leftovers; so is a NodeGroup directory
    no live process runs in."""
    before = leftovers()
    own = make_entry(shm(os.getpid()))
    exited = subprocess.Popen(["true"])
    exited.wait(10)
    of_exited = make_entry(shm(exited.pid))
    of_tagged_orphan = make_entry(shm(orphan(tagged=True)))
    empty_dir = make_entry()
    assert {own, of_exited, of_tagged_orphan, empty_dir} <= leftovers_since(before)


def test_entries_of_another_run_do_not_count(make_entry, orphan):
    """New entries made by a live process outside this run (not a descendant, not tagged), by
    name or as the TMPDIR it runs in, are not the test's leftovers."""
    before = leftovers()
    of_other_run = make_entry(shm(orphan(tagged=False)))
    other_dir = make_entry()
    orphan(tagged=False, tmpdir=other_dir)
    left = leftovers_since(before)
    assert of_other_run not in left and other_dir not in left
