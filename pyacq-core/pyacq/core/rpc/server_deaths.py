"""Who can tell that the process behind an RPC server died, when a client loses its connection.

A client whose connection drops (or never comes up) while a call waits cannot tell a dead
process from a slow network: without help it waits for its timeout. *Witnesses* can tell: a
ProcessSpawner knows whether its child exited, a Manager whether one of its NodeGroup
processes died. A witness is a callable ``witness(address)`` returning a one-line
description of the death of the server that was at *address* (it names the process and its
exit code or signal), or None if it knows of no such death. The client asks them once each
time its connection is lost, so a call to a dead process fails at once with
:class:`~pyacq.core.rpc.errors.RemoteProcessDied`.
"""
import logging
import signal
import threading
from collections.abc import Callable

logger = logging.getLogger(__name__)

#: Each witness answers ``witness(address) -> description or None``.
_witnesses: list[Callable[[str], str | None]] = []
_lock = threading.Lock()
_asking = threading.local()


def add_witness(witness):
    """Let *witness* (``witness(address) -> description or None``) be asked about dead servers."""
    with _lock:
        _witnesses.append(witness)


def remove_witness(witness):
    """Stop asking *witness* (no-op if it is not registered)."""
    with _lock:
        if witness in _witnesses:
            _witnesses.remove(witness)


def ask_witnesses(address):
    """The first witness's description of the death of the server at *address*, or None.

    A witness that fails is skipped (logged at debug level). Not reentrant: the RPC calls a
    witness makes ask nobody if their own connection drops, so asking cannot recurse.
    """
    if getattr(_asking, "active", False):
        return None
    _asking.active = True
    try:
        with _lock:
            witnesses = list(_witnesses)
        for witness in witnesses:
            try:
                description = witness(address)
            except Exception as exc:  # noqa: BLE001 -- a witness that cannot answer knows nothing
                logger.debug("witness %r could not tell whether %s died: %s", witness, address, exc)
                continue
            if description:
                return description
        return None
    finally:
        _asking.active = False


def describe_exit(code):
    """``'exit code 3'``, ``'killed by signal SIGKILL (exit code -9)'``, or ``'exit code unknown'``."""
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"killed by signal {name} (exit code {code})"
    return f"exit code {code}"
