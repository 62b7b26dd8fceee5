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
def pyacq_list_devices(all_ports):
    """Report the devices this plugin can see right now.

    Return a list of dicts, one per device, each with at least:

    * ``'node_type'``: the node class that acquires from it (e.g. ``'PyAudio'``),
    * ``'name'``: a human readable name,
    * ``'configure'``: the keyword arguments of ``node.configure()`` that
      select this device (e.g. ``{'input_device_index': 3}``),

    plus any detail worth showing (channels, sample rates, path, ...). Probing
    must be quick and must not fail because a device is missing: return an
    empty list instead. pluggy collects the lists of every plugin.

    Parameters
    ----------
    all_ports : bool
        False to report only ports that look like a device the plugin knows (e.g.
        by their USB vendor and product ids), True to offer every port (any serial
        port may have a board behind it). An implementation may omit the argument.
    """


@hookspec
def pyacq_missing_probe_libraries():
    """Report the kinds of device this plugin could not look for, for want of a library.

    Return a list of sentences, each naming the devices, the missing library
    and how to install it (e.g. ``'audio devices: PyAudio is not installed
    (extra "audio" of pyacq-devices)'``); an empty list when every probe can run.
    """
