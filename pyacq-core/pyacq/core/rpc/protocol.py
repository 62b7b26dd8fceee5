"""The RPC wire protocol: every constant the client and the server agree on.

Transport: ZeroMQ; the server is a ROUTER, each client a DEALER with a unique identity.

Request, as documented (what json clients and custom clients send): five frames
``[req_id, action, return_type, ser_type, opts]``. ``req_id`` is an ASCII integer
(``NO_REPLY``, -1: no reply wanted); ``action`` one of ``ACTIONS`` with the options it
reads: call_obj {obj, args, kwargs}, get_obj {obj}, get_item {name}, set_item {name,
value}, delete {obj_id, ref_id}, import {module}, ping, close; ``return_type`` one of
``RETURN_TYPES``; ``ser_type`` 'msgpack' or 'json'; ``opts`` the serialized dict of
options (empty if none).

Reply, as documented: one frame serialized the caller's way, ``{'action': 'return',
'req_id': n, 'rval': ..., 'error': None or [type name, [traceback lines]]}``. A closing
server sends every client it has seen ``{'action': 'disconnect'}``.

Out-of-band arrays (protocol version 2, an extension plain clients never see): a client
that appends the frame ``EXTENSION`` to its five frames announces that it reads
out-of-band frames, and the server's first reply to it is ``[body, EXTENSION,
buffer...]``, which in turn tells the client that the server reads them too. From then
on, each array of at least ``OUT_OF_BAND_BYTES`` travels as a frame of its own after
``EXTENSION`` (raw C-order bytes, sent and received without a copy), and the serialized
body holds its tagged dict with ``'frame': i`` (the buffer's index) in place of
``'data'``; a message without such arrays is sent without ``EXTENSION``.
"""

#: Version of the protocol this module describes (2: out-of-band array frames).
PROTOCOL_VERSION = 2

#: Request actions, as sent in the ``action`` frame.
ACTIONS = ("call_obj", "get_obj", "get_item", "set_item", "delete", "import", "ping", "close")

#: How a result comes back: 'auto' (plain data by value, anything else by proxy),
#: 'proxy' (always a proxy) or 'value' (always a copy; an error if impossible).
RETURN_TYPES = ("auto", "proxy", "value")

#: How a call waits: 'sync' (blocks for the result), 'async' (a Future), 'off' (no reply).
SYNC_MODES = ("sync", "async", "off")

#: The documented frames of a request, and where each one is.
REQUEST_FRAMES = 5
REQ_ID, ACTION, RETURN_TYPE, SER_TYPE, OPTS = range(REQUEST_FRAMES)

#: ``req_id`` of a request that wants no reply.
NO_REPLY = -1

#: The frame that announces, and separates, out-of-band buffers.
EXTENSION = b"pyacq-rpc/%d" % PROTOCOL_VERSION

#: Arrays of at least this many bytes travel out of band (smaller ones cost less in line).
OUT_OF_BAND_BYTES = 1 << 16

#: The largest request (body and out-of-band frames together, in bytes) a server accepts by
#: default (``RPCServer.max_request_size``), and so the largest a client sends
#: (``RPCClient.max_request_size``): room for the largest arrays acquisition sends in one
#: call, well under what a request may cost a server (see ``decoding_cost``).
MAX_REQUEST_SIZE = 256 << 20

#: The key of a tagged dict (a value the serialization format lacks).
TYPE_KEY = "___type_name___"


def check_call_options(sync, return_type):
    """Raise ValueError for a sync mode or return type the protocol does not know."""
    if sync not in SYNC_MODES:
        raise ValueError(f"sync must be one of {SYNC_MODES}, not {sync!r}")
    if return_type not in RETURN_TYPES:
        raise ValueError(f"return_type must be one of {RETURN_TYPES}, not {return_type!r}")


def split_extension(frames, documented):
    """Split received *frames* into ``(documented frames, buffers, extended)``.

    *documented* is how many frames the documented message has. *extended* is True when
    the sender appended ``EXTENSION`` (it reads out-of-band frames); *buffers* are the
    frames after it. Frames beyond the documented ones without ``EXTENSION`` first are
    left in the documented part, for the caller to refuse.
    """
    if len(frames) > documented and bytes(frames[documented]) == EXTENSION:
        return frames[:documented], frames[documented + 1:], True
    return frames, [], False
