"""WebCamAV: a camera (or any video ffmpeg can open) as a pyacq ``video`` stream, through PyAV.

PyAV drives ffmpeg's demuxers: the platform's capture backend for cameras
(``v4l2`` on Linux, ``dshow`` on Windows, ``avfoundation`` on macOS), and
equally files, URLs and ``lavfi`` generated sources, which make tests and
playback possible without a camera.
"""
import logging
import os
import re
import sys

from pyacq.devices.video_capture_devices import find_v4l2_device
from pyacq.devices.video_frame_sender import FrameSourceNode, video_output_spec

try:
    import av
    import av.logging
    HAVE_AV = True
except ImportError:
    av = None
    HAVE_AV = False

logger = logging.getLogger(__name__)

#: ffmpeg's capture backend for cameras on each platform.
PLATFORM_CAPTURE_FORMATS = {"linux": "v4l2", "win32": "dshow", "darwin": "avfoundation"}

#: Demuxers of live sources: the device paces the frames, the node must not.
LIVE_FORMATS = {"v4l2", "video4linux2", "dshow", "vfwcap", "avfoundation", "android_camera",
                "x11grab", "gdigrab", "kmsgrab", "fbdev"}


def get_device_list_dshow(platform=sys.platform):
    """Names of the DirectShow video devices (cameras), as ffmpeg's ``list_devices`` logs
    them; an empty list off Windows, where DirectShow does not exist."""
    if platform != "win32":
        return []
    with av.logging.Capture() as logs:
        try:
            av.open("dummy", format="dshow", options={"list_devices": "true"}).close()
        except av.FFmpegError:
            pass  # listing always ends with an "I/O error": the names are in the log
    return [match.group(1) for _, _, line in logs
            for match in [re.match(r'\s*"([^"]+)"\s*\(video\)', line)] if match]


def capture_source(camera_num, camera_name, options, platform=sys.platform):
    """Return ``(file, format)`` for ``av.open``; ``options['format']``, when given, is used as is.

    ``camera_name`` is a camera's name (card name on Linux, DirectShow or
    AVFoundation name elsewhere), a device path, a file (any name with a path
    separator, or that exists), a URL or, with a
    ``format`` option, anything that demuxer opens (e.g. a ``lavfi`` graph).
    Without a name, ``camera_num`` picks the platform's N-th camera.
    """
    fmt = options.get("format")
    system = "linux" if platform.startswith("linux") else platform
    capture_format = PLATFORM_CAPTURE_FORMATS.get(system)
    if fmt is not None:
        if camera_name is not None:
            return camera_name, fmt
        return (f"/dev/video{camera_num}" if fmt in ("v4l2", "video4linux2") else str(camera_num)), fmt
    if camera_name is None:
        if system == "linux":
            return f"/dev/video{camera_num}", "v4l2"
        if system == "darwin":
            return str(camera_num), "avfoundation"
        if system == "win32":
            names = get_device_list_dshow(platform)
            if not 0 <= camera_num < len(names):
                raise ValueError(f"no camera number {camera_num}: DirectShow lists {names}")
            return f"video={names[camera_num]}", "dshow"
        raise ValueError(f"no known camera backend on {platform!r}: give camera_name and format")
    if system == "linux" and re.fullmatch(r"/dev/video\d+", camera_name):
        return camera_name, "v4l2"
    if os.path.exists(camera_name) or "://" in camera_name or os.sep in camera_name or "/" in camera_name:
        return camera_name, None
    if system == "linux":
        path = find_v4l2_device(camera_name)
        if path is None:
            raise ValueError(f"no V4L2 camera named {camera_name!r} and no such file")
        return path, "v4l2"
    if system == "win32":
        return f"video={camera_name}", "dshow"
    return camera_name, capture_format


class WebCamAV(FrameSourceNode):
    """Streams a camera, or any video source ffmpeg opens, as (1, H, W, 3) uint8 RGB frames.

    The ``video`` output's ``sample_rate`` is the frame rate. Live cameras
    are paced by the camera; files and generated sources are played at their
    real frame rate. Frames the source dropped (a jump in the timestamps)
    are counted in ``dropped_frames`` and appear as a gap in the stream.

    Parameters
    ----------
    **kargs
        Node's constructor keywords (``name``, ``parent``), passed on unchanged.
    """

    def __init__(self, **kargs):
        super().__init__(**kargs)
        self._container = None

    def _configure(self, camera_num=0, camera_name=None, **av_options):
        """Open the camera to learn its frame size and rate.

        The source is opened here and stays open until close() (a second
        configure() reopens it), so an absent camera or a wrong option fails at
        this call. A source that does not tell its frame rate is refused: give
        one with ``framerate=``.

        Parameters
        ----------
        camera_num : int, default 0
            Which camera of the platform, used when ``camera_name`` is None:
            ``/dev/video<camera_num>`` on Linux, the N-th AVFoundation device
            on macOS, the N-th DirectShow device ffmpeg lists on Windows.
        camera_name : str, optional
            The source by name instead: a camera's name (its V4L2 card name
            on Linux, its DirectShow or AVFoundation name elsewhere), a device
            path such as ``'/dev/video2'``, a video file, a URL, or, with the
            ``format`` option, whatever that demuxer opens (a ``lavfi`` graph
            such as ``'testsrc=size=320x240:rate=30'`` for a camera-free test).
            See :func:`capture_source`.
        **av_options
            ``format``: the ffmpeg demuxer (``'v4l2'``, ``'dshow'``,
            ``'avfoundation'``, ``'lavfi'``...), chosen from the platform and
            the name by default. Every other keyword is an option of that
            demuxer, passed to ffmpeg as text, e.g. ``framerate=30`` (frames
            per second), ``video_size='640x480'`` (pixels), or
            ``input_format='mjpeg'`` (the camera's compressed mode, for a
            higher frame rate over USB).
        """
        if not HAVE_AV:
            raise ImportError(f"{self._describe()} needs PyAV: pip install av "
                              "(or pip install pyacq-devices[av])")
        self._close_container()
        self._dropped_before = 0
        file, fmt = capture_source(camera_num, camera_name, av_options)
        options = {key: str(value) for key, value in av_options.items() if key != "format"}
        source = f"{file!r}" + (f" (ffmpeg format {fmt!r})" if fmt else "")
        try:
            container = av.open(file, format=fmt, options=options)
        except av.FFmpegError as error:
            raise OSError(f"{self._describe()}: cannot open video source {source}: {error}") from error
        if not container.streams.video:
            container.close()
            raise ValueError(f"{self._describe()}: video source {source} has no video stream")
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate:
            container.close()
            raise ValueError(f"{self._describe()}: video source {source} does not tell its frame "
                             "rate; give one with the framerate= option")
        stream.thread_type = "AUTO"
        self._container, self._stream = container, stream
        self._frames = self._decoded_frames()
        self.camera_num, self.camera_name, self.source = camera_num, camera_name, file
        self.live = (fmt or container.format.name) in LIVE_FORMATS
        self.frame_rate = float(rate)
        self.height, self.width = stream.codec_context.height, stream.codec_context.width
        self.output.spec.update(video_output_spec(self.height, self.width, self.frame_rate))

    def _decoded_frames(self):
        for frame in self._container.decode(self._stream):
            yield frame.to_ndarray(format="rgb24"), frame.time

    def _close(self):
        self._close_container()

    def _close_container(self):
        if self._container is not None:
            self._frames.close()
            self._container.close()
            self._container = None
