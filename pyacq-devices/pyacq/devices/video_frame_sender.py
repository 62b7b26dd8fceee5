"""The thread shared by the camera nodes: pulls frames from a source and sends them.

A camera node only knows how to open its library's source and produce
``(image, timestamp)`` pairs; this module turns them into a ``video`` stream:
one (1, H, W, 3) uint8 chunk per frame, paced at the frame rate for sources
that are not live (a file plays at its real speed instead of as fast as it
decodes), and with a gap in the index wherever the timestamps show that the
source dropped frames.
"""
import logging
import threading
import time

import numpy as np
from pyacq.core import Node
from pyacq.core.node_thread import NodeThread

logger = logging.getLogger(__name__)


def video_output_spec(height, width, frame_rate):
    """The ``video`` output spec for (height, width) RGB frames at ``frame_rate`` Hz."""
    return dict(streamtype="image/video", dtype="uint8", shape=(-1, height, width, 3),
                sample_rate=float(frame_rate), nb_channel=3,
                channel_info=[{"name": "red"}, {"name": "green"}, {"name": "blue"}])


class FrameCounter:
    """Turns frame timestamps into stream indexes, counting dropped frames.

    Two frames more than 1.5 frame periods apart mean the source dropped the
    frames in between: the index skips them so that receivers see the gap.
    Frames without a timestamp (None) are taken as consecutive.
    """

    def __init__(self, frame_rate, describe):
        self.frame_rate = frame_rate
        self.describe = describe
        self.index = 0
        self.dropped_frames = 0
        self._previous_time = None

    def next_index(self, timestamp):
        """Return the index (frame number + 1) of the frame captured at ``timestamp`` s."""
        step = 1
        if timestamp is not None and self._previous_time is not None:
            step = max(1, round((timestamp - self._previous_time) * self.frame_rate))
            if step > 1:
                self.dropped_frames += step - 1
                logger.warning("%s: the source dropped %d frames (%d so far)",
                               self.describe, step - 1, self.dropped_frames)
        if timestamp is not None:
            self._previous_time = timestamp
        self.index += step
        return self.index


class FrameSenderThread(NodeThread):
    """Sends every frame of ``frames`` (an iterator of ``(image, timestamp)``) on ``output``.

    ``paced``: wait until each frame's timestamp (relative to the first one)
    has come on the monotonic clock, for files and generated sources; live
    devices are paced by the device itself. The thread ends at ``stop()`` or
    when the source is exhausted (end of file); a failure of the source or of
    the stream is reported to ``node``, which becomes ``failed``.
    """

    def __init__(self, node, frames, output, frame_rate, paced):
        describe = node._describe()
        super().__init__(node, name=f"{describe} frames")
        self.frames = frames
        self.output = output
        self.paced = paced
        self.counter = FrameCounter(frame_rate, describe)
        self.describe = describe
        self._stopping = threading.Event()

    def stop(self, timeout=10.0):
        """Ask the thread to end and wait for it; a source stuck longer than ``timeout`` is reported."""
        self._stopping.set()
        self.join(timeout)
        if self.is_alive():
            logger.error("%s: the frame source did not return within %.0f s", self.describe, timeout)

    def work(self):
        """Send each frame of the source at its index (at its time if ``paced``) until stop() or its end."""
        started = first_time = None
        for image, timestamp in self.frames:
            if self._stopping.is_set():
                return
            if self.paced:
                if started is None:
                    started, first_time = time.monotonic(), timestamp or 0.0
                if timestamp is None:
                    position = self.counter.index / self.counter.frame_rate
                else:
                    position = timestamp - first_time
                if self._stopping.wait(max(0.0, started + position - time.monotonic())):
                    return
            index = self.counter.next_index(timestamp)
            self.output.send(np.ascontiguousarray(image)[np.newaxis], index=index)
        logger.info("%s: the source has no more frames (%d sent)", self.describe,
                    self.counter.index - self.counter.dropped_frames)


class FrameSourceNode(Node):
    """Base of the camera nodes: streams the ``(image, timestamp)`` iterator
    ``self._frames`` with a :class:`FrameSenderThread` from start() to stop().

    A subclass opens its source at configure(), setting ``_frames``,
    ``frame_rate`` and ``live`` (live sources are not paced), and closes it.
    """

    _output_specs = {"video": dict(streamtype="image/video", dtype="uint8")}

    def __init__(self, **kargs):
        super().__init__(**kargs)
        self._thread = None
        self._dropped_before = 0

    @property
    def dropped_frames(self):
        """Frames the source dropped since configure(), shown as gaps in the stream."""
        running = self._thread.counter.dropped_frames if self._thread is not None else 0
        return self._dropped_before + running

    def _start(self):
        self._thread = FrameSenderThread(self, self._frames, self.output, self.frame_rate,
                                         paced=not self.live)
        self._thread.start()

    def _stop(self):
        self._thread.stop()
        self._dropped_before += self._thread.counter.dropped_frames
        self._thread = None
