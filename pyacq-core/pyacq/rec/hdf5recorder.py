"""HDF5Recorder: every stream into one HDF5 file (h5py, extra ``pyacq-core[hdf5]``).

Layout of ``<dirname>/recording.h5``::

    /streams/<name>/data             samples, resizable along time, chunked;
                                     attributes: the stream description
                                     (each key, plus ``description_json``)
    /streams/<name>/start_index      stream index of the first sample (-1 until it arrives)
    /streams/<name>/gaps             (n, 3) int64: file position, length, stream index
    /streams/<name>/segments         (n, 2) int64: file position, stream index
    /streams/<name>/segment_reasons  JSON list of why each segment started (bytes)
    /annotations_json                JSON of add_annotations() (bytes)

The file is written in SWMR mode (single writer, multiple readers) and
flushed after every chunk, so it can be read while recording and stays
readable up to its last chunk if the process is killed. Such a file opens
with ``h5py.File(path, 'r', swmr=True)`` (``open_recording`` does that); other
tools may need ``h5clear -s`` on it first.
"""
import json
import logging
import os
import re
import threading

import numpy as np

from pyacq.core.stream.streamdtype import dtype_from_params

from .description import HDF5_FILE
from .streamrecorder import StreamRecorder

try:
    import h5py
    HAVE_H5PY = True
except ImportError:
    h5py = None
    HAVE_H5PY = False

logger = logging.getLogger(__name__)

#: Target size of one HDF5 chunk (bytes).
CHUNK_BYTES = 1 << 18


#: How HDF5 names the system error under a failed write ("errno = 28, error message = '...'").
_HDF5_ERRNO = re.compile(r"errno = (\d+), error message = '([^']*)'")


def _as_os_error(exc):
    """A disk error met by h5py, as an OSError carrying the system's errno where HDF5 gives one.

    h5py reports a failed write as a RuntimeError (or an OSError without errno)
    whose text holds HDF5's error stack; the errno in it (ENOSPC for a full
    disk) is what tells the user what to do, so it is taken from there.
    """
    if isinstance(exc, OSError) and exc.errno is not None:
        return exc
    found = _HDF5_ERRNO.search(str(exc))
    if found is None:
        return exc if isinstance(exc, OSError) else OSError(None, f"HDF5 write failed: {exc}")
    operation = str(exc).split(" (", 1)[0]
    return OSError(int(found.group(1)), f"{found.group(2)} (HDF5: {operation})")


def _description_attributes(description):
    """Description keys as HDF5 attributes; values HDF5 cannot hold (None, dicts) are left out."""
    attrs = {"description_json": json.dumps(description)}
    for key, value in description.items():
        if value is None or isinstance(value, dict):
            continue
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            value = np.array(value, dtype=h5py.string_dtype())
        attrs[key] = value
    return attrs


def _write_resizable(dataset, values):
    values = np.asarray(values, dtype=dataset.dtype).reshape((-1,) + dataset.shape[1:])
    dataset.resize(values.shape)
    if len(values):
        dataset[...] = values
    dataset.flush()


def _write_json(dataset, content):
    _write_resizable(dataset, np.frombuffer(json.dumps(content).encode("utf-8"), np.uint8))


