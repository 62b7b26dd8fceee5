"""Lifetime of one reference held on a remote server.

Every proxy a server creates for a client carries a fresh ``ref_id``; the
server keeps the object alive until that reference is deleted. All local
proxies derived from it (attribute proxies, copies decoded from later replies)
share one RemoteReference, and the reference is released once the last of them
is garbage collected.
"""
import weakref


def _queue_release(pending_deletes, key, state):
    if state["auto_delete"]:
        pending_deletes.append(key)


class RemoteReference:
    """A reference owned by this process; releasing it is queued on its client.

    Garbage collection may run in any thread, and the client's socket may only
    be used by its own thread, so the finalizer only appends to a thread-safe
    queue that the client flushes before its next request.
    """

    def __init__(self, pending_deletes, obj_id, ref_id, auto_delete=True):
        self.obj_id = obj_id
        self.ref_id = ref_id
        self._state = {"auto_delete": bool(auto_delete)}
        weakref.finalize(self, _queue_release, pending_deletes, (obj_id, ref_id), self._state)

    @property
    def auto_delete(self):
        """True if the remote reference is released when this object is collected."""
        return self._state["auto_delete"]

    @auto_delete.setter
    def auto_delete(self, value):
        self._state["auto_delete"] = bool(value)
