"""Whether a result array can be sent from its own memory: nothing else can reach it.

ZeroMQ sends a frame given without a copy later, from its I/O thread, straight from the
sender's memory; memory that the process goes on changing would be sent changed. An RPC
server therefore copies a result as it sends it, unless nothing but the reply can reach
its memory. That is so when the result array is referenced by the reply alone, and so is
each object its memory comes from, down to an array that owns its memory (numpy's heap)
or to an out-of-band frame of the request being answered (ZeroMQ's heap, received for
this call and released by the server once decoded). Any other reference shows in a
reference count: the array kept in an attribute, a view of it, a memoryview, a ring
buffer of which it is a window; the result is then copied. Memory that another process
may write (shared memory, a memory map) never ends such a chain: its last object is
neither an owning array nor a request frame.
"""
import sys

import numpy as np

_probe = [object()]
#: What ``sys.getrefcount`` reports for an object referenced once, asked as
#: ``sys.getrefcount(holder[0])`` or ``sys.getrefcount(obj.base)``: measured rather than
#: assumed, so that an interpreter that counts otherwise only makes every result copied.
_REFERENCED_ONCE = sys.getrefcount(_probe[0])
del _probe


def only_holder(holder, frame_ids=frozenset()):
    """True if ``holder[0]`` is a numpy array whose memory only *holder* can reach.

    Parameters
    ----------
    holder : list
        A one-item list holding the result; the caller holds the result nowhere else.
    frame_ids : set of int
        ``id()`` of the request's out-of-band frames, which the caller no longer
        references: memory decoded in place from one of them belongs to this request.
    """
    if type(holder[0]) is not np.ndarray or sys.getrefcount(holder[0]) != _REFERENCED_ONCE:
        return False
    link = holder[0]
    while link.base is not None:
        if sys.getrefcount(link.base) != _REFERENCED_ONCE:
            return False
        link = link.base
        if not isinstance(link, np.ndarray):
            return id(link) in frame_ids
    return bool(link.flags.owndata)
