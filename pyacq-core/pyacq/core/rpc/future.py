"""The pending result of a remote call: Future (asynchronous calls) and SyncReply."""
from __future__ import annotations

import concurrent.futures
import threading
from concurrent.futures._base import CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED, PENDING
from typing import Any, Protocol

# The states of concurrent.futures.Future (its __init__ is repeated below, but for the
# condition, so its fields are this module's business too).
_DONE_STATES = (CANCELLED, CANCELLED_AND_NOTIFIED, FINISHED)

# Held while a Future's condition is created, and while a Future without one is settled:
# a thread that creates the condition then either sees the result, or is notified.
_condition_creation = threading.Lock()


class ReplyReader(Protocol):
    """What a Future needs of the RPCClient whose call it stands for (the client reads the
    replies; a Future asks it to when its result is wanted in the client's thread)."""

    _thread_id: int

    def _read_replies(self) -> None: ...

    def process_until_future(self, future: Future, timeout: float | None = None) -> None:
        """Read replies until *future* is settled (TimeoutError after *timeout* s)."""

    def _forget_future(self, call_id: int) -> None: ...


class _ConditionAtFirstUse:
    """The ``_condition`` of a Future, created when a method of concurrent.futures first
    needs it (another thread waits, a callback is added, ``wait()``...). The replies to
    most calls arrive and are read in the client's thread, which then needs no lock, and
    a Condition (with its RLock and bound methods) is most of what a Future costs: to
    build, and to the garbage collector while thousands of calls are pending."""

    def __get__(self, future: Future | None, owner: type | None = None) -> Any:
        if future is None:
            return self
        with _condition_creation:
            state = future.__dict__
            condition = state.get("_condition")
            if condition is None:
                condition = state["_condition"] = threading.Condition()
            return condition


class Future(concurrent.futures.Future[Any]):
    """A return value from a remote call that has not arrived yet.

    Returned by calls made with ``_sync='async'``. Replies are read by the
    client's thread, so ``done()`` and ``result()`` called from that thread read
    pending replies themselves; from another thread they wait for the owning
    thread to do it. A remote exception is raised by ``result()`` as
    RemoteCallException. ``cancel()`` succeeds while the reply has not arrived:
    the remote call still runs, but its result is discarded.

    Parameters
    ----------
    client : RPCClient
        The client that sent the call and reads its reply.
    call_id : int
        The request id of the call, which its reply carries.
    """

    # Found only while the instance has none of its own (see _ConditionAtFirstUse).
    _condition = _ConditionAtFirstUse()

    def __init__(self, client: ReplyReader, call_id: int) -> None:
        # concurrent.futures.Future.__init__, but for the condition (made at first use).
        self._state = PENDING
        self._result = None
        self._exception = None
        self._waiters: list[Any] = []
        self._done_callbacks: list[Any] = []
        self._client = client
        self.call_id = call_id

    def _in_client_thread(self) -> bool:
        return threading.get_ident() == self._client._thread_id

    def _is_done(self) -> bool:
        # A state is written after the result it announces, and a done state is final.
        return self._state in _DONE_STATES

    def done(self) -> bool:
        """Return True if the result (or an error) has arrived, or the call was cancelled."""
        if not self._is_done() and self._in_client_thread():
            self._client._read_replies()
        return self._is_done()

    hasResult = done

    def result(self, timeout: float | None = None) -> Any:
        """Return the remote result, waiting at most *timeout* seconds (None: no limit).

        Raises TimeoutError if it does not arrive in time, RemoteCallException if
        the remote call raised, CancelledError if the future was cancelled.

        Parameters
        ----------
        timeout : float or None, optional
            Seconds to wait for the reply; None (default) waits as long as it takes.
        """
        if not self._is_done() and self._in_client_thread():
            self._client.process_until_future(self, timeout)
        if self._state == FINISHED and self._exception is None:
            return self._result
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """Return the exception raised by the remote call (None if it succeeded).

        Parameters
        ----------
        timeout : float or None, optional
            Seconds to wait for the reply (TimeoutError after); None (default)
            waits as long as it takes.
        """
        if not self._is_done() and self._in_client_thread():
            self._client.process_until_future(self, timeout)
        return super().exception(timeout)

    def set_result(self, result: Any) -> None:
        """Settle with *result* (the client does, when the reply arrives).

        Parameters
        ----------
        result : object
            The value the remote call returned (or a proxy to it).
        """
        with _condition_creation:
            if "_condition" not in self.__dict__:
                # Nobody else has looked: no waiter, no callback, not cancelled.
                self._result = result
                self._state = FINISHED
                return
        super().set_result(result)

    def set_exception(self, exception: BaseException | None) -> None:
        """Settle with *exception* (a remote error, or the client's failure).

        Parameters
        ----------
        exception : BaseException or None
            What :meth:`result` will raise: a RemoteCallException for an error of
            the remote call, or the client's own error (closed, process died).
        """
        with _condition_creation:
            if "_condition" not in self.__dict__:
                self._exception = exception
                self._state = FINISHED
                return
        super().set_exception(exception)

    def cancel(self) -> bool:
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

    def __init__(self, call_id: int) -> None:
        self.call_id = call_id
        self._done = False
        self._error: BaseException | None = None
        self._value: Any = None

    def done(self) -> bool:
        """True once the reply (or an error) has been put here."""
        return self._done

    def set_result(self, value: Any) -> None:
        """Put the call's result here (the client does, when the reply arrives)."""
        self._value = value
        self._done = True

    def set_exception(self, error: BaseException) -> None:
        """Put the call's error here (a remote error, or the client's failure)."""
        self._error = error
        self._done = True

    def result(self) -> Any:
        """The call's result, or its error raised; call only once ``done()``."""
        if self._error is not None:
            raise self._error
        return self._value
