"""What decoding a request body would cost, estimated before decoding it.

A serialized body is far smaller than the Python objects it decodes to: a msgpack empty
map is one byte on the wire and a 64-byte dict (plus the 8-byte slot of the list that
holds it) in memory, so a 16 MiB body of empty maps costs 1.1 GiB to decode. The frame
size alone does not bound what a request may cost; this module does, before any object
is built.

``decoding_cost(ser_type, body)`` walks the body without building objects and estimates
the memory its decoded objects would take: msgpack item by item (each header says what
it builds: a list of *n* slots, a dict of *n* entries, a string of *n* bytes...), json by
counting the tokens that build objects (``{``, ``[``, ``:``, ``,`` and strings) outside
strings. The estimates follow CPython 3.11's object sizes (``sys.getsizeof``, and the
tracemalloc peaks of decoding such bodies) and err on the high side;
``benchmarks/bench_request_cost.py`` measures what a server pays.

``check_decoding_cost`` refuses a body whose estimate exceeds ``allowance(size)``:

    4.5 MiB + 24 bytes per byte for the first 16 MiB of body, then 2 bytes per byte.

That ratio is what legitimate calls need: a list of floats or of short strings, small
dicts of records, costs less than 24 bytes per byte; large data travels as numpy arrays
(out of band, or in line as msgpack bin / json base64 text), which cost about their size.
A body smaller than ``SCAN_THRESHOLD`` (64 KiB) is not walked: the most it can cost, about
7 MiB, is not worth the walk.
"""
import re
import struct

#: Bodies of at least this many bytes are walked before decoding.
SCAN_THRESHOLD = 1 << 16

#: The allowance: a constant, a ratio for the first bytes, then a ratio for the rest.
ALLOWANCE_BASE = 4608 << 10  # 4.5 MiB
ALLOWANCE_RATIO = 24
ALLOWANCE_RATIO_BYTES = 16 << 20
ALLOWANCE_TAIL_RATIO = 2

# CPython 3.11 sizes (sys.getsizeof, GC header included), in bytes.
_LIST = 56  # + 8 per slot, allocated for all n slots at the header
_SLOT = 8
_DICT_EMPTY = 64
_DICT_SMALL = 224  # 1 to 5 entries
_DICT_BASE, _DICT_PER_ENTRY = 160, 52  # upper bound for more than 5 entries
_INT = 32  # an int outside the cached -5..256, with allocator rounding
_FLOAT = 24
_STR_ASCII = 49  # + 1 per character
_STR_OTHER = 80  # + the UTF-8 length bounds any other string's payload
_BYTES = 33  # + 1 per byte
_EXT = 100  # msgpack ExtType: a 2-tuple and its bytes

_MIB = 1 << 20


class DecodingCostError(ValueError):
    """A request body would cost more memory to decode than its size allows."""


def allowance(size):
    """The memory, in bytes, that decoding a body of *size* bytes may cost (see module)."""
    head = min(size, ALLOWANCE_RATIO_BYTES)
    return (ALLOWANCE_BASE + ALLOWANCE_RATIO * head
            + ALLOWANCE_TAIL_RATIO * max(0, size - ALLOWANCE_RATIO_BYTES))


def check_decoding_cost(ser_type, body):
    """Raise DecodingCostError if decoding *body* (bytes or any buffer) as *ser_type*
    ('msgpack' or 'json') would cost more than ``allowance(len(body))``; bodies under
    ``SCAN_THRESHOLD`` bytes are not walked."""
    view = memoryview(body)
    size = view.nbytes
    if size < SCAN_THRESHOLD:
        return
    limit = allowance(size)
    cost = decoding_cost(ser_type, view, limit)
    if cost > limit:
        raise DecodingCostError(
            f"request body of {size} bytes ({size / _MIB:.1f} MiB, {ser_type}) would cost at "
            f"least {cost / _MIB:.1f} MiB of memory to decode, more than the allowance of "
            f"{limit / _MIB:.1f} MiB (4.5 MiB + 24 bytes per byte up to 16 MiB, then 2 per "
            "byte): send bulk data as numpy arrays or bytes (they cost about their size), "
            "or split the call")


def decoding_cost(ser_type, body, stop_above=None):
    """Estimated bytes of Python objects that decoding *body* as *ser_type* builds.

    The walk stops as soon as the estimate exceeds *stop_above* (then the value returned
    is only known to be larger), so refusing a hostile body costs no more than the
    allowance's worth of walking. Malformed bodies are estimated as far as they can be
    read: the decoder refuses them anyway.
    """
    if ser_type == "msgpack":
        return _msgpack_cost(memoryview(body).cast("B"), stop_above)
    if ser_type == "json":
        return _json_cost(memoryview(body).cast("B"))
    raise ValueError(f"no decoding cost estimate for serializer {ser_type!r}")


# -- msgpack ------------------------------------------------------------------------------

