"""pyacq: distributed data acquisition and stream processing.

Importing ``pyacq`` is cheap on purpose: the core names and every installed
node class are resolved on first access (PEP 562 ``__getattr__``), so no Qt,
no plugin and no heavy dependency is loaded until something asks for it.
"""
import functools
import importlib
import pkgutil

# Plugin distributions (pyacq-devices, pyacq-dsp, pyacq-viewers, ...) ship
# ``pyacq/<name>/`` without ``pyacq/__init__.py``. Extending ``__path__`` lets
# those subpackages live in other sys.path entries (editable installs).
__path__ = pkgutil.extend_path(__path__, __name__)

from pyacq import core
from pyacq.core._lazy_exports import lazy_exports

#: Subpackages reachable as attributes after a bare ``import pyacq`` (as in
#: ``pyacq.devices.PyAudio()``), each imported on first access; the plugin ones
#: come from their own distributions.
_SUBPACKAGES = {"rec": "pyacq-core", "devices": "pyacq-devices", "dsp": "pyacq-dsp",
                "viewers": "pyacq-viewers"}


def _import_subpackage(name):
    try:
        return importlib.import_module(f"pyacq.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"pyacq.{name}":
            raise
        raise AttributeError(f"module 'pyacq' has no attribute {name!r}: pyacq.{name} is not installed "
                             f"(pip install {_SUBPACKAGES[name]})") from None


def _core_version():
    from importlib.metadata import version
    return version("pyacq-core")


def _find_node_class(name):
    """The installed or registered node class called ``name`` (``from pyacq import WebCamAV``);
    private names are never node types, so asking for one reads no entry point."""
    if name.startswith("_"):
        return None
    from pyacq.core.plugins.registry import find_node_type
    return find_node_type(name)


def _node_type_names():
    from pyacq.core.plugins.registry import list_node_types
    return list_node_types()


__getattr__, __dir__ = lazy_exports(
    __name__,
    {**core._PUBLIC_NAMES, "__version__": _core_version,
     **{name: functools.partial(_import_subpackage, name) for name in _SUBPACKAGES}},
    find_unlisted=_find_node_class, list_unlisted=_node_type_names)
