"""Periodic callbacks run in an RPCServer's thread."""
import logging
import threading
import time

from .client import RPCClient

logger = logging.getLogger(__name__)


class RPCTimer:
    """Calls *callback* every *interval* seconds (start to start) through RPC.

    The timer thread only sends requests; the callback runs wherever its proxy
    points, i.e. in the thread of the server that created the timer (or in
    the remote process of a proxied callable). A slow callback delays the next
    call instead of piling requests up.
    """

    def __init__(self, callback_proxy, interval, kwargs):
        self._callback = callback_proxy
        self._interval = float(interval)
        self._kwargs = kwargs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"RPCTimer-{interval}")
        self._thread.start()

    def _run(self):
        client = RPCClient.get_client(self._callback._rpc_addr)
        timeout = max(10.0, 2 * self._interval)
        next_start = time.monotonic() + self._interval
        try:
            while not self._stop.wait(max(0.0, next_start - time.monotonic())):
                next_start = max(next_start + self._interval, time.monotonic())
                try:
                    self._callback(_sync="sync", _timeout=timeout, **self._kwargs)
                except Exception:
                    if self._stop.is_set() or client.disconnected():
                        break
                    logger.exception("timer callback %r failed", self._callback)
        finally:
            client.close()

    def stop(self, timeout=5.0):
        """Stop calling the callback; wait at most *timeout* s for the thread to end."""
        self._stop.set()
        if threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def is_alive(self):
        """True while the timer thread runs."""
        return self._thread.is_alive()
