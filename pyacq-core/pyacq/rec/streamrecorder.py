"""StreamRecorder: what every recorder node shares (inputs, threads, gaps, stop, disk errors).

A recorder has one input per recorded stream and one thread per input that
writes each chunk as it arrives. The file format is left to subclasses
(:class:`~pyacq.rec.rawrecorder.RawRecorder`,
:class:`~pyacq.rec.hdf5recorder.HDF5Recorder`,
:class:`~pyacq.rec.avirecorder.AviRecorder`), which implement
``_open_writers``, ``_save_annotations`` and ``_close_writers``.
"""
import errno
import functools
import logging
import os
import threading
import time

from pyacq.core.node import Node, NodeStateError
from pyacq.core.node_thread import NodeThread
from pyacq.core.stream import BufferOverrunError, InputStream
from pyacq.core.streamtools.inputpoller import poll_chunks

from .description import check_json_values, describe_stream
from .errors import RecordingExistsError, RecordingWriteError
from .streamtrack import StreamTrack

logger = logging.getLogger(__name__)

#: Longest wait of a receiving thread before it checks whether to stop (ms).
POLL_TIMEOUT_MS = 100
#: stop() keeps writing chunks until none arrived for this long (ms) ...
DRAIN_QUIET_MS = 50
#: ... or for at most this long (s): chunks still streaming in after stop() are not recorded.
DRAIN_LIMIT_S = 1.0
#: Longest wait for a receiving thread to end (s).
JOIN_TIMEOUT_S = 10.0


def _stream_names(streams, describe):
    """``{input name: stream}`` from a list (names input0, input1...) or a dict of streams."""
    if isinstance(streams, dict):
        named = dict(streams)
    elif isinstance(streams, (list, tuple)):
        named = {f"input{i}": stream for i, stream in enumerate(streams)}
    else:
        raise TypeError(f"{describe}: streams must be a list of streams or a dict "
                        f"{{name: stream}}, got {type(streams).__name__}")
    if not named:
        raise ValueError(f"{describe}: streams is empty; give at least one stream to record")
    for name in named:
        if not isinstance(name, str) or not name or name.startswith(".") or any(
                sep in name for sep in ("/", "\\", os.sep)):
            raise ValueError(f"{describe}: stream name {name!r} cannot name a file; use a "
                             "non-empty name without path separators or leading dot")
    return named


#: Errors that say the disk (or the user's share of it, or the file size limit) is full.
_NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)


def _remedy(error_number, dirname):
    """What the user must do about the disk error ``error_number`` met writing into ``dirname``."""
    if error_number in _NO_ROOM:
        return f"free space on the disk holding {dirname} (or record onto another disk)"
    return f"remove the cause of this error on {dirname}"


