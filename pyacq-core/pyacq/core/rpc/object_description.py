"""What a proxy says of its remote object: made by the server that owns the object.

A proxy's ``repr()`` must tell a user which object it stands for and where that
object lives (``<ObjectProxy to SosFilter 'filter' in process 'dsp' (pid 4242) at
tcp://...>``) without a round trip, so the server writes that text once, when it
makes the proxy, and the proxy carries it.
"""
import os
import types

from .log.names import get_process_name


def describe_object(obj):
    """A one-line description of *obj* and of this process.

    The object's class name, its ``name`` when it has one of its own (a node, a
    stream: read from the instance's ``__dict__``, so no property or remote call
    runs; a module is named by its ``__name__``), and this process's logging name
    and pid.
    """
    if isinstance(obj, types.ModuleType):
        return f"module {obj.__name__!r} in {_this_process()}"
    text = type(obj).__qualname__
    state = getattr(obj, "__dict__", None)
    name = state.get("name") if isinstance(state, dict) else None
    if isinstance(name, str):
        text += f" {name!r}"
    return f"{text} in {_this_process()}"


def _this_process():
    return f"process {get_process_name()!r} (pid {os.getpid()})"
