"""Remote process control: drive objects in other threads, processes or hosts.

An RPCServer executes requests on its local objects; an RPCClient sends them;
an ObjectProxy makes a remote object look local; ProcessSpawner starts a
Python process with a server in it.

Layers, from the wire up: ``protocol`` (frames, actions, return types, sync modes,
out-of-band arrays: documented so that clients in other languages can talk to a
server), ``codec`` (bytes to values, pure), ``serializer`` (what a proxy means to a
server and a client), ``connections`` (which client each thread uses for each
server), then ``client``, ``proxy``, ``server`` and ``spawner``.

Names are imported on first use: importing this package loads neither ZeroMQ
nor Qt, and QtRPCServer (the only Qt user) loads Qt only when asked for.
"""
from pyacq.core._lazy_exports import lazy_exports

_PUBLIC_NAMES = {
    "RPCServer": "pyacq.core.rpc.server",
    "QtRPCServer": "pyacq.core.rpc.qt_server",
    "RPCClient": "pyacq.core.rpc.client",
    "ObjectProxy": "pyacq.core.rpc.client",
    "Future": "pyacq.core.rpc.future",
    "ProcessSpawner": "pyacq.core.rpc.spawner",
    "RemoteCallException": "pyacq.core.rpc.errors",
    "RemoteProcessDied": "pyacq.core.rpc.errors",
}

__all__ = ["Future", "ObjectProxy", "ProcessSpawner", "QtRPCServer", "RPCClient", "RPCServer",
           "RemoteCallException", "RemoteProcessDied"]

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_NAMES)
