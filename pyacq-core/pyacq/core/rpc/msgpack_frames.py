"""Build msgpack frames in which each large array is copied once, at an aligned offset.

Packing a message with msgpack copies every array into the packer's buffer,
sending that buffer copies it again into a ZeroMQ message, and the receiver
moves each array by a few bytes to align it (see msgpack_views): three passes
over every byte. Instead, the message is packed with a small ext placeholder
for each large array (:data:`MIN_VIEW_BYTES` or more), and :func:`build_frame`
writes the final frame into a fresh buffer, which ZeroMQ then sends without
copying. Each array is copied exactly once, and starts at a multiple of 8 bytes
from the start of the frame, so that the receiver uses it in place. A
placeholder's position is the packer's length when its default hook is called
(msgpack writes the hook's result right there).

The frame is ordinary msgpack that any implementation decodes to the same
values: the padding is made by writing up to three short strings of an array's
tagged dict in a longer string encoding (str8, str16 or str32 instead of
fixstr).
"""
import msgpack
import numpy as np

from .msgpack_views import _BIN32, _EXT_CODE, ALIGNMENT, MIN_VIEW_BYTES, placeholder_bytes

PLACEHOLDER_CODE = _EXT_CODE
_FIXMAP4 = 0x84
_PLACEHOLDER_BYTES = 6  # fixext4


def is_framed(arr):
    """True for arrays sent by :func:`build_frame` rather than packed by msgpack."""
    return arr.nbytes >= MIN_VIEW_BYTES


def placeholder(number):
    """The ext value standing for the *number*-th framed array of a message."""
    return msgpack.ExtType(PLACEHOLDER_CODE, number.to_bytes(4, "big"))


def _str_encodings(text):
    """msgpack str encodings of a short *text*: {bytes more than fixstr: encoded}."""
    data = text.encode()
    n = len(data)
    return {0: bytes((0xA0 | n,)) + data, 1: bytes((0xD9, n)) + data,
            2: b"\xda" + n.to_bytes(2, "big") + data, 4: b"\xdb" + n.to_bytes(4, "big") + data}


_NDARRAY, _DTYPE, _DATA = (_str_encodings(text) for text in ("ndarray", "dtype", "data"))
_SHAPE = _str_encodings("shape")[0]


class ArrayHeaders:
    """Writes the tagged dict of an array up to its payload, padded for alignment.

    The dict is ``{type_key: 'ndarray', 'dtype', 'shape', 'data'}``; the strings
    'ndarray', 'dtype' and 'data' are written with 1, 2 and 4 bytes more than
    fixstr as needed for the payload to start at a multiple of ALIGNMENT.
    """

    def __init__(self, type_key, dtype_desc):
        self.start = bytes((_FIXMAP4,)) + _str_encodings(type_key)[0]
        self.dtype_desc = dtype_desc
        self._dtypes = {}  # dtype -> its packed description

    def header(self, arr, offset):
        """Header bytes for *arr* when written at *offset* in the frame."""
        packed_dtype = self._dtypes.get(arr.dtype)
        if packed_dtype is None:
            packed_dtype = self._dtypes[arr.dtype] = msgpack.packb(self.dtype_desc(arr))
        middle = packed_dtype + _SHAPE + msgpack.packb(arr.shape)
        unpadded = len(self.start) + len(_NDARRAY[0]) + len(_DTYPE[0]) + len(middle) + len(_DATA[0]) + 5
        pad = -(offset + unpadded) % ALIGNMENT
        return b"".join((self.start, _NDARRAY[pad & 1], _DTYPE[pad & 2], middle, _DATA[pad & 4],
                         bytes((_BIN32,)), arr.nbytes.to_bytes(4, "big")))


def build_frame(compact, framed, headers):
    """Return the frame of the message *compact*, with arrays in place of its placeholders.

    *compact* is the packed message; *framed* lists ``(position, array)`` for
    each ``placeholder(i)`` in it, in order; *headers* is the serializer's
    :class:`ArrayHeaders`. Returns a numpy uint8 array, or None if a placeholder
    is not where it was expected (the caller then packs the message the
    ordinary way).
    """
    pieces, size, last = [], 0, 0
    for number, (position, arr) in enumerate(framed):
        if compact[position:position + _PLACEHOLDER_BYTES] != placeholder_bytes(number):
            return None
        size += position - last
        header = headers.header(arr, size)
        pieces.append((compact[last:position], header, arr))
        size += len(header) + arr.nbytes
        last = position + _PLACEHOLDER_BYTES
    frame = np.empty(size + len(compact) - last, np.uint8)
    view = memoryview(frame)
    offset = 0
    for before, header, arr in pieces:
        for part in (before, header):
            view[offset:offset + len(part)] = part
            offset += len(part)
        payload = frame[offset:offset + arr.nbytes].view(arr.dtype).reshape(arr.shape)
        np.copyto(payload, arr, casting="no")
        offset += arr.nbytes
    view[offset:] = compact[last:]
    return frame
