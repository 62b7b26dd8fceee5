"""WebCamImageIO: a camera (or a video file/URL) as a pyacq ``video`` stream, through imageio.

imageio's ffmpeg plugin (imageio-ffmpeg, which ships its own ffmpeg binary)
reads cameras named ``'<video0>'``, ``'<video1>'``, ... and any file or URL
ffmpeg opens: an alternative to WebCamAV where PyAV is not installed.
"""
import time

import numpy as np
from pyacq.devices.video_frame_sender import FrameSourceNode, video_output_spec

try:
    import imageio
    HAVE_IMAGEIO = True
except ImportError:
    imageio = None
    HAVE_IMAGEIO = False


class WebCamImageIO(FrameSourceNode):
    """Streams a camera, a video file or a URL as (1, H, W, 3) uint8 RGB frames.

    The ``video`` output's ``sample_rate`` is the frame rate. Files are played
    at their real frame rate; cameras are paced by the camera (imageio keeps
    only the latest camera frame: each frame is sent once).

    Parameters
    ----------
    **kargs
        Node's constructor keywords (``name``, ``parent``), passed on unchanged.
    """

    def __init__(self, **kargs):
        super().__init__(**kargs)
        self._reader = None

    def _configure(self, camera_num=0, uri=None, **reader_options):
        """Open the source to learn its frame size and rate.

        The source stays open until close() (a second configure() reopens it).
        A source whose frame rate or size imageio cannot tell is refused: give
        them with ``fps=`` and ``size=``.

        Parameters
        ----------
        camera_num : int, default 0
            The camera ``'<video{camera_num}>'``, used when ``uri`` is None.
        uri : str, optional
            The source instead: a video file, a URL, or a camera name such as
            ``'<video1>'`` (frames from a camera are live; any other source
            is played at its own frame rate).
        **reader_options
            Keywords of imageio's ffmpeg reader, e.g. ``size='640x480'``
            (pixels: the frames are scaled to it), ``fps=30`` (frames per
            second) or ``input_params=[...]`` (ffmpeg arguments for the
            input). ``format`` is ``'ffmpeg'`` unless given.
        """
        if not HAVE_IMAGEIO:
            raise ImportError(f"{self._describe()} needs imageio and imageio-ffmpeg: pip install "
                              "imageio imageio-ffmpeg (or pip install pyacq-devices[imageio])")
        self._close_reader()
        source = f"<video{camera_num}>" if uri is None else str(uri)
        options = {"format": "ffmpeg", **reader_options}
        try:
            reader = imageio.get_reader(source, **options)
        except (OSError, IndexError, ValueError, RuntimeError) as error:
            raise OSError(f"{self._describe()}: cannot open video source {source!r}: {error}") from error
        meta = reader.get_meta_data()
        fps, size = meta.get("fps"), meta.get("size")
        if not fps or not size:
            reader.close()
            raise ValueError(f"{self._describe()}: video source {source!r} does not tell its "
                             f"frame rate and size (got fps={fps!r}, size={size!r}); give them "
                             "with the fps= and size= options")
        self._reader = reader
        self.camera_num, self.uri, self.source = camera_num, uri, source
        self.live = source.startswith("<video")
        self.frame_rate = float(fps)
        self.width, self.height = size
        self._frames = self._read_frames()
        self.output.spec.update(video_output_spec(self.height, self.width, self.frame_rate))

    def _read_frames(self):
        """Yield ``(image, None)``: imageio gives no timestamps. A camera frame already sent is skipped."""
        poll_interval = 0.25 / self.frame_rate
        while True:
            try:
                image = self._reader.get_next_data()
            except (IndexError, StopIteration):
                return
            if self.live and not image.meta.get("new", True):
                time.sleep(poll_interval)
                continue
            yield np.asarray(image), None

    def _close(self):
        self._close_reader()

    def _close_reader(self):
        if self._reader is not None:
            self._frames.close()
            self._reader.close()
            self._reader = None
