"""ImageViewer: shows the latest frame of one video stream, or of several in a grid."""
import math

import numpy as np
import pyqtgraph as pg
from pyacq.core.validation import check_int, connected_input_params
from pyqtgraph.Qt import QtCore

from .pollers import LatestChunkPoller, stop_poller
from .viewernode import ViewerNode
from .viewerparams import install_validation, make_params


class ImageViewer(ViewerNode):
    """A simple image viewer using pyqtgraph.

    The input is a video stream shaped (time, height, width) for grey
    frames or (time, height, width, channels) with 3 (RGB) or 4 (RGBA)
    channels. A poller thread keeps only the newest frame; a QTimer draws it
    every ``params['refresh_interval']`` ms, so a camera faster than the
    screen costs no drawing. Frames are shown upright (row 0 at the top)
    with square pixels; uint8 frames use levels 0-255, other dtypes
    ``params['levels']`` when set, else each frame's own range.

    Several videos are shown side by side in a grid, each in its own view;
    :attr:`image_items` lists their image items in input order.

    Parameters
    ----------
    **kargs
        WidgetNode's keywords, passed on unchanged: ``parent`` (the widget's Qt
        parent; None makes it a window) and Node's ``name``.
    """

    _input_specs = {"video": dict()}

    def __init__(self, **kargs):
        ViewerNode.__init__(self, **kargs)
        self.frame_count = 0
        self._pollers = []
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self.refresh)
        self._make_views(1, 1)

    def _make_views(self, count, nb_column):
        """One view box with one image item per input, in a grid of *nb_column* columns."""
        self.graphicsview.clear()
        self.viewboxes, self.image_items = [], []
        for position in range(count):
            viewbox = self.graphicsview.addViewBox(row=position // nb_column, col=position % nb_column,
                                                   lockAspect=True, invertY=True, enableMenu=False)
            item = pg.ImageItem(axisOrder="row-major")
            viewbox.addItem(item)
            self.viewboxes.append(viewbox)
            self.image_items.append(item)
        self.viewbox, self.image_item = self.viewboxes[0], self.image_items[0]

    def _configure(self, num_video=None, nb_column=None):
        """Choose how many video inputs the viewer has and how they are laid out.

        Parameters
        ----------
        num_video : int, optional
            Video streams shown (>= 1): inputs ``video0`` .. ``video{N-1}``.
            By default the viewer keeps its one input, ``video``.
        nb_column : int, optional
            Columns of the grid of videos (>= 1, at most ``num_video``); by
            default the smallest count that makes the grid about square
            (``ceil(sqrt(num_video))``). It needs ``num_video``.
        """
        num_video = check_int(self, "num_video", num_video, minimum=1, none_allowed=True)
        nb_column = check_int(self, "nb_column", nb_column, minimum=1, none_allowed=True)
        if num_video is None:
            if nb_column is not None:
                raise ValueError(f"{self._describe()}: nb_column arranges several videos: give "
                                 "num_video too")
            return
        from pyacq.core.stream import InputStream
        for stream in self.inputs.values():
            stream.close()
        self.inputs = {f"video{i}": InputStream(spec={}, node=self, name=f"video{i}")
                       for i in range(num_video)}
        nb_column = math.ceil(math.sqrt(num_video)) if nb_column is None else min(nb_column, num_video)
        self._make_views(num_video, nb_column)

    def check_input_specs(self):
        """Require every input to be connected and to carry video frames.

        Raises
        ------
        ValueError
            An input's shape is not (time, height, width) or (time, height, width, 1|3|4).
        """
        for name in self.inputs:
            shape = connected_input_params(self, name).get("shape")
            if shape is None or len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] not in (1, 3, 4)):
                raise ValueError(f"{self._describe()}: input {name!r} must be video frames shaped "
                                 "(time, height, width) or (time, height, width, 1|3|4), got shape "
                                 f"{shape!r}")

    def _initialize(self):
        self.params = make_params([
            dict(name="refresh_interval", type="int", value=30, limits=(5, 10000), suffix="ms"),
            dict(name="levels", type="str", value="",
                 tip="'low, high' for non-uint8 frames; empty: each frame's range"),
        ])
        install_validation(self.params, self._describe())
        self.params.sigTreeStateChanged.connect(self._on_params_changed)
        self._pollers = [LatestChunkPoller(stream) for stream in self.inputs.values()]
        self._on_params_changed()

    def _on_params_changed(self, *args):
        self._timer.setInterval(int(self.params["refresh_interval"]))
        text = self.params["levels"].strip()
        if text:
            try:
                low, high = (float(v) for v in text.split(","))
            except ValueError:
                raise ValueError(f"{self._describe()}: levels must be 'low, high', got {text!r}") from None
            self._levels = (low, high)
        else:
            self._levels = None

    def _start(self):
        for poller in self._pollers:
            poller.start()
        self._timer.start()

    def _stop(self):
        self._timer.stop()
        for poller in self._pollers:
            stop_poller(poller, self._describe())

    def _close(self):
        self._timer.stop()

    def refresh(self):
        """Draw the newest frame of each input where a new one arrived (called by the timer)."""
        for poller, item in zip(self._pollers, self.image_items):
            latest = poller.take()
            if latest is not None:
                self._draw(item, latest[1][-1])

    def _draw(self, item, frame):
        if frame.ndim == 3 and frame.shape[2] == 1:
            frame = frame[:, :, 0]
        if frame.dtype == np.uint8:
            levels = (0, 255)
        else:
            levels = self._levels
        if levels is None:
            item.setImage(frame, autoLevels=True)
        else:
            item.setImage(frame, levels=levels, autoLevels=False)
        self.frame_count += 1
