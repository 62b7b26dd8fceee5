"""The Manager's heartbeat to its NodeGroups, which tells whether each one still answers.

A NodeGroup process that is stopped (SIGSTOP, a debugger), swapped out or stuck in a
long call does not die, so no Host reports it; its streams just stop. The Manager's
watcher pings every NodeGroup each round; a NodeGroup that leaves a ping unanswered for
``UNRESPONSIVE_AFTER`` seconds is reported unresponsive (one warning naming it), and
responsive again (one line saying after how long) once it answers. A NodeGroup serves
one request at a time, so one legitimately long call (seconds) reads as unresponsive
too, which the warning says. A ping costs the NodeGroup one tiny request per round.
"""
import logging
import time

from pyacq.core.rpc.client import RPCClient
from pyacq.core.rpc.future import Future

logger = logging.getLogger(__name__)

#: Seconds a NodeGroup may leave its heartbeat unanswered before it is reported unresponsive.
UNRESPONSIVE_AFTER = 2.0


class Heartbeat:
    """The heartbeat of NodeGroup *name*, served at *address*; ``beat()`` from one thread only
    (the RPC client it uses belongs to that thread)."""

    def __init__(self, name: str, address: str) -> None:
        self.name = name
        self.address = address
        #: False while the NodeGroup leaves its heartbeat unanswered (see the module docstring).
        self.responsive = True
        self._ping: Future | None = None
        self._sent = 0.0
        # Set once a ping failed: the NodeGroup's server closed or its process died, which
        # its Host reports; nothing answers any more.
        self._ended = False

    def beat(self) -> None:
        """Check the answer to the last ping, report a change, and ping again once answered."""
        if self._ended:
            return
        now = time.monotonic()
        if self._ping is not None:
            if not self._ping.done():
                silent = now - self._sent
                if self.responsive and silent >= UNRESPONSIVE_AFTER:
                    self.responsive = False
                    logger.warning("Manager: NodeGroup %r at %s has not answered its heartbeat for "
                                   "%.1f s: its process is stopped, or busy in one long call; "
                                   "its streams stall", self.name, self.address, silent)
                return
            if self._ping.exception() is not None:
                self._ended, self._ping = True, None
                return
            if not self.responsive:
                self.responsive = True
                logger.warning("Manager: NodeGroup %r at %s answers its heartbeat again, after %.1f s",
                               self.name, self.address, now - self._sent)
        client = RPCClient.get_client(self.address)
        if client is None:
            return
        try:
            self._ping = client.ping(sync="async")
        except Exception as exc:  # noqa: BLE001 -- a dead NodeGroup is its Host's to report
            logger.debug("Manager: no heartbeat to NodeGroup %r at %s: %s", self.name, self.address, exc)
            self._ended, self._ping = True, None
            return
        self._sent = now

    def stop(self) -> None:
        """Forget the ping in flight (the NodeGroup is gone or closed)."""
        self._ended = True
        if self._ping is not None:
            self._ping.cancel()
            self._ping = None