class HDF5StreamWriter:
    """Appends one stream's samples to its dataset; every call is a flushed, complete write."""

    def __init__(self, h5file, lock, group, description):
        self.path = f"{h5file.filename}:{group.name}/data"
        self._lock = lock
        self.group = group
        dtype = dtype_from_params(description["dtype"])
        sample_shape = tuple(description["sample_shape"])
        sample_bytes = dtype.itemsize * int(np.prod(sample_shape))
        rows = max(1, CHUNK_BYTES // max(1, sample_bytes))
        self.data = group.create_dataset("data", shape=(0,) + sample_shape, dtype=dtype,
                                         maxshape=(None,) + sample_shape,
                                         chunks=(rows,) + sample_shape, fillvalue=np.zeros((), dtype))
        self.data.attrs.update(_description_attributes(description))
        group.create_dataset("start_index", data=np.int64(-1))
        gaps = group.create_dataset("gaps", shape=(0, 3), maxshape=(None, 3), dtype="<i8", chunks=(64, 3))
        gaps.attrs["columns"] = np.array(["position", "length", "index"], dtype=h5py.string_dtype())
        segments = group.create_dataset("segments", shape=(0, 2), maxshape=(None, 2), dtype="<i8",
                                        chunks=(64, 2))
        segments.attrs["columns"] = np.array(["position", "index"], dtype=h5py.string_dtype())
        group.create_dataset("segment_reasons", shape=(0,), maxshape=(None,), dtype=np.uint8,
                             chunks=(1024,))
        self._size = 0

    def write(self, data, index=None):
        """Append a chunk (``index``, the stream index after it, is tracked by StreamTrack)."""
        with self._lock:
            try:
                self.data.resize(self._size + len(data), axis=0)
                self.data[self._size:] = data
                self.data.flush()
            except Exception as exc:
                self._shrink_back()
                raise _as_os_error(exc) from exc
            self._size += len(data)

    def _shrink_back(self):
        """After a failed write, give the dataset back its last complete length if the file allows."""
        try:
            self.data.resize(self._size, axis=0)
            self.data.flush()
        except Exception:
            logger.exception("%s: could not shrink back to %d samples after a failed write",
                             self.path, self._size)

    def fill(self, n_samples):
        """Extend with zeros: unwritten HDF5 chunks read as the fill value and take no space."""
        with self._lock:
            try:
                self.data.resize(self._size + n_samples, axis=0)
                self.data.flush()
            except Exception as exc:
                raise _as_os_error(exc) from exc
            self._size += n_samples

    def save_track(self, track):
        """Write the track's start index, gaps and segments (caller holds the lock)."""
        start_index = track.description["start_index"]
        self.group["start_index"][()] = -1 if start_index is None else start_index
        self.group["start_index"].flush()
        _write_resizable(self.group["gaps"], [[g["position"], g["length"], g["index"]] for g in track.gaps])
        _write_resizable(self.group["segments"], [[s["position"], s["index"]] for s in track.segments])
        _write_json(self.group["segment_reasons"], [s["reason"] for s in track.segments])


class HDF5Recorder(StreamRecorder):
    """Records every input stream into ``<dirname>/recording.h5`` (see the module docstring).

    ``configure(streams=[...] or {name: stream}, autoconnect=True, dirname=...)``.
    """

    def _configure_format(self, **options):
        if not HAVE_H5PY:
            raise ImportError(f"{self._describe()} needs h5py: pip install h5py "
                              "(or pip install 'pyacq-core[hdf5]')")
        super()._configure_format(**options)

    def _open_writers(self, descriptions):
        self._h5lock = threading.Lock()
        self._h5file = h5py.File(os.path.join(self.dirname, HDF5_FILE), "w-", libver="latest")
        try:
            streams = self._h5file.create_group("streams")
            writers = {name: HDF5StreamWriter(self._h5file, self._h5lock, streams.create_group(name),
                                              description)
                       for name, description in descriptions.items()}
            self._h5file.create_dataset("annotations_json", shape=(0,), maxshape=(None,),
                                        dtype=np.uint8, chunks=(1024,))
            # From here on the file structure is fixed; readers may open it at any time.
            self._h5file.swmr_mode = True
        except BaseException:
            self._h5file.close()
            raise
        return writers

    def _save_annotations(self):
        with self._h5lock:
            try:
                for track in self.tracks.values():
                    track.writer.save_track(track)
                _write_json(self._h5file["annotations_json"], self.annotations)
            except Exception as exc:
                raise _as_os_error(exc) from exc

    def _flush_writers(self):
        with self._h5lock:
            try:
                self._h5file.flush()
            except Exception as exc:
                raise _as_os_error(exc) from exc

    def _close_writers(self):
        with self._h5lock:
            self._h5file.close()
