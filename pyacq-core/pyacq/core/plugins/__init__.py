"""Plugins: what installed distributions add to pyacq, found without importing them.

* :mod:`~pyacq.core.plugins.registry`: the node types a NodeGroup creates by name, from the
  ``pyacq.nodes`` entry points and from explicit registrations;
* :mod:`~pyacq.core.plugins.hookspecs`: the pluggy hooks a plugin may implement;
* this package: pyacq's pluggy plugin manager (:func:`get_plugin_manager`, the
  :data:`hookimpl` marker of hook implementations) and the calls that ask every plugin
  (:func:`list_devices`, :func:`list_missing_probe_libraries`). They are written in the
  private ``_plugin_manager`` and imported on first access, so that the registry is used
  without importing pluggy.

pyacq 2.0's paths ``pyacq.core.registry`` and ``pyacq.core.hookspecs`` are these modules.
"""
from pyacq.core._lazy_exports import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {
    name: "pyacq.core.plugins._plugin_manager"
    for name in ("PLUGIN_ENTRY_POINT_GROUP", "hookimpl", "get_plugin_manager", "list_devices",
                 "list_missing_probe_libraries")
})