class StreamRecorder(Node):
    """Base of the recorder nodes: ``configure(streams, autoconnect=True, dirname=...)``.

    ``streams`` is a list of OutputStreams (or proxies to them; the inputs are
    then named ``input0``, ``input1``...) or a dict ``{name: stream}``. With
    ``autoconnect=False`` connect ``recorder.inputs[name]`` yourself before
    ``initialize()``. ``dirname`` is created by configure() and must not exist.

    All chunks received before ``stop()`` are on disk when it returns. A disk
    error ends the recording. Met by a receiving thread, it is that thread's
    failure (see :mod:`pyacq.core.node`): the recorder becomes ``failed``,
    ``error`` holds the :class:`RecordingWriteError`, which was logged once, and
    the next ``stop()`` raises it; met by ``stop()`` itself (the last chunks, the
    final flush), ``stop()`` raises it. A recording that lost a chunk cannot be
    continued: ``start()`` refuses, close the recorder and record into a new
    directory.
    """

    def __init__(self, name="", parent=None):
        super().__init__(name=name, parent=parent)
        self.dirname = None
        self.annotations = {}
        self.tracks = {}
        self._streams = {}
        self._threads = []
        self._stopping = threading.Event()
        self._save_lock = threading.RLock()
        #: The RecordingWriteError that ended the recording, kept for the recorder's life.
        self._failure = None

    # -- configuration -------------------------------------------------------------

    def _configure(self, streams=None, autoconnect=True, dirname=None, **options):
        """Name the streams to record and create the directory that will hold them.

        A recorder is configured once: it records one set of streams into one
        directory, and a second configure() is refused.

        Parameters
        ----------
        streams : list or dict of OutputStream, required
            The streams to record: OutputStreams or proxies to remote ones. A
            list names the recorder's inputs (and the files) ``input0``,
            ``input1``...; a dict ``{name: stream}`` chooses the names, which
            must be non-empty and free of path separators and of a leading dot.
            An empty list or dict is refused.
        autoconnect : bool, default True
            Connect each input to its stream here. With False, ``streams`` only
            names the inputs: connect each ``recorder.inputs[name]`` yourself
            before initialize(), which refuses an unconnected input.
        dirname : str or os.PathLike, required
            The recording's directory, created here (with its missing parents).
            It must not exist yet: a recorder never writes over a recording
            (RecordingExistsError).
        **options
            Format options of the recorder class; a keyword it does not know is
            refused (TypeError). RawRecorder and HDF5Recorder take none.
            AviRecorder takes ``codec_name`` (str, default ``'h264'``): the
            FFmpeg video encoder of PyAV ('mpeg4', 'ffv1'..., an unknown name is
            refused), and ``container`` (str, default ``'avi'``): ``'avi'``
            writes ``<name>.avi``, ``'mpegts'`` writes ``<name>.ts``, which
            opens in any player after a crash but carries only the codecs
            h264, hevc, mpeg1video, mpeg2video and mpeg4.
        """
        if self.inputs:
            raise RuntimeError(f"{self._describe()}: configure() was already called; a recorder "
                               "records one set of streams into one directory")
        if streams is None or dirname is None:
            raise TypeError(f"{self._describe()}: configure() needs streams=[...] and dirname=...")
        named = _stream_names(streams, self._describe())
        self._configure_format(**options)
        dirname = os.path.abspath(os.fspath(dirname))
        if os.path.exists(dirname):
            raise RecordingExistsError(
                f"{self._describe()}: {dirname} already exists; give a new directory name "
                "(a recorder never writes over a recording)")
        inputs = {name: InputStream(node=self, name=name) for name in named}
        try:
            if autoconnect:
                for name, stream in named.items():
                    inputs[name].connect(stream)
            self._make_directory(dirname)
        except BaseException:
            for input_stream in inputs.values():
                input_stream.close()
            raise
        self.inputs.update(inputs)
        self.dirname = dirname

    def _configure_format(self, **options):
        """Accept format options (subclasses); the base accepts none."""
        if options:
            raise TypeError(f"{self._describe()}: configure() got unexpected keyword arguments "
                            f"{sorted(options)}")

    def _make_directory(self, dirname):
        try:
            os.makedirs(dirname)
        except OSError as exc:
            raise type(exc)(exc.errno, f"{self._describe()}: cannot create the recording "
                                       f"directory: {exc.strerror}", dirname) from None

    def check_input_specs(self):
        """Refuse to initialize while an input is not connected."""
        for name, input_stream in self.inputs.items():
            if not input_stream.connected:
                raise RuntimeError(f"{self._describe()}: input {name!r} is not connected; connect "
                                   "it (or configure with autoconnect=True) before initialize()")

    def _initialize(self):
        descriptions = {name: describe_stream(name, inp.params, self._describe())
                        for name, inp in self.inputs.items()}
        writers = self._open_writers(descriptions)
        self.tracks = {name: StreamTrack(name, self.inputs[name], descriptions[name], writers[name],
                                         self._save_annotations_locked)
                       for name in self.inputs}
        self._save_annotations_locked()

    # -- annotations ---------------------------------------------------------------

    def add_annotations(self, **annotations):
        """Store key/value annotations (JSON values) with the recording; allowed while running."""
        if not self.configured():
            raise RuntimeError(f"{self._describe()}: add_annotations() needs a configured recorder")
        check_json_values(self._describe(), annotations)
        with self._save_lock:
            self.annotations.update(annotations)
            if self.tracks:
                self._save_annotations()

    def _save_annotations_locked(self):
        with self._save_lock:
            self._save_annotations()

    # -- recording -----------------------------------------------------------------

    def start(self):
        """Record what arrives from now on; refused once a disk error ended the recording."""
        if self._failure is not None:
            raise NodeStateError(f"{self._describe()}: cannot start() again after a disk error ended "
                                 "the recording (node.error holds it); close() this recorder and "
                                 "record into a new directory")
        super().start()

    def _start(self):
        self._join_threads()
        self._stopping.clear()
        for track in self.tracks.values():
            track.input.empty_queue()
            track.resume()
        self._threads = [
            NodeThread(self, name=f"{self.name or 'recorder'}-{name}",
                       target=functools.partial(poll_chunks, track.input, POLL_TIMEOUT_MS, True,
                                                self._stopping.is_set, self._chunk_handler(track)))
            for name, track in self.tracks.items()
        ]
        for thread in self._threads:
            thread.start()

    def _chunk_handler(self, track):
        def handle(index, data):
            if self._failure is None:
                self._record_chunk(track, index, data)
        return handle

    def _record_chunk(self, track, index, data):
        """Write one chunk; a disk error raises the RecordingWriteError that ends the recording."""
        try:
            track.record(index, data)
        except OSError as exc:
            raise self._fail(track, exc, len(data)) from exc

    def _fail(self, track, exc, n_lost):
        """Keep (and return) the RecordingWriteError for ``exc``; the other threads stop."""
        error = RecordingWriteError(
            exc.errno, f"{self._describe()}: writing stream {track.name!r} to {track.writer.path} "
                       f"failed: {exc.strerror or exc}. The recorder stopped; {track.position} samples "
                       f"of this stream are on disk, the chunk of {n_lost} samples being written was "
                       f"lost. To record again, {_remedy(exc.errno, self.dirname)}, close() this "
                       "recorder and record into a new directory")
        with self._save_lock:
            if self._failure is None:
                self._failure = error
            self._stopping.set()
            return self._failure

    def stop(self):
        """Stop recording once every chunk already received is on disk (also a failed recorder).

        Raises RecordingWriteError if a disk error ended (or ends) the recording.
        """
        super().stop()
        if self._failure is not None:
            raise self._failure

    def _stop(self):
        self._stopping.set()
        self._join_threads()
        try:
            for track in self.tracks.values():
                self._drain(track)
            if self._failure is None:
                try:
                    self._flush_writers()
                except OSError as exc:
                    raise self._fail(next(iter(self.tracks.values())), exc, 0) from exc
        except RecordingWriteError as error:
            # Met by stop() itself, not by a receiving thread: stop() raises it (see stop()).
            logger.error("%s", error)

    def _drain(self, track):
        """Write the chunks that reached the input before stop(), without waiting for more."""
        deadline = time.monotonic() + DRAIN_LIMIT_S
        while (self._failure is None and time.monotonic() < deadline
               and track.input.poll(DRAIN_QUIET_MS)):
            try:
                index, data = track.input.recv(return_data=True)
            except BufferOverrunError:
                continue
            self._record_chunk(track, index, data)

    def _join_threads(self):
        for thread in self._threads:
            thread.join(timeout=JOIN_TIMEOUT_S)
            if thread.is_alive():
                raise RuntimeError(f"{self._describe()}: receiving thread {thread.name} did not "
                                   f"end within {JOIN_TIMEOUT_S} s")
        self._threads = []

    def _close(self):
        self._stopping.set()
        self._join_threads()
        if self.tracks:
            with self._save_lock:
                try:
                    self._save_annotations()
                except OSError as exc:
                    if self._failure is None:
                        raise
                    # The disk that ended the recording (full, say) also refuses this last
                    # save; it would change nothing: gaps, segments and annotations were
                    # saved as they came, before the samples that followed them.
                    logger.warning("%s: closing after the disk error, the recording's "
                                   "descriptions were not saved again (%s); those on disk "
                                   "are complete up to the failure", self._describe(),
                                   exc.strerror or exc)
                finally:
                    self._close_writers()

    # -- format hooks ----------------------------------------------------------------

    def _open_writers(self, descriptions):
        """Create the files; return ``{name: writer}`` (see StreamTrack for the writer API)."""
        raise NotImplementedError

    def _save_annotations(self):
        """Save descriptions, gaps, segments and annotations (called under the save lock)."""
        raise NotImplementedError

    def _flush_writers(self):
        """Make everything written so far durable (called by stop())."""
        raise NotImplementedError

    def _close_writers(self):
        """Release the files."""
        raise NotImplementedError
