"""What a recording says about each stream, and writing those descriptions safely.

The description is what an analysis tool needs to read a stream's samples
without pyacq: dtype, sample shape, sample rate, units, scale/offset, channel
names and the stream index of the first recorded sample. Every recorder stores
the same keys (JSON for raw files, attributes for HDF5).
"""
import contextlib
import json
import os

import numpy as np

from pyacq.core.stream.streamdtype import dtype_from_params, dtype_to_params
from pyacq.core.validation import channel_names

#: Files of a recording directory.
PROPERTIES_FILE = "stream_properties.json"
ANNOTATIONS_FILE = "annotations.json"
HDF5_FILE = "recording.h5"
#: dtype of the per-frame side file of video recordings: stream index and reception time.
FRAME_TABLE_DTYPE = np.dtype([("index", "<i8"), ("time", "<f8")])

#: Stream types whose samples are regularly spaced in time: a gap in them is
#: filled with zeros on disk, so file position and time stay aligned.
REGULAR_STREAMTYPES = ("analogsignal", "digitalsignal")


def channel_names_from_params(params):
    """Channel names from ``params['channel_info']`` (``[{'name': ...}]``), or None if absent."""
    info = params.get("channel_info")
    return channel_names(info) if info else None


def describe_stream(name, params, describe_node):
    """Return the description of a connected stream from its ``params``.

    A recorder needs a fixed sample shape (all axes but time): a stream whose
    shape is undeclared is refused with a ValueError naming it.
    """
    shape = params.get("shape")
    if shape is None:
        raise ValueError(f"{describe_node}: stream {name!r} declares no shape; a recorder needs "
                         "the sample shape (configure the output with shape=(-1, nb_channel))")
    dtype = dtype_from_params(params["dtype"])
    sample_shape = [int(n) for n in shape[1:]]
    streamtype = params.get("streamtype", "analogsignal")
    return {
        "name": name,
        "streamtype": streamtype,
        "dtype": dtype_to_params(dtype),
        "sample_shape": sample_shape,
        "nb_channel": int(sample_shape[0]) if len(sample_shape) == 1 else None,
        "sample_rate": params.get("sample_rate"),
        "units": params.get("units", ""),
        "scale": params.get("scale"),
        "offset": params.get("offset"),
        "channel_names": channel_names_from_params(params),
        "start_index": None,
        "gap_fill": "zeros" if streamtype in REGULAR_STREAMTYPES else "none",
    }


def sample_nbytes(description):
    """Bytes of one sample (all channels) of a described stream."""
    return dtype_from_params(description["dtype"]).itemsize * int(np.prod(description["sample_shape"]))


def write_json_atomically(path, content):
    """Replace ``path`` by ``content`` as JSON, so a reader (or a crash) never sees half a file."""
    tmp_path = f"{path}.tmp"
    try:
        with open(tmp_path, "w", encoding="utf-8") as tmp:
            json.dump(content, tmp, indent=2)
            tmp.flush()
            os.fsync(tmp.fileno())
        os.replace(tmp_path, path)
    except BaseException:
        # A full disk refused the new content: the previous file stays, the partial one goes.
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp_path)
        raise


def check_json_values(describe_node, values):
    """Refuse annotation values that JSON cannot store, naming the key."""
    for key, value in values.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{describe_node}: annotation {key!r} cannot be stored as JSON "
                            f"({exc}); use str, numbers, bools, None, lists and dicts") from None
