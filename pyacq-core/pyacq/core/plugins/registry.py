"""Registry of node types: every class a NodeGroup can create by name.

Node types come from two places:

* entry points of the ``pyacq.nodes`` group, one per class
  (``Name = "module:Class"``), declared by any installed distribution. Listing
  them reads distribution metadata only; a class is imported on first use.
* explicit registrations: ``register_node_type(cls)`` and
  ``register_node_type_from_module(modname, classname)``, for classes that
  have no entry point (scripts, notebooks, code under development).

An explicit registration wins over an entry point of the same name.

Listing node types must stay light (``pyacq list``, ``dir(pyacq)``): this module
imports the Node class, and with it streams, ZeroMQ and numpy, only when a class
is registered or loaded, which imports node code anyway.
"""
from __future__ import annotations

import importlib
import threading
from importlib.metadata import EntryPoint, entry_points
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..node import Node

ENTRY_POINT_GROUP = "pyacq.nodes"

_registered: dict[str, type[Node]] = {}
_loaded: dict[str, type[Node]] = {}
_entry_points: dict[str, EntryPoint] | None = None
_lock = threading.RLock()


class UnknownNodeTypeError(KeyError):
    """No registered class and no entry point has the requested name."""

    def __str__(self) -> str:
        return self.args[0]


class NodeTypeImportError(ImportError):
    """The entry point of a node type could not be loaded."""


def _node_entry_points() -> dict[str, EntryPoint]:
    global _entry_points
    with _lock:
        if _entry_points is None:
            _entry_points = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
        return _entry_points


def refresh_entry_points() -> None:
    """Read the ``pyacq.nodes`` entry points again (after installing a plugin at run time)."""
    global _entry_points
    with _lock:
        _entry_points = None
        _loaded.clear()
    importlib.invalidate_caches()


def register_node_type(node_class: type[Node], classname: str | None = None) -> type[Node]:
    """Make ``node_class`` creatable by name (``classname``, by default its ``__name__``).

    For a class without an entry point (a script's own node). It is known in this
    process only: a NodeGroup process that must create it registers it with
    ``register_node_type_from_module``.

    Parameters
    ----------
    node_class : type
        A Node subclass; anything else is refused (TypeError).
    classname : str, optional
        The name to create it by (``create_node(classname)``); a name already
        registered is replaced. Default: ``node_class.__name__``.
    """
    if not _is_node_class(node_class):
        raise TypeError(f"register_node_type() needs a Node subclass, got {node_class!r}")
    with _lock:
        _registered[classname or node_class.__name__] = node_class
    return node_class


def register_node_type_from_module(modname: str, classname: str) -> type[Node]:
    """Import module ``modname`` and register its Node subclass ``classname``.

    Parameters
    ----------
    modname : str
        The module's import path (``'mypackage.mynodes'``), importable here.
    classname : str
        The class's name in the module, also the node type's name.
    """
    module = importlib.import_module(modname)
    try:
        node_class = getattr(module, classname)
    except AttributeError:
        raise UnknownNodeTypeError(
            f"module {modname!r} has no class {classname!r} to register as a node type"
        ) from None
    return register_node_type(node_class, classname)


def list_node_types() -> list[str]:
    """Names of every node type, registered or installed, without importing any plugin."""
    with _lock:
        return sorted(set(_registered) | set(_node_entry_points()))


def describe_node_types() -> dict[str, tuple[str | None, str]]:
    """``{name: (distribution, "module:Class")}`` for every node type, without importing any.

    Installed node types come with their distribution and entry point value;
    a class registered explicitly comes with ``(None, "module:Class")``.
    """
    with _lock:
        table = {name: (ep.dist.name if ep.dist else None, ep.value)
                 for name, ep in _node_entry_points().items()}
        table.update({name: (None, f"{cls.__module__}:{cls.__qualname__}")
                      for name, cls in _registered.items() if name not in table})
        return dict(sorted(table.items()))


def find_node_type(name: str) -> type[Node] | None:
    """The class registered or installed as ``name``, or None when there is none."""
    with _lock:
        node_class = _registered.get(name) or _loaded.get(name)
        if node_class is not None:
            return node_class
        ep = _node_entry_points().get(name)
    if ep is None:
        return None
    node_class = _load_entry_point(ep)
    with _lock:
        return _loaded.setdefault(name, node_class)


def get_node_type(name: str) -> type[Node]:
    """The class registered or installed as ``name``; an error lists the known names.

    Parameters
    ----------
    name : str
        The node type's name (its entry point name, or the name it was registered by).
    """
    node_class = find_node_type(name)
    if node_class is None:
        known = ", ".join(list_node_types()) or "none"
        raise UnknownNodeTypeError(f"unknown node type {name!r}; available node types: {known}")
    return node_class


def _load_entry_point(ep: EntryPoint) -> type[Node]:
    dist = ep.dist.name if ep.dist else "an unknown distribution"
    try:
        node_class = ep.load()
    except Exception as exc:
        raise NodeTypeImportError(
            f"node type {ep.name!r} (entry point {ep.value!r} of {dist}) failed to load: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    if not _is_node_class(node_class):
        raise NodeTypeImportError(
            f"node type {ep.name!r} (entry point {ep.value!r} of {dist}) is {node_class!r}, "
            "not a pyacq Node subclass"
        )
    return node_class


def _is_node_class(obj: object) -> bool:
    """True if *obj* is a Node subclass (Node is imported here, see the module docstring)."""
    from ..node import Node
    return isinstance(obj, type) and issubclass(obj, Node)
