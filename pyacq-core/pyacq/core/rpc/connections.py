"""Who talks to whom: the RPCClient each thread uses for each server address.

Proxies and clients both need this table, and each needs the other's class (a client
decodes proxies from its replies; a proxy used in a new thread needs a client there).
Keeping the table here, below both, breaks that cycle: ``client`` installs how a
missing client is made (``RPCClient.get_client``) when it is imported, which every
process holding a proxy has done, since proxies come out of a client or a server.
"""
import threading

_local = threading.local()
_connect = None


def clients_of_this_thread():
    """The calling thread's ``{address: RPCClient}`` (change it only from ``client``)."""
    clients = getattr(_local, "clients", None)
    if clients is None:
        clients = _local.clients = {}
    return clients


def install_connector(connect):
    """Make ``connect(address)`` the way ``client_for`` gets a client it does not have."""
    global _connect
    _connect = connect


def client_for(address):
    """The calling thread's client for *address*, made if needed (None for its own server)."""
    if _connect is None:
        raise RuntimeError("no RPC client class is loaded: import pyacq.core.rpc.client first")
    return _connect(address)