def _fixed_items():
    """For each first byte of an item whose size does not depend on its payload:
    (bytes taken, cost); None for the others."""
    table = [None] * 256
    for b in range(0x80):
        table[b] = (1, 0)  # positive fixint: cached
    for b in range(0xe0, 0x100):
        table[b] = (1, 0 if b >= 0xfb else _INT)  # negative fixint; -5..-1 cached
    table[0x80] = (1, _DICT_EMPTY)
    for b in range(0x81, 0x86):
        table[b] = (1, _DICT_SMALL)
    for b in range(0x86, 0x90):
        table[b] = (1, _DICT_BASE + _DICT_PER_ENTRY * (b & 0x0f))
    for b in range(0x90, 0xa0):
        table[b] = (1, _LIST + _SLOT * (b & 0x0f))
    table[0xa0] = (1, 0)  # the empty string
    for b in (0xc0, 0xc2, 0xc3):
        table[b] = (1, 0)  # nil, false, true
    table[0xca], table[0xcb] = (5, _FLOAT), (9, _FLOAT)
    table[0xcc] = (2, 0)  # uint8: cached or one int
    for b, size in ((0xcd, 3), (0xce, 5), (0xcf, 9), (0xd0, 2), (0xd1, 3), (0xd2, 5),
                    (0xd3, 9)):
        table[b] = (size, _INT)
    for b, size in ((0xd4, 3), (0xd5, 4), (0xd6, 6), (0xd7, 10), (0xd8, 18)):
        table[b] = (size, _EXT + size)  # fixext
    return table


_FIXED = _fixed_items()
_LENGTH = {1: struct.Struct(">B"), 2: struct.Struct(">H"), 4: struct.Struct(">I")}
# First byte -> (width of the length field, kind) for items with a length.
_SIZED = {0xd9: (1, "str"), 0xda: (2, "str"), 0xdb: (4, "str"),
          0xc4: (1, "bin"), 0xc5: (2, "bin"), 0xc6: (4, "bin"),
          0xc7: (1, "ext"), 0xc8: (2, "ext"), 0xc9: (4, "ext"),
          0xdc: (2, "array"), 0xdd: (4, "array"), 0xde: (2, "map"), 0xdf: (4, "map")}


def _dict_cost(entries):
    if entries == 0:
        return _DICT_EMPTY
    if entries <= 5:
        return _DICT_SMALL
    return _DICT_BASE + _DICT_PER_ENTRY * entries


def _str_cost(view, start, length):
    if length == 0:
        return 0
    if length <= 64 and bytes(view[start:start + length]).isascii():
        return 0 if length == 1 else _STR_ASCII + length  # one ASCII character: cached
    return _STR_OTHER + length


def _msgpack_cost(view, stop_above):
    """Walk every item of a msgpack body in order (a container's items follow its header,
    so no stack is needed) and add what each one builds."""
    fixed = _FIXED
    size = len(view)
    limit = float("inf") if stop_above is None else stop_above
    pos = cost = 0
    while pos < size:
        first = view[pos]
        item = fixed[first]
        if item is not None:
            pos += item[0]
            cost += item[1]
        elif 0xa1 <= first <= 0xbf:  # fixstr
            length = first & 0x1f
            cost += _str_cost(view, pos + 1, length)
            pos += 1 + length
        else:
            sized = _SIZED.get(first)
            if sized is None or pos + 1 + sized[0] > size:
                break  # 0xc1 (never used) or truncated: the decoder refuses it
            width, kind = sized
            length = _LENGTH[width].unpack_from(view, pos + 1)[0]
            pos += 1 + width
            if kind == "array":
                cost += _LIST + _SLOT * length
            elif kind == "map":
                cost += _dict_cost(length)
            elif kind == "str":
                cost += _str_cost(view, pos, length)
                pos += length
            elif kind == "bin":
                cost += 0 if length <= 1 else _BYTES + length
                pos += length
            else:  # ext: a type byte, then the payload
                cost += _EXT + length
                pos += 1 + length
        if cost > limit:
            break
    return cost


# -- json ---------------------------------------------------------------------------------

_BACKSLASH = re.compile(rb"\\")
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_STRING = re.compile(rb'"[^"]*"')
# A key is a string followed by ':' (json.dumps writes '": ', compact writers '":').
_KEY_MARKS = (b'"":', b'"" :')

_JSON_DICT = _DICT_BASE  # a dict's first entries; ':' counts each entry
_JSON_ENTRY = _DICT_PER_ENTRY + 12  # an entry and, amortized, a value that is a number
_JSON_ELEMENT = _SLOT + _INT  # ',' separates elements: a slot, and maybe a number
_JSON_STRING = _STR_ASCII + _SLOT  # a string value; its characters count as body bytes


def _json_cost(text):
    """Count, outside strings, the tokens that build objects; every body byte counts once
    more for the characters of strings. Linear time: escapes are removed first, so the
    remaining quotes delimit strings; no more than one copy of the body at a time."""
    if _BACKSLASH.search(text):
        text = _ESCAPE.sub(b"", text)
    skeleton, strings = _STRING.subn(b'""', text)
    keys = sum(skeleton.count(mark) for mark in _KEY_MARKS)
    return (len(text) + _JSON_DICT * skeleton.count(b"{") + _LIST * skeleton.count(b"[")
            + _JSON_ENTRY * skeleton.count(b":") + _JSON_ELEMENT * skeleton.count(b",")
            + _JSON_STRING * (strings - keys))
