"""NodeGroup: the nodes living in one process, created by name and driven through RPC.

A Host spawns one process per NodeGroup; the Manager (or any client) asks the
NodeGroup to create nodes by class name, so the class is looked up in *that*
process's registry: any ``pyacq.nodes`` entry point installed there, or a class
registered with ``register_node_type_from_module``. The returned node travels
back as a proxy that is used exactly like a local node.
"""
from __future__ import annotations

import logging
from typing import Any

from pyacq.core.distributed._process_logging import forward_stdio_at_any_level
from pyacq.core.node import Node, NodeStateError
from pyacq.core.plugins import registry
from pyacq.core.rpc.server import RPCServer

logger = logging.getLogger(__name__)


class NodeGroup:
    """Manages the nodes of one process (see the module docstring).

    Parameters
    ----------
    host : ObjectProxy or Host, optional
        The Host that spawned this process. Default None (a NodeGroup created by hand).
    manager : ObjectProxy or Manager, optional
        The Manager the NodeGroup belongs to. Default None.
    """

    def __init__(self, host: Any = None, manager: Any = None) -> None:
        self.host = host
        self.manager = manager
        self.nodes: list[Node] = []
        self._closed = False
        self._process_server: RPCServer | None = None

    def __repr__(self) -> str:
        return f"<NodeGroup with {len(self.nodes)} nodes>"

    def _check_open(self, action: str) -> None:
        if self._closed:
            raise RuntimeError(f"NodeGroup is closed: cannot {action}")

    def create_node(self, node_class: str, *args: Any, **kwds: Any) -> Node:
        """Create a node of the type named *node_class* in this process, add it, return it.

        Parameters
        ----------
        node_class : str
            The node type's name, installed (entry point) or registered here.
        *args
            Passed to the node's constructor.
        **kwds
            Passed to the node's constructor (``name``, ...).
        """
        self._check_open("create_node()")
        if not isinstance(node_class, str):
            raise TypeError(f"create_node() needs the name of a node type, got {node_class!r}")
        node = registry.get_node_type(node_class)(*args, **kwds)
        self.add_node(node)
        return node

    def add_node(self, node: Node) -> None:
        """Make this NodeGroup responsible for *node* (started, stopped and closed with it).

        Parameters
        ----------
        node : Node
            A node of this process, not yet in this NodeGroup.
        """
        self._check_open("add_node()")
        if any(existing is node for existing in self.nodes):
            raise ValueError(f"{node._describe()} is already in this NodeGroup")
        self.nodes.append(node)

    def remove_node(self, node: Node) -> None:
        """Remove *node* from this NodeGroup and close it; a running node must be stopped first.

        Parameters
        ----------
        node : Node
            A node of this NodeGroup.
        """
        for i, existing in enumerate(self.nodes):
            if existing is node:
                break
        else:
            raise ValueError(f"{node!r} is not a node of this NodeGroup")
        if node.running():
            raise NodeStateError(
                f"{node._describe()}: cannot remove a running node from its NodeGroup; stop() it first")
        del self.nodes[i]
        if not node.closed():
            node.close()

    def list_nodes(self) -> list[Node]:
        """The nodes of this group."""
        return list(self.nodes)

    def list_node_types(self) -> list[str]:
        """Names of every node type this process can create (installed or registered)."""
        return registry.list_node_types()

    def register_node_type_from_module(self, modname: str, classname: str) -> None:
        """Import *modname* here and make its Node subclass *classname* creatable by name.

        Parameters
        ----------
        modname : str
            The module's import path, importable in this NodeGroup's process.
        classname : str
            The class's name in the module, also the node type's name.
        """
        registry.register_node_type_from_module(modname, classname)

    def start_all_nodes(self) -> None:
        """Start every initialized node that is not running."""
        for node in self.nodes:
            if node.initialized() and not node.running():
                node.start()

    def stop_all_nodes(self) -> None:
        """Stop every running node, and every failed one (whose worker thread died)."""
        for node in self.nodes:
            if node.running() or node.failed():
                node.stop()

    def any_node_running(self) -> bool:
        """True if at least one node of this group is running."""
        return any(node.running() for node in self.nodes)

    def close(self) -> None:
        """Stop and close every node; a NodeGroup spawned by a Host then ends its process.

        A node that fails to stop or close is logged and does not prevent the
        others from being closed.
        """
        if self._closed:
            return
        self._closed = True
        for node in self.nodes:
            try:
                if node.running():
                    node.stop()
                if not node.closed():
                    node.close()
            except Exception:
                logger.exception("NodeGroup: closing %s failed", node._describe())
        self.nodes = []
        if self._process_server is not None:
            self._process_server.close()


def create_process_nodegroup(host: Any, manager: Any) -> NodeGroup:
    """Create the NodeGroup of a process spawned for it: closing the group ends the process.

    Called through RPC by Host.create_nodegroup in the new process, whose RPC
    server then serves only this group.
    """
    nodegroup = NodeGroup(host, manager)
    forward_stdio_at_any_level()
    nodegroup._process_server = RPCServer.get_server()
    return nodegroup
