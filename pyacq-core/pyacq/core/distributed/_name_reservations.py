"""Spawning a NodeGroup under a name reserved for it, the one way a Manager and a Host do it.

A spawn takes seconds (a Manager allows up to its ``SPAWN_TIMEOUT``), and the
owner's lock guards records that its watcher and every other call need
meanwhile: the lock is held only around those records, never across the spawn.
The name is therefore reserved while the process starts, so that a second
NodeGroup of the same name is refused at once, a failed spawn frees the name,
and a NodeGroup that finished starting after its owner closed is ended instead
of recorded.
"""
import threading
from collections.abc import Callable
from typing import TypeVar

Started = TypeVar("Started")


class NameReservations:
    """The names of the NodeGroups whose process an owner (a Manager or a Host) is spawning.

    Parameters
    ----------
    owner : str
        How errors name the owner, e.g. ``"Manager"`` or ``"Host 'lab'"``.
    lock : threading.RLock
        The owner's lock, which guards its records and these names alike.
    is_closed : callable
        ``is_closed()`` is true once the owner closed; called with *lock* held.
    """

    def __init__(self, owner: str, lock: threading.RLock, is_closed: Callable[[], bool]) -> None:
        self._owner = owner
        self._lock = lock
        self._is_closed = is_closed
        self._names: set[str] = set()

    def __contains__(self, name: str) -> bool:
        """Whether NodeGroup *name* is being spawned; asked with the owner's lock held."""
        return name in self._names

    def reserve(self, name: str) -> None:
        """Reserve *name*, with the owner's lock held, once the owner checked it is free."""
        self._names.add(name)

    def spawn(self, name: str, start: Callable[[], Started], record: Callable[[Started], None],
              end: Callable[[Started], None]) -> Started:
        """Start the NodeGroup reserved as *name* and record it; return what *start* returned.

        Parameters
        ----------
        name : str
            The name ``reserve()`` reserved; it is released whatever happens.
        start : callable
            ``start()`` spawns the process, without the owner's lock.
        record : callable
            ``record(started)`` adds it to the owner's records, with the lock held.
        end : callable
            ``end(started)`` ends the process when the owner closed during the spawn;
            called without the lock, then RuntimeError is raised.
        """
        try:
            started = start()
        except BaseException:
            with self._lock:
                self._names.discard(name)
            raise
        with self._lock:
            self._names.discard(name)
            if not self._is_closed():
                record(started)
                return started
        end(started)
        raise RuntimeError(f"{self._owner} closed while NodeGroup {name!r} was starting; "
                           "its process was ended")
