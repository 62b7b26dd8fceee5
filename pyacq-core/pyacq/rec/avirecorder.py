"""AviRecorder: video streams to video files through PyAV (extra ``pyacq-core[av]``).

A video stream (uint8 samples of shape (H, W, 3) RGB or (H, W) grey) becomes
``<dirname>/<name>.avi`` (``<name>.ts`` with ``container='mpegts'``), encoded
with ``codec_name`` at the stream's
``sample_rate``, each frame stamped with its stream index (a gap leaves a hole
in the timeline instead of shifting later frames). Next to it,
``<name>_frames.raw`` holds one record per frame: its stream index and the
time (``time.time()``) it was received (dtype ``FRAME_TABLE_DTYPE``).
``stream_properties.json`` and ``annotations.json`` are those of
RawRecorder.

What survives a killed process (SIGKILL, power loss of the machine aside):
packets are flushed to the file as they are encoded, with a zero-latency
encoder setting for h264/h265 (no frame held back for B-frames or
look-ahead), so every frame whose chunk the recorder had taken (its stream
index reached ``tracks[name].expected``) is in the file and in the frame
table. What is missing from an AVI file is what the container writes at
the end: its index (``idx1``) and the frame counts of its header.
FFmpeg-based readers (PyAV, ffmpeg, OpenCV, imageio) decode such a file to
its last frame, scanning it instead of using the index; readers that insist
on the index (some Windows players) need it rebuilt (``ffmpeg -i cam.avi -c
copy fixed.avi``). An MPEG transport stream has no index and no trailer: it
is meant to be cut anywhere, so choose ``container='mpegts'`` (codecs
:data:`MPEGTS_CODECS`) when the files must open in any player after a crash.
(Matroska is not offered: its muxer keeps the last frame in memory until the
next one comes, so a crash loses it.) An encoder that keeps frames back
whatever its options (e.g. one with B-frames) loses those it held.
``stop()`` also fsyncs the video file and the frame table, so the frames
recorded until then survive a power loss as well, the container's end
aside.
"""
import os
import time
from fractions import Fraction

import numpy as np

from .description import FRAME_TABLE_DTYPE
from .rawfile import RawStreamFile
from .rawrecorder import RawRecorder

try:
    import av
except ImportError:  # AviRecorder.configure() says what to install
    HAVE_AV = False
else:
    HAVE_AV = True

#: Frame rate used when a video stream does not declare its sample_rate.
DEFAULT_FRAME_RATE = 30
#: Encoder options that make an encoder hand out every frame at once (nothing held back).
LOW_LATENCY_OPTIONS = {"libx264": {"tune": "zerolatency"}, "libx265": {"tune": "zerolatency"}}
#: Containers a user can choose: FFmpeg format name -> file extension.
CONTAINERS = {"avi": "avi", "mpegts": "ts"}
#: Video codecs (FFmpeg codec names) an MPEG transport stream carries.
MPEGTS_CODECS = ("h264", "hevc", "mpeg1video", "mpeg2video", "mpeg4")


