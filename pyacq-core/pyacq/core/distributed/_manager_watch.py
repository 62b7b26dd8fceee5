"""Watching, from a Host, the Managers its NodeGroups belong to.

A Manager closes its NodeGroups when it closes; a Manager whose process is killed
cannot. Its NodeGroups on the Manager's own machine die with it (they descend from its
process), but those a ``pyacq host`` server spawned would keep running, streaming and
holding their devices, until that Host stops. So the Host keeps one idle connection to
the RPC server of each Manager it spawned NodeGroups for, and watches it: once that
connection drops and the Manager's port refuses connections (``_port_probe``: the
process is gone, not slow or stopped; looked at again every second while the connection
stays down), the Host is told, and closes that Manager's NodeGroups. The connection carries no message and costs the Manager nothing.

A Manager whose server the Host cannot reach (another machine, a Manager serving on
127.0.0.1) is never connected, hence never found gone: its NodeGroups stay until the
Manager or the Host closes them, as before.
"""
import logging
import threading
import time
from collections.abc import Callable

import zmq

from pyacq.core.distributed._port_probe import refuses_connections
from pyacq.core.rpc import curve
from pyacq.core.rpc.context import get_context
from pyacq.core.rpc.socket_watch import SocketWatch

logger = logging.getLogger(__name__)

#: Milliseconds the watching thread waits for a connection event before it looks for new
#: Managers to watch, or for the order to stop.
POLL_MS = 100

#: Seconds a Manager's port gets to refuse connections once the connection to it dropped.
DEATH_GRACE = 0.5

#: Seconds between two more looks at the port of a Manager whose connection stays down (a
#: process that takes longer to die than ``DEATH_GRACE`` is found gone a little later).
RECHECK_INTERVAL = 1.0


class _ManagerLink:
    """An idle DEALER connection to the RPC server of one Manager, and its monitor."""

    def __init__(self, address: str) -> None:
        self.address = address
        self.up = False
        #: When the port was last found accepting connections while the connection was down.
        self.down_since_check: float | None = None
        self._socket = get_context().socket(zmq.DEALER)
        self._socket.setsockopt(zmq.LINGER, 0)
        curve.secure_client_socket(self._socket, address)
        self.watch = SocketWatch(self._socket, zmq.EVENT_HANDSHAKE_SUCCEEDED | zmq.EVENT_DISCONNECTED)
        self._socket.connect(address)

    def dropped(self) -> bool:
        """Read the pending events; True if a connection that was up dropped."""
        dropped = False
        for event in self.watch.pending():
            if event["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.up, dropped, self.down_since_check = True, False, None
            elif event["event"] == zmq.EVENT_DISCONNECTED and self.up:
                self.up, dropped = False, True
        return dropped

    def gone(self, now: float) -> bool:
        """Read the pending events; True once the connection dropped and the port refuses
        connections (looked at when it drops, then every ``RECHECK_INTERVAL`` s while the
        connection stays down)."""
        if self.dropped():
            patience = DEATH_GRACE
        elif self.down_since_check is not None and now - self.down_since_check >= RECHECK_INTERVAL:
            patience = 0.0
        else:
            return False
        if refuses_connections(self.address, patience):
            return True
        self.down_since_check = time.monotonic()
        return False

    def close(self) -> None:
        self.watch.stop()
        self._socket.close()


class ManagerWatch:
    """Calls ``on_gone(address)`` once the Manager served at *address* (see ``watch``) is gone.

    Runs a thread of its own (named after *owner*), which also makes the calls; ``close()``
    stops it.
    """

    def __init__(self, owner: str, on_gone: Callable[[str], None]) -> None:
        self._on_gone = on_gone
        self._lock = threading.Lock()
        self._to_watch: list[str] = []
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"{owner}-manager-watch")
        self._thread.start()

    def watch(self, address: str) -> None:
        """Watch the Manager whose RPC server is at *address* (no-op if already watched)."""
        with self._lock:
            self._to_watch.append(address)

    def close(self, timeout: float = 5.0) -> None:
        """Stop watching (the connections close); waits at most *timeout* s for the thread."""
        self._stopping.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _run(self) -> None:
        links: dict[zmq.Socket, _ManagerLink] = {}
        poller = zmq.Poller()
        try:
            while not self._stopping.is_set():
                with self._lock:
                    addresses, self._to_watch = self._to_watch, []
                watched = {link.address for link in links.values()}
                for address in set(addresses) - watched:
                    link = _ManagerLink(address)
                    links[link.watch.reader] = link
                    poller.register(link.watch.reader, zmq.POLLIN)
                ready = {reader for reader, _ in poller.poll(POLL_MS)}
                now = time.monotonic()
                for reader, link in list(links.items()):
                    if (reader in ready or link.down_since_check is not None) and link.gone(now):
                        poller.unregister(reader)
                        del links[reader]
                        link.close()
                        self._report(link.address)
        finally:
            for link in links.values():
                link.close()

    def _report(self, address):
        try:
            self._on_gone(address)
        except Exception:
            logger.exception("closing the NodeGroups of the Manager at %s, which is gone, failed", address)
