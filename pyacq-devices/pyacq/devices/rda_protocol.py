"""The Brain Products "Remote Data Access" (RDA) wire format, both directions.

The BrainAmpSocket node decodes it and the RDA simulator encodes it; keeping
both here means one definition of every byte. All values are little-endian.
A message is a 24-byte header (16-byte GUID, ``uint32 nSize`` of the whole
message, ``uint32 nType``) followed by a body whose layout depends on the type.
"""
import math
import struct

import numpy as np

#: {4358458E-C996-4C86-AF4A-98BBF6C91450} as it appears on the wire.
RDA_GUID = bytes.fromhex("8e45584396c9864caf4a98bbf6c91450")

MSG_START = 1
MSG_DATA_INT16 = 2
MSG_STOP = 3
MSG_DATA_FLOAT32 = 4
MSG_KEEPALIVE = 10000

#: Sample dtype of each data message type.
DATA_DTYPES = {MSG_DATA_INT16: np.dtype("<i2"), MSG_DATA_FLOAT32: np.dtype("<f4")}

HEADER = struct.Struct("<16sII")
DATA_HEAD = struct.Struct("<III")
MARKER_HEAD = struct.Struct("<IIIi")

#: The events a BrainAmpSocket emits on its ``triggers`` output: ``index`` is
#: the absolute sample index of the marker in the ``signals`` stream.
MARKER_DTYPE = np.dtype([("index", "<i8"), ("points", "<i8"), ("channel", "<i4"),
                         ("type", "S32"), ("description", "S64")])


class RDAProtocolError(ValueError):
    """Bytes that do not follow the RDA protocol."""


def parse_header(header):
    """Return ``(nSize, nType)`` of a 24-byte header; reject a wrong GUID or a too small size."""
    if len(header) != HEADER.size:
        raise RDAProtocolError(f"RDA header of {len(header)} bytes (expected {HEADER.size})")
    guid, size, msg_type = HEADER.unpack(header)
    if guid != RDA_GUID:
        raise RDAProtocolError(
            f"bad RDA GUID {guid.hex()} (expected {RDA_GUID.hex()}): the peer does not speak RDA"
        )
    if size < HEADER.size:
        raise RDAProtocolError(f"RDA message size {size} is smaller than its {HEADER.size}-byte header")
    return size, msg_type


def parse_start(body):
    """Decode a start message body into ``(sample_rate, resolutions, channel_names)``."""
    if len(body) < 12:
        raise RDAProtocolError(f"RDA start message body of {len(body)} bytes is too short")
    nb_channel, interval_us = struct.unpack_from("<Id", body)
    # NaN fails both comparisons; an infinite interval gives a rate of 0, a subnormal one inf.
    rate = 1e6 / interval_us if 0 < interval_us < math.inf else math.nan
    if nb_channel == 0 or not 0 < rate < math.inf:
        raise RDAProtocolError(
            f"RDA start message announces {nb_channel} channels at a sampling interval of "
            f"{interval_us} us"
        )
    end = 12 + 8 * nb_channel
    if len(body) < end:
        raise RDAProtocolError(
            f"RDA start message for {nb_channel} channels is truncated ({len(body)} bytes)"
        )
    resolutions = np.frombuffer(body, dtype="<f8", count=nb_channel, offset=12).copy()
    names = body[end:].split(b"\x00")
    if len(names) < nb_channel + 1:
        raise RDAProtocolError(f"RDA start message: fewer than {nb_channel} channel names")
    channel_names = [name.decode("latin-1") for name in names[:nb_channel]]
    return rate, resolutions, channel_names


def parse_data(body, msg_type, nb_channel):
    """Decode a data message body into ``(block, values, markers)``.

    ``values`` has shape (nPoints, nb_channel) and the message's sample dtype;
    ``markers`` is a MARKER_DTYPE array whose ``index`` holds the position
    relative to the block. Counts the message declares are checked against its
    length before anything is allocated for them.
    """
    if msg_type not in DATA_DTYPES:
        raise RDAProtocolError(f"RDA message type {msg_type} is not a data block")
    if len(body) < DATA_HEAD.size:
        raise RDAProtocolError(f"RDA data message body of {len(body)} bytes is too short")
    block, n_points, n_markers = DATA_HEAD.unpack_from(body)
    dtype = DATA_DTYPES[msg_type]
    end = DATA_HEAD.size + n_points * nb_channel * dtype.itemsize
    if len(body) < end:
        raise RDAProtocolError(
            f"RDA data block {block}: {n_points} points x {nb_channel} channels need "
            f"{end} bytes, the message has {len(body)}"
        )
    if n_markers * MARKER_HEAD.size > len(body) - end:
        raise RDAProtocolError(
            f"RDA data block {block}: {n_markers} markers need at least "
            f"{n_markers * MARKER_HEAD.size} bytes, {len(body) - end} are left"
        )
    values = np.frombuffer(body, dtype=dtype, count=n_points * nb_channel,
                           offset=DATA_HEAD.size).reshape(n_points, nb_channel)
    markers = np.zeros(n_markers, dtype=MARKER_DTYPE)
    offset = end
    for i in range(n_markers):
        if offset + MARKER_HEAD.size > len(body):
            raise RDAProtocolError(f"RDA data block {block}: marker list is truncated")
        size, position, points, channel = MARKER_HEAD.unpack_from(body, offset)
        strings = body[offset + MARKER_HEAD.size:offset + size].split(b"\x00")
        if size < MARKER_HEAD.size or offset + size > len(body) or len(strings) < 3:
            raise RDAProtocolError(f"RDA data block {block}: malformed marker of {size} bytes")
        markers[i] = (position, points, channel, strings[0], strings[1])
        offset += size
    return block, values, markers


def encode_message(msg_type, body=b""):
    """Prefix ``body`` with the RDA header."""
    return HEADER.pack(RDA_GUID, HEADER.size + len(body), msg_type) + body


def encode_start(sample_rate, resolutions, channel_names):
    """A complete start message."""
    body = struct.pack("<Id", len(channel_names), 1e6 / sample_rate)
    body += np.asarray(resolutions, dtype="<f8").tobytes()
    body += b"".join(name.encode("latin-1") + b"\x00" for name in channel_names)
    return encode_message(MSG_START, body)


def encode_marker(position, points, channel, marker_type, description):
    """One marker record of a data message."""
    strings = marker_type.encode("latin-1") + b"\x00" + description.encode("latin-1") + b"\x00"
    return MARKER_HEAD.pack(MARKER_HEAD.size + len(strings), position, points, channel) + strings


def encode_data(block, values, markers=(), msg_type=MSG_DATA_FLOAT32):
    """A complete data message; ``markers`` are ``(position, points, channel, type, description)``."""
    values = np.ascontiguousarray(values, dtype=DATA_DTYPES[msg_type])
    body = DATA_HEAD.pack(block, values.shape[0], len(markers)) + values.tobytes()
    body += b"".join(encode_marker(*marker) for marker in markers)
    return encode_message(msg_type, body)
