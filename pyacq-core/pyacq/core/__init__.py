"""Core of pyacq: the node model, and one sub-package for each part around it.

* the node model, in this package: :mod:`~pyacq.core.node` (``Node`` and its lifecycle),
  :mod:`~pyacq.core.node_thread` (worker threads whose failure reaches their node) and
  :mod:`~pyacq.core.widgetnode` (``WidgetNode``, the one that imports Qt);
* :mod:`pyacq.core.stream`: the streams between nodes;
* :mod:`pyacq.core.rpc`: remote process control (servers, clients, proxies, logging);
* :mod:`pyacq.core.distributed`: the Manager, the Hosts and the NodeGroups;
* :mod:`pyacq.core.plugins`: the node type registry and pyacq's pluggy hooks;
* :mod:`pyacq.core.streamtools`: the nodes that relay streams, and the input pollers,
  which pyacq 2.0 users import from :mod:`pyacq.core.tools`;
* :mod:`~pyacq.core.qtcompat`: the Qt4-style ``QtGui`` names that old scripts may opt in to.

Modules with an underscore name (``_lazy_exports``, ``_node_configure``) are private
helpers. The modules of pyacq.core's former flat layout (``pyacq.core.manager``,
``pyacq.core.registry``, ``pyacq.core.inputpoller``, ...) stay importable by those paths:
each is a module of the new layout under its former name.

Each public name lives in one submodule and is imported on first access, so
``import pyacq.core`` costs nothing and never pulls Qt (``WidgetNode`` and the
Qt pollers load Qt only when asked for).
"""
from pyacq.core._lazy_exports import lazy_exports

_PUBLIC_NAMES = {
    "Node": "pyacq.core.node",
    "NodeStateError": "pyacq.core.node",
    "WidgetNode": "pyacq.core.widgetnode",
    "register_node_type": "pyacq.core.plugins.registry",
    "register_node_type_from_module": "pyacq.core.plugins.registry",
    "list_node_types": "pyacq.core.plugins.registry",
    "get_node_type": "pyacq.core.plugins.registry",
    "UnknownNodeTypeError": "pyacq.core.plugins.registry",
    "NodeTypeImportError": "pyacq.core.plugins.registry",
    "InputStream": "pyacq.core.stream",
    "OutputStream": "pyacq.core.stream",
    "RingBuffer": "pyacq.core.stream",
    "StreamConverter": "pyacq.core.streamtools.streamconverter",
    "ChannelSplitter": "pyacq.core.streamtools.channelsplitter",
    "ChunkResizer": "pyacq.core.streamtools.chunkresizer",
    "InputPoller": "pyacq.core.streamtools.inputpoller",
    "ThreadPollInput": "pyacq.core.streamtools.qtpollers",
    "ThreadPollOutput": "pyacq.core.streamtools.qtpollers",
    "RPCServer": "pyacq.core.rpc.server",
    "QtRPCServer": "pyacq.core.rpc.qt_server",
    "RPCClient": "pyacq.core.rpc.client",
    "ObjectProxy": "pyacq.core.rpc.proxy",
    "ProcessSpawner": "pyacq.core.rpc.spawner",
    "RemoteCallException": "pyacq.core.rpc.errors",
    "create_manager": "pyacq.core.distributed.manager",
    "Manager": "pyacq.core.distributed.manager",
    "NodeGroup": "pyacq.core.distributed.nodegroup",
    "Host": "pyacq.core.distributed.host",
}

__getattr__, __dir__ = lazy_exports(__name__, _PUBLIC_NAMES)
