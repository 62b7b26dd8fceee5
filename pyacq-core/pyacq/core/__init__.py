"""Core of pyacq: Node, streams, RPC, node registry and distributed control.

Each public name lives in one submodule and is imported on first access, so
``import pyacq.core`` costs nothing and never pulls Qt (``WidgetNode`` and the
Qt pollers load Qt only when asked for).
"""
from pyacq.core.lazy_exports import lazy_exports

_PUBLIC_NAMES = {
    "Node": "pyacq.core.node",
    "NodeStateError": "pyacq.core.node",
    "WidgetNode": "pyacq.core.widgetnode",
    "register_node_type": "pyacq.core.registry",
    "register_node_type_from_module": "pyacq.core.registry",
    "list_node_types": "pyacq.core.registry",
    "get_node_type": "pyacq.core.registry",
    "UnknownNodeTypeError": "pyacq.core.registry",
    "NodeTypeImportError": "pyacq.core.registry",
    "InputStream": "pyacq.core.stream",
    "OutputStream": "pyacq.core.stream",
    "RingBuffer": "pyacq.core.stream",
    "StreamConverter": "pyacq.core.streamconverter",
    "ChannelSplitter": "pyacq.core.channelsplitter",
    "ChunkResizer": "pyacq.core.chunkresizer",
    "InputPoller": "pyacq.core.inputpoller",
    "ThreadPollInput": "pyacq.core.qtpollers",
    "ThreadPollOutput": "pyacq.core.qtpollers",
    "RPCServer": "pyacq.core.rpc.server",
    "QtRPCServer": "pyacq.core.rpc.qt_server",
    "RPCClient": "pyacq.core.rpc.client",
    "ObjectProxy": "pyacq.core.rpc.proxy",
    "ProcessSpawner": "pyacq.core.rpc.spawner",
    "RemoteCallException": "pyacq.core.rpc.errors",
    "create_manager": "pyacq.core.manager",
    "Manager": "pyacq.core.manager",
    "NodeGroup": "pyacq.core.nodegroup",
    "Host": "pyacq.core.host",
}

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_NAMES)
