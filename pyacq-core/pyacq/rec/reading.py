"""open_recording: read back what a recorder wrote, without a running pyacq.

Raw recordings give numpy memmaps (nothing is loaded until sliced); HDF5
recordings give h5py datasets (sliced the same way); video recordings give
the per-frame table (stream index and reception time of every frame) next to
the path of the video file. Lengths come from the files themselves, so a
recording whose process was killed opens up to its last completed write.
"""
import json
import os

import numpy as np

from pyacq.core.stream.streamdtype import dtype_from_params

from .description import ANNOTATIONS_FILE, FRAME_TABLE_DTYPE, HDF5_FILE, PROPERTIES_FILE, sample_nbytes


class RecordedStream:
    """One recorded stream: ``data`` (samples, first axis time), its description, gaps, segments.

    For a video stream ``data`` is the frame table (fields ``index``, ``time``)
    and ``path`` the video file. Once its :class:`Recording` is closed,
    ``data`` raises ValueError; the rest, read into memory, stays readable.

    :func:`open_recording` makes these; the parameters are its attributes.

    Parameters
    ----------
    name : str
        The stream's name in the recording.
    data : numpy.memmap or h5py.Dataset
        The samples (time on axis 0), or a video's frame table.
    description : dict
        What the recorder wrote about the stream (dtype, sample shape, sample rate,
        units, ...).
    path : str
        The file holding the samples (``file.h5:/group/data`` for HDF5), or the video file.
    gaps : list of dict, optional
        Each gap the recorder saw: ``{'position', 'length', 'index'}``, the position
        in ``data`` where samples were lost, how many, and the stream index after
        them. Default: none.
    segments : list of dict, optional
        Each restart of the stream: ``{'position', 'index', 'reason'}``. Default: none.
    """

    def __init__(self, name, data, description, path, gaps=None, segments=None):
        self.name = name
        self.description = description
        self.path = path
        self.gaps = [] if gaps is None else gaps
        self.segments = [] if segments is None else segments
        self._data = data
        self._closed_in = None

    @property
    def data(self):
        """The samples (a numpy memmap or an h5py dataset, time on axis 0); ValueError once closed."""
        if self._closed_in is not None:
            raise ValueError(f"stream {self.name!r} of the recording {self._closed_in} is closed; "
                             "open_recording() it again to read its data")
        return self._data

    def _release(self, dirname):
        """Drop the data: its file is released once no array taken from it is left."""
        self._data, self._closed_in = None, dirname

    def __repr__(self):
        state = f"closed ({self._closed_in})" if self._closed_in is not None else self.path
        return f"<RecordedStream {self.name!r} {state}>"


class Recording(dict):
    """``{stream name: RecordedStream}`` plus the recording's ``annotations``; close() releases files.

    Use it in a ``with`` block, or call :meth:`close`.

    Parameters
    ----------
    dirname : str
        The recording's directory.
    streams : dict
        ``{stream name: RecordedStream}``.
    annotations : dict
        The annotations the recorder was given (``recorder.annotations``).
    closer : callable, optional
        Called by :meth:`close` to release a file the streams share (an HDF5 file).
    """

    def __init__(self, dirname, streams, annotations, closer=None):
        super().__init__(streams)
        self.dirname = dirname
        self.annotations = annotations
        self.closed = False
        self._closer = closer

    def close(self):
        """Release the recording's files; its streams' ``data`` then raise ValueError.

        An HDF5 file is closed. A raw stream's or a video's frame-table memmap is
        dropped, so its mapping and descriptor go as soon as no array the caller
        took from it (a slice) is left: such an array stays valid, since unmapping
        the memory under it would crash the process that reads it. Calling close()
        again does nothing.
        """
        if self.closed:
            return
        self.closed = True
        for stream in self.values():
            stream._release(self.dirname)
        if self._closer is not None:
            closer, self._closer = self._closer, None
            closer()

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
    """Open the recording in ``dirname`` (raw, HDF5 or video); returns a :class:`Recording`.

    Parameters
    ----------
    dirname : str or os.PathLike
        The directory a recorder was configured with (``dirname=``).
    """
    dirname = os.fspath(dirname)
    if os.path.exists(os.path.join(dirname, HDF5_FILE)):
        return _open_hdf5(dirname)
    if os.path.exists(os.path.join(dirname, PROPERTIES_FILE)):
        return _open_raw(dirname)
    if not os.path.isdir(dirname):
        raise FileNotFoundError(f"open_recording: {dirname} is not a directory")
    raise FileNotFoundError(f"open_recording: {dirname} holds no pyacq recording "
                            f"({PROPERTIES_FILE} or {HDF5_FILE})")
