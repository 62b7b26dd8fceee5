"""Decode the large arrays of a received msgpack message as views of its frame.

msgpack-python copies every ``bin`` payload into a new bytes object, and a
writable array needs one more copy: two copies and two fresh buffers per array.
A received ZeroMQ frame is writable memory that belongs to the receiver alone,
so the arrays of a large message can be views of the frame instead.

:func:`unpack_with_views` walks the structure of the message (without decoding
it) to find the payloads of tagged ndarrays, ``{'___type_name___': 'ndarray',
'data': <bin>, ...}``, of at least :data:`MIN_VIEW_BYTES`. msgpack then decodes
a compact copy of the message in which each such payload is replaced by a small
ext placeholder, which decodes to a writable memoryview of the payload in the
frame. Payloads are moved by a few bytes inside the frame (over their own key
and header, no longer needed) so that arrays are 8-byte aligned, as freshly
allocated ones are.

Anything unusual (ext types, non-canonical encodings of the tag, deep nesting,
many small items, truncated data) makes the walk give up, and the message is
decoded the ordinary way: the result is the same, only slower.
"""
import ctypes

import msgpack

#: Smallest array payload decoded as a view (smaller ones are cheap to copy).
MIN_VIEW_BYTES = 1 << 16
#: The walk gives up on messages with more items than this (msgpack is faster there).
MAX_ITEMS = 4096
MAX_DEPTH = 32
ALIGNMENT = 8

_EXT_CODE = 0x5A
_FIXEXT4 = 0xD6
_BIN32 = 0xC6
_BIN32_HEADER = 5
# The tag's key and value and the 'data' key (in any of msgpack's str encodings).
_TYPE_KEY = b"___type_name___"
_NDARRAY = b"ndarray"
_DATA_KEY = b"data"

# Type byte -> number of bytes that follow it, for scalars.
_FIXED_SIZES = {0xC0: 0, 0xC2: 0, 0xC3: 0, 0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4,
                0xCF: 8, 0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
# Type byte -> width of the length that follows it, for bin and str.
_LENGTH_WIDTHS = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}
_STR_WIDTHS = {0xD9: 1, 0xDA: 2, 0xDB: 4}
_ARRAY_WIDTHS = {0xDC: 2, 0xDD: 4}
_MAP_WIDTHS = {0xDE: 2, 0xDF: 4}


class _GiveUp(Exception):
    """The message is not one the walk handles: decode it the ordinary way."""


def placeholder_bytes(number):
    """The fixext4 item that stands for the *number*-th array of a message."""
    return bytes((_FIXEXT4, _EXT_CODE)) + number.to_bytes(4, "big")


def _str_content(buf, start, stop):
    """The bytes of the str item ``buf[start:stop]``, or None if it is not a str."""
    kind = buf[start]
    if 0xA0 <= kind <= 0xBF:
        return bytes(buf[start + 1:stop])
    width = _STR_WIDTHS.get(kind)
    return None if width is None else bytes(buf[start + 1 + width:stop])


class _Walk:
    """Finds the (start, stop) spans of large tagged ndarray payloads in a message."""

    def __init__(self, buf):
        self.buf = buf
        self.items = 0
        self.payloads = []

    def item(self, pos, depth):
        """Return the position after the item starting at *pos*."""
        self.items += 1
        if self.items > MAX_ITEMS or depth > MAX_DEPTH:
            raise _GiveUp
        buf = self.buf
        kind = buf[pos]
        if kind <= 0x7F or kind >= 0xE0:
            return pos + 1
        if kind >= 0xA0 and kind <= 0xBF:
            return pos + 1 + (kind & 0x1F)
        if kind <= 0x8F:
            return self.map(pos + 1, kind & 0x0F, depth)
        if kind <= 0x9F:
            return self.array(pos + 1, kind & 0x0F, depth)
        size = _FIXED_SIZES.get(kind)
        if size is not None:
            return pos + 1 + size
        width = _LENGTH_WIDTHS.get(kind)
        if width is not None:
            return pos + 1 + width + self.number(pos + 1, width)
        width = _ARRAY_WIDTHS.get(kind)
        if width is not None:
            return self.array(pos + 1 + width, self.number(pos + 1, width), depth)
        width = _MAP_WIDTHS.get(kind)
        if width is not None:
            return self.map(pos + 1 + width, self.number(pos + 1, width), depth)
        raise _GiveUp  # ext types, or the unused byte 0xc1

    def number(self, pos, width):
        if pos + width > len(self.buf):
            raise _GiveUp
        return int.from_bytes(self.buf[pos:pos + width], "big")

    def array(self, pos, count, depth):
        for _ in range(count):
            pos = self.item(pos, depth + 1)
        return pos

    def map(self, pos, count, depth):
        buf = self.buf
        is_ndarray, data = False, None
        for _ in range(count):
            key = pos
            pos = self.item(pos, depth + 1)
            value = pos
            pos = self.item(pos, depth + 1)
            name = _str_content(buf, key, value)
            if pos - value >= MIN_VIEW_BYTES and buf[value] == _BIN32 and name == _DATA_KEY:
                data = (value, pos)
            elif name == _TYPE_KEY and _str_content(buf, value, pos) == _NDARRAY:
                is_ndarray = True
        if is_ndarray and data is not None:
            self.payloads.append(data)
        return pos


def unpack_with_views(msg, object_hook):
    """Decode *msg* like ``msgpack.unpackb``, with large arrays left in place.

    *msg* must be writable memory that nothing else uses, such as a frame
    received over tcp or ipc (over inproc, a frame may be the sender's buffer).

    Returns ``(True, obj)`` with large ndarray payloads as writable memoryviews of
    *msg*, or ``(False, None)`` if there are none or the walk gave up; *msg* is
    changed only when decoding succeeded.
    """
    view = memoryview(msg)
    if view.readonly or view.nbytes < MIN_VIEW_BYTES:
        return False, None
    buf = view.cast("B")
    walk = _Walk(buf)
    try:
        if walk.item(0, 0) != len(buf):
            return False, None
    except (_GiveUp, IndexError):
        return False, None
    if not walk.payloads:
        return False, None
    base = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    pieces, views, moves, last = [], [], [], 0
    for number, (start, stop) in enumerate(walk.payloads):
        pieces.append(buf[last:start])
        pieces.append(placeholder_bytes(number))
        last = stop
        payload = start + _BIN32_HEADER
        # Up to 7 bytes back: over the payload's own header and 'data' key.
        aligned = payload - (base + payload) % ALIGNMENT
        views.append(buf[aligned:aligned + stop - payload])
        if aligned != payload:
            moves.append((base + aligned, base + payload, stop - payload))
    pieces.append(buf[last:])

    def ext_hook(code, data):
        # The compact message holds no ext but the placeholders (the walk refused any).
        return views[int.from_bytes(data, "big")]

    obj = msgpack.unpackb(b"".join(pieces), object_hook=object_hook, ext_hook=ext_hook,
                          raw=False, strict_map_key=False)
    for destination, source, count in moves:
        ctypes.memmove(destination, source, count)
    return True, obj
