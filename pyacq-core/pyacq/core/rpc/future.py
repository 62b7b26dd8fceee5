"""The pending result of a remote call: Future (asynchronous calls) and SyncReply."""
import concurrent.futures
import threading


class Future(concurrent.futures.Future):
    """A return value from a remote call that has not arrived yet.

    Returned by calls made with ``_sync='async'``. Replies are read by the
    client's thread, so ``done()`` and ``result()`` called from that thread read
    pending replies themselves; from another thread they wait for the owning
    thread to do it. A remote exception is raised by ``result()`` as
    RemoteCallException. ``cancel()`` succeeds while the reply has not arrived:
    the remote call still runs, but its result is discarded.
    """

    def __init__(self, client, call_id):
        super().__init__()
        self._client = client
        self.call_id = call_id

    def _in_client_thread(self):
        return threading.get_ident() == self._client._thread_id

    def done(self):
        """Return True if the result (or an error) has arrived, or the call was cancelled."""
        if not super().done() and self._in_client_thread():
            self._client._read_replies()
        return super().done()

    hasResult = done

    def result(self, timeout=None):
        """Return the remote result, waiting at most *timeout* seconds (None: no limit).

        Raises TimeoutError if it does not arrive in time, RemoteCallException if
        the remote call raised, CancelledError if the future was cancelled.
        """
        if not super().done() and self._in_client_thread():
            self._client.process_until_future(self, timeout)
        return super().result(timeout)

    def exception(self, timeout=None):
        """Return the exception raised by the remote call (None if it succeeded)."""
        if not super().done() and self._in_client_thread():
            self._client.process_until_future(self, timeout)
        return super().exception(timeout)

    def cancel(self):
        """Forget the reply of this call; return False if it has already arrived."""
        if super().cancel():
            self._client._forget_future(self.call_id)
            return True
        return False


class SyncReply:
    """Where the reply of a synchronous call is put while its caller waits.

    The caller is the client's own thread, which also reads the replies, so nothing here
    needs the lock and condition of a concurrent Future (about 4 us per call). It answers
    what the client asks of a pending call: ``done()``, ``set_result()``,
    ``set_exception()``.
    """

    __slots__ = ("_done", "_error", "_value", "call_id")

    def __init__(self, call_id):
        self.call_id = call_id
        self._done = False
        self._error = None

    def done(self):
        """True once the reply (or an error) has been put here."""
        return self._done

    def set_result(self, value):
        self._value = value
        self._done = True

    def set_exception(self, error):
        self._error = error
        self._done = True

    def result(self):
        """The call's result, or its error raised; call only once ``done()``."""
        if self._error is not None:
            raise self._error
        return self._value
