"""open_recording: read back what a recorder wrote, without a running pyacq.

Raw recordings give numpy memmaps (nothing is loaded until sliced); HDF5
recordings give h5py datasets (sliced the same way); video recordings give
the per-frame table (stream index and reception time of every frame) next to
the path of the video file. Lengths come from the files themselves, so a
recording whose process was killed opens up to its last completed write.
"""
import json
import os
from dataclasses import dataclass, field

import numpy as np

from pyacq.core.stream.streamdtype import dtype_from_params

from .description import ANNOTATIONS_FILE, FRAME_TABLE_DTYPE, HDF5_FILE, PROPERTIES_FILE, sample_nbytes


@dataclass
class RecordedStream:
    """One recorded stream: ``data`` (samples, first axis time), its description, gaps, segments.

    For a video stream ``data`` is the frame table (fields ``index``, ``time``)
    and ``path`` the video file.
    """

    name: str
    data: object
    description: dict
    path: str
    gaps: list = field(default_factory=list)
    segments: list = field(default_factory=list)


class Recording(dict):
    """``{stream name: RecordedStream}`` plus the recording's ``annotations``; close() releases files."""

    def __init__(self, dirname, streams, annotations, closer=None):
        super().__init__(streams)
        self.dirname = dirname
        self.annotations = annotations
        self._closer = closer

    def close(self):
        """Close the HDF5 file of an HDF5 recording; calling it again does nothing.

        A raw or video recording holds no open file here: its memmaps are released
        when they are no longer referenced.
        """
        if self._closer is not None:
            self._closer()
            self._closer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def read_raw_samples(path, description):
    """Memmap a raw stream file; its length is the number of whole samples in the file."""
    dtype = dtype_from_params(description["dtype"])
    sample_shape = tuple(description["sample_shape"])
    n_samples = os.path.getsize(path) // sample_nbytes(description)
    if n_samples == 0:
        return np.empty((0,) + sample_shape, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(n_samples,) + sample_shape)


def _open_raw(dirname):
    with open(os.path.join(dirname, PROPERTIES_FILE), encoding="utf-8") as f:
        descriptions = json.load(f)
    with open(os.path.join(dirname, ANNOTATIONS_FILE), encoding="utf-8") as f:
        annotations = json.load(f)
    streams = {}
    for name, description in descriptions.items():
        path = os.path.join(dirname, description["file"])
        if description.get("frames_file"):
            frames_path = os.path.join(dirname, description["frames_file"])
            n = os.path.getsize(frames_path) // FRAME_TABLE_DTYPE.itemsize
            data = (np.memmap(frames_path, dtype=FRAME_TABLE_DTYPE, mode="r", shape=(n,)) if n
                    else np.empty(0, FRAME_TABLE_DTYPE))
        else:
            data = read_raw_samples(path, description)
        streams[name] = RecordedStream(name, data, description, path,
                                       annotations["gaps"].get(name, []),
                                       annotations["segments"].get(name, []))
    return Recording(dirname, streams, annotations["annotations"])


def _open_hdf5(dirname):
    import h5py
    path = os.path.join(dirname, HDF5_FILE)
    # swmr=True: a file whose writer was killed still opens, consistent up to its last flush.
    h5file = h5py.File(path, "r", swmr=True)
    try:
        streams = {}
        for name, group in h5file["streams"].items():
            description = json.loads(group["data"].attrs["description_json"])
            start_index = int(group["start_index"][()])
            description["start_index"] = None if start_index < 0 else start_index
            gaps = [{"position": int(p), "length": int(n), "index": int(i)}
                    for p, n, i in group["gaps"][()]]
            reasons = json.loads(bytes(group["segment_reasons"][()]).decode("utf-8") or "[]")
            segments = [{"position": int(p), "index": int(i), "reason": reason}
                        for (p, i), reason in zip(group["segments"][()], reasons, strict=False)]
            streams[name] = RecordedStream(name, group["data"], description, path, gaps, segments)
        annotations = json.loads(bytes(h5file["annotations_json"][()]).decode("utf-8") or "{}")
    except BaseException:
        h5file.close()
        raise
    return Recording(dirname, streams, annotations, closer=h5file.close)


def open_recording(dirname):
    """Open the recording in ``dirname`` (raw, HDF5 or video); returns a :class:`Recording`."""
    dirname = os.fspath(dirname)
    if os.path.exists(os.path.join(dirname, HDF5_FILE)):
        return _open_hdf5(dirname)
    if os.path.exists(os.path.join(dirname, PROPERTIES_FILE)):
        return _open_raw(dirname)
    if not os.path.isdir(dirname):
        raise FileNotFoundError(f"open_recording: {dirname} is not a directory")
    raise FileNotFoundError(f"open_recording: {dirname} holds no pyacq recording "
                            f"({PROPERTIES_FILE} or {HDF5_FILE})")
