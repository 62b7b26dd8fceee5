"""The objects an RPCServer keeps alive because remote proxies refer to them."""
import itertools


class ObjectTable:
    """Maps (obj_id, ref_id) pairs handed out in proxies to local objects.

    Each object gets one ``obj_id``; each proxy created for it gets a new
    ``ref_id``. The object is kept alive until all of its references are
    released, so a client that deletes its proxies keeps the table bounded.
    """

    def __init__(self):
        self._entries = {}  # obj_id -> [obj, set of ref_ids]
        self._obj_ids = {}  # id(obj) -> obj_id, valid while the entry holds obj
        self._shared_refs = {}  # obj_id -> the ref_id reused for borrowed proxies
        self._ids = itertools.count()

    def __len__(self):
        return len(self._entries)

    def add_reference(self, obj):
        """Return (obj_id, ref_id) for a new reference to *obj*."""
        obj_id = self._obj_ids.get(id(obj))
        if obj_id is None:
            obj_id = next(self._ids)
            self._obj_ids[id(obj)] = obj_id
            self._entries[obj_id] = [obj, set()]
        ref_id = next(self._ids)
        self._entries[obj_id][1].add(ref_id)
        return obj_id, ref_id

    def shared_reference(self, obj):
        """Return the single reference used each time *obj* is lent out as an argument.

        The receiver of such a proxy never releases it, so reusing one
        reference keeps the table from growing with every call.
        """
        obj_id = self._obj_ids.get(id(obj))
        ref_id = self._shared_refs.get(obj_id)
        if ref_id is None:
            obj_id, ref_id = self.add_reference(obj)
            self._shared_refs[obj_id] = ref_id
        return obj_id, ref_id

    def lookup(self, obj_id, ref_id):
        """Return the object of a live reference; KeyError otherwise."""
        entry = self._entries.get(obj_id)
        if entry is None or ref_id not in entry[1]:
            raise KeyError(f"unknown object reference (obj_id={obj_id!r}, ref_id={ref_id!r}): never "
                           "created here, or already deleted")
        return entry[0]

    def release(self, obj_id, ref_id):
        """Drop one reference; forget the object when none is left."""
        entry = self._entries.get(obj_id)
        if entry is None or ref_id not in entry[1]:
            raise KeyError(f"cannot delete unknown object reference (obj_id={obj_id!r}, ref_id={ref_id!r})")
        entry[1].discard(ref_id)
        if self._shared_refs.get(obj_id) == ref_id:
            del self._shared_refs[obj_id]
        if not entry[1]:
            del self._entries[obj_id]
            del self._obj_ids[id(entry[0])]

    def clear(self):
        """Release every object (the server is closing)."""
        self._entries.clear()
        self._obj_ids.clear()
        self._shared_refs.clear()
