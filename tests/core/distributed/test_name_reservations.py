"""NameReservations: the one way a Manager and a Host spawn a NodeGroup under a reserved name."""
import threading

import pytest
from pyacq.core.distributed._name_reservations import NameReservations


class Owner:
    """Records and a closed flag, as a Manager or a Host keeps them."""

    def __init__(self):
        self.lock = threading.RLock()
        self.closed = False
        self.records = {}
        self.ended = []
        self.names = NameReservations("Host 'lab'", self.lock, lambda: self.closed)

    def record(self, started):
        assert self.lock._is_owned(), "records are changed with the owner's lock held"
        assert "g" not in self.names, "the name is released before the group is recorded"
        self.records["g"] = started

    def end(self, started):
        assert not self.lock._is_owned(), "ending a process must not hold the owner's lock"
        self.ended.append(started)


def start_without_lock(owner, started):
    def start():
        assert not owner.lock._is_owned(), "the spawn runs without the owner's lock"
        assert "g" in owner.names, "the name stays reserved while the process starts"
        return started
    return start


def test_a_started_group_is_recorded_and_its_name_released():
    """spawn() runs the start without the lock, records its result under the lock, returns it
    and releases the name."""
    owner = Owner()
    owner.names.reserve("g")
    assert owner.names.spawn("g", start_without_lock(owner, "proc"), owner.record, owner.end) == "proc"
    assert owner.records == {"g": "proc"} and owner.ended == []
    assert "g" not in owner.names


def test_a_failed_start_releases_the_name_and_records_nothing():
    """The start's exception reaches the caller; the name is free again and nothing is recorded."""
    owner = Owner()
    owner.names.reserve("g")

    def start():
        raise OSError("no such interpreter")

    with pytest.raises(OSError, match="no such interpreter"):
        owner.names.spawn("g", start, owner.record, owner.end)
    assert "g" not in owner.names and owner.records == {} and owner.ended == []


def test_a_group_started_after_its_owner_closed_is_ended():
    """An owner that closed during the spawn does not record the group: it is ended, without the
    lock, and RuntimeError names the owner and the group."""
    owner = Owner()
    owner.names.reserve("g")

    def start():
        owner.closed = True
        return "proc"

    with pytest.raises(RuntimeError, match=r"^Host 'lab' closed while NodeGroup 'g' was starting; "
                                           r"its process was ended$"):
        owner.names.spawn("g", start, owner.record, owner.end)
    assert owner.ended == ["proc"] and owner.records == {} and "g" not in owner.names
