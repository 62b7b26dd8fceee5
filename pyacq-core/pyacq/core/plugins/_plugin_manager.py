"""The pluggy plugin manager of pyacq: finds hook implementations through entry points.

Private: users import these names from :mod:`pyacq.core.plugins`, which loads this module
(and pluggy) only when one of them is asked for.
"""
import logging
import threading

import pluggy

from pyacq.core.plugins import hookspecs

PLUGIN_ENTRY_POINT_GROUP = "pyacq.plugins"

hookimpl = pluggy.HookimplMarker("pyacq")

logger = logging.getLogger(__name__)

_manager = None
_lock = threading.Lock()


def get_plugin_manager():
    """The process-wide plugin manager, loading the ``pyacq.plugins`` entry points once.

    A plugin whose hook module fails to import is logged (naming the entry point
    and its distribution) and left out; the other plugins keep working.
    """
    global _manager
    with _lock:
        if _manager is None:
            manager = pluggy.PluginManager("pyacq")
            manager.add_hookspecs(hookspecs)
            _load_plugins(manager)
            _manager = manager
        return _manager


def _load_plugins(manager):
    from importlib.metadata import entry_points
    for ep in entry_points(group=PLUGIN_ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else "an unknown distribution"
        try:
            module = ep.load()
        except Exception:
            logger.exception("pyacq plugin %r (entry point %r of %s) failed to load",
                             ep.name, ep.value, dist)
            continue
        if manager.get_plugin(ep.name) is None:
            manager.register(module, name=ep.name)


def list_devices(all_ports=False):
    """Every device reported by the installed plugins' ``pyacq_list_devices`` hooks.

    Each plugin is asked on its own, so that one failing probe is logged with
    the plugin's name and does not hide the devices of the others.
    *all_ports*: offer every port, not only those that look like a known device.
    """
    return _ask_each_plugin("pyacq_list_devices", "list its devices", all_ports=all_ports)


def list_missing_probe_libraries():
    """What the installed plugins could not probe for, for want of a library (sentences)."""
    return _ask_each_plugin("pyacq_missing_probe_libraries", "report its missing probe libraries")


def _ask_each_plugin(hook_name, what, **arguments):
    results = []
    for impl in getattr(get_plugin_manager().hook, hook_name).get_hookimpls():
        try:
            results.extend(impl.function(**{name: arguments[name] for name in impl.argnames}))
        except Exception:
            logger.exception("pyacq plugin %r failed to %s", impl.plugin_name, what)
    return results
