"""pyacq: distributed data acquisition and stream processing.

Importing ``pyacq`` is cheap on purpose: the core names and every installed
node class are resolved on first access (PEP 562 ``__getattr__``), so no Qt,
no plugin and no heavy dependency is loaded until something asks for it.
"""
import pkgutil

# Plugin distributions (pyacq-devices, pyacq-dsp, pyacq-viewers, ...) ship
# ``pyacq/<name>/`` without ``pyacq/__init__.py``. Extending ``__path__`` lets
# those subpackages live in other sys.path entries (editable installs).
__path__ = pkgutil.extend_path(__path__, __name__)

from pyacq import core

#: Subpackages reachable as attributes after a bare ``import pyacq`` (as in
#: ``pyacq.devices.PyAudio()``), each imported on first access; the plugin ones
#: come from their own distributions.
_SUBPACKAGES = {"rec": "pyacq-core", "devices": "pyacq-devices", "dsp": "pyacq-dsp",
                "viewers": "pyacq-viewers"}


def _import_subpackage(name):
    import importlib
    try:
        return importlib.import_module(f"pyacq.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"pyacq.{name}":
            raise
        raise AttributeError(f"module 'pyacq' has no attribute {name!r}: pyacq.{name} is not installed "
                             f"(pip install {_SUBPACKAGES[name]})") from None


def __getattr__(name):
    if name in _SUBPACKAGES:
        return _import_subpackage(name)
    if name == "__version__":
        from importlib.metadata import version
        value = version("pyacq-core")
    elif name in core._PUBLIC_NAMES:
        value = getattr(core, name)
    elif name.startswith("_"):
        raise AttributeError(f"module 'pyacq' has no attribute {name!r}")
    else:
        from pyacq.core.plugins.registry import find_node_type
        value = find_node_type(name)
        if value is None:
            raise AttributeError(f"module 'pyacq' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    from pyacq.core.plugins.registry import list_node_types
    return sorted(set(globals()) | set(core._PUBLIC_NAMES) | set(list_node_types()))