class VideoStreamWriter:
    """Encodes one stream's frames into a video file and logs each frame in the frame table."""

    def __init__(self, path, frames_path, description, codec_name, container="avi"):
        self.path = path
        height, width = description["sample_shape"][:2]
        self._pixel_format = "rgb24" if len(description["sample_shape"]) == 3 else "gray"
        rate = description["sample_rate"] or DEFAULT_FRAME_RATE
        self._time_base = 1 / Fraction(rate).limit_denominator(1001 * 1000)
        self._frames = RawStreamFile(frames_path, FRAME_TABLE_DTYPE.itemsize)
        # flush_packets: every packet reaches the file when muxed, not when a buffer fills.
        self._container = av.open(path, "w", format=container, options={"flush_packets": "1"})
        try:
            codec = av.codec.Codec(codec_name, "w")
            self._stream = self._container.add_stream(
                codec_name, rate=1 / self._time_base, options=LOW_LATENCY_OPTIONS.get(codec.name, {}))
            self._stream.width, self._stream.height = width, height
            formats = [f.name for f in (codec.video_formats or ())]
            self._stream.pix_fmt = "yuv420p" if "yuv420p" in formats or not formats else formats[0]
            self._stream.time_base = self._time_base
        except BaseException:
            self._container.close()
            self._frames.close()
            raise
        self._next_index = None
        self._closed = False

    def write(self, data, index):
        """Encode the frames of a chunk ending at stream index ``index``."""
        n = len(data)
        table = np.empty(n, FRAME_TABLE_DTYPE)
        table["index"] = np.arange(index - n, index)
        table["time"] = time.time()
        for frame_index, image in zip(table["index"], data, strict=True):
            if self._next_index is not None and frame_index < self._next_index:
                frame_index = self._next_index
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format=self._pixel_format)
            frame.pts, frame.time_base = int(frame_index), self._time_base
            self._container.mux(self._stream.encode(frame))
            self._next_index = int(frame_index) + 1
        self._frames.write(table)

    def flush(self):
        """Make the frames encoded so far and the frame table durable (``fsync``).

        Every muxed packet is already in the video file (``flush_packets``);
        PyAV gives no access to the descriptor FFmpeg writes through, so the
        file is fsynced through a descriptor of its own (an fsync reaches the
        file, whichever descriptor names it). What the container writes only
        at close() (an AVI's index and frame counts) is not there yet.
        """
        self._frames.flush()
        fd = os.open(self.path, os.O_WRONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def close(self):
        """Encode the frames the encoder still holds, then close the video file and the frame table.

        Calling it again does nothing.
        """
        if self._closed:
            return
        self._closed = True
        try:
            self._container.mux(self._stream.encode())
        finally:
            self._container.close()
            self._frames.close()


class AviRecorder(RawRecorder):
    """Records video streams to ``<dirname>/<name>.avi`` (see the module docstring).

    ``configure(streams=[...] or {name: stream}, autoconnect=True, dirname=...,
    codec_name='h264', container='avi')``; any encoder of PyAV's FFmpeg works
    ('mpeg4', 'ffv1'...) in AVI; ``container='mpegts'`` (``.ts``, for h264,
    hevc, mpeg1/2video, mpeg4) is the choice when files must open in any
    player after a crash.
    """

    def _configure_format(self, codec_name="h264", container="avi", **options):
        if not HAVE_AV:
            raise ImportError(f"{self._describe()} needs PyAV: pip install av "
                              "(or pip install 'pyacq-core[av]')")
        if container not in CONTAINERS:
            raise ValueError(f"{self._describe()}: container must be one of {list(CONTAINERS)}, "
                             f"got {container!r}")
        super()._configure_format(**options)
        try:
            codec = av.codec.Codec(codec_name, "w")
        except ValueError as exc:
            raise ValueError(f"{self._describe()}: no video encoder {codec_name!r} in PyAV's "
                             f"FFmpeg ({exc})") from None
        if container == "mpegts" and codec.canonical_name not in MPEGTS_CODECS:
            raise ValueError(f"{self._describe()}: container 'mpegts' carries the codecs "
                             f"{list(MPEGTS_CODECS)}, not {codec_name!r}")
        self.container = container
        self.codec_name = codec_name

    def _open_writers(self, descriptions):
        writers = {}
        try:
            for name, description in descriptions.items():
                shape, dtype = description["sample_shape"], np.dtype(description["dtype"])
                if dtype != np.uint8 or len(shape) not in (2, 3) or (len(shape) == 3 and shape[2] != 3):
                    raise ValueError(f"{self._describe()}: stream {name!r} is not video: samples "
                                     f"{dtype} of shape {tuple(shape)}, expected uint8 (H, W, 3) "
                                     "or (H, W)")
                description.update(file=f"{name}.{CONTAINERS[self.container]}",
                                   frames_file=f"{name}_frames.raw", codec_name=self.codec_name,
                                   container=self.container, gap_fill="none")
                writers[name] = VideoStreamWriter(os.path.join(self.dirname, description["file"]),
                                                  os.path.join(self.dirname, description["frames_file"]),
                                                  description, self.codec_name, self.container)
        except BaseException:
            for writer in writers.values():
                writer.close()
            raise
        return writers
