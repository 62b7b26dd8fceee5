"""Distributed control: the processes and machines over which a graph of nodes is spread.

A :class:`~pyacq.core.distributed.manager.Manager` connects to
:class:`~pyacq.core.distributed.host.Host` servers, one per machine, which spawn
:class:`~pyacq.core.distributed.nodegroup.NodeGroup` processes in which nodes are created by
name. These modules deal with processes, addresses and their lifetimes, which neither the node
model nor the streams know about; they sit above :mod:`pyacq.core.rpc`, which they use. Two
private helpers serve only them: ``_leftover_cleaner`` removes what killed NodeGroup processes
leave behind, ``_process_logging`` sets the log levels of the processes they spawn.

pyacq 2.0's paths ``pyacq.core.manager``, ``pyacq.core.host`` and ``pyacq.core.nodegroup``
are these modules.
"""
