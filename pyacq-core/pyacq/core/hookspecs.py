"""Plugin-wide hooks, carried by pluggy to every installed pyacq plugin.

A distribution implements them in a light module (no Qt, no device library at
import time) named by an entry point of the ``pyacq.plugins`` group, e.g.::

    [project.entry-points."pyacq.plugins"]
    devices = "pyacq.devices.hooks"

and decorates its functions with ``pyacq.core.plugins.hookimpl``.
"""
import pluggy

hookspec = pluggy.HookspecMarker("pyacq")


@hookspec
def pyacq_list_devices():
    """Report the devices this plugin can see right now.

    Return a list of dicts, one per device, each with at least:

    * ``'node_type'``: the node class that acquires from it (e.g. ``'PyAudio'``),
    * ``'name'``: a human readable name,
    * ``'configure'``: the keyword arguments of ``node.configure()`` that
      select this device (e.g. ``{'input_device_index': 3}``),

    plus any detail worth showing (channels, sample rates, path, ...). Probing
    must be quick and must not fail because a device is missing: return an
    empty list instead. pluggy collects the lists of every plugin.
    """
