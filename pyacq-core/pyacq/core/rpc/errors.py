"""Exceptions raised by the RPC layer on the calling side."""


class RemoteCallException(Exception):
    """An exception raised by the remote object, re-raised in the caller.

    The remote exception object itself cannot cross the process boundary (it may
    not be serializable, and decoding must never build arbitrary objects), so the
    caller gets its type name and formatted traceback instead.

    Parameters
    ----------
    type_str : str
        The name of the remote exception's type (``'ValueError'``).
    remote_traceback : list of str
        The remote exception's formatted traceback lines, printed by ``str()``.
    """

    def __init__(self, type_str, remote_traceback):
        self.type_str = type_str
        self.remote_traceback = list(remote_traceback)
        super().__init__(type_str, self.remote_traceback)

    def __str__(self):
        remote_traceback = "".join(self.remote_traceback).rstrip()
        return f"{self.type_str} raised in remote process:\n{remote_traceback}"


class RemoteProcessDied(TimeoutError, RuntimeError):
    """The process serving an RPC call died: no reply will ever come.

    Raised at once by a call to a server whose process is known to be dead (see
    ``server_deaths``), instead of waiting for the call's timeout. It is a TimeoutError
    because that is what such a call raised before (no reply came in time), and a
    RuntimeError like the error of a call to a server that closed, so code catching either
    keeps working.

    Parameters
    ----------
    message : str
        What died and which call will get no reply.
    address : str, optional
        The dead server's address (``tcp://...``), kept in ``self.address``.
    """

    def __init__(self, message, address=None):
        super().__init__(message)
        self.address = address
