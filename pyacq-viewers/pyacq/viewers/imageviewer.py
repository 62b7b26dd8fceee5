"""ImageViewer: shows the latest frame of a video stream."""
import numpy as np
import pyqtgraph as pg
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
    """

    _input_specs = {"video": dict()}

    def __init__(self, **kargs):
        ViewerNode.__init__(self, **kargs)
        self.viewbox = self.graphicsview.addViewBox(lockAspect=True, invertY=True, enableMenu=False)
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.viewbox.addItem(self.image_item)
        self.frame_count = 0
        self._poller = None
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self.refresh)

    def _configure(self):
        pass

    def check_input_specs(self):
        self._check_input_connected()
        shape = self.input.params.get("shape")
        if shape is None or len(shape) not in (3, 4) or (len(shape) == 4 and shape[3] not in (1, 3, 4)):
            raise ValueError(f"{self._describe()}: the input must be video frames shaped (time, height, "
                             f"width) or (time, height, width, 1|3|4), got shape {shape!r}")

    def _initialize(self):
        self.params = make_params([
            dict(name="refresh_interval", type="int", value=30, limits=(5, 10000), suffix="ms"),
            dict(name="levels", type="str", value="",
                 tip="'low, high' for non-uint8 frames; empty: each frame's range"),
        ])
        install_validation(self.params, self._describe())
        self.params.sigTreeStateChanged.connect(self._on_params_changed)
        self._poller = LatestChunkPoller(self.input)
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
        self._poller.start()
        self._timer.start()

    def _stop(self):
        self._timer.stop()
        stop_poller(self._poller, self._describe())

    def _close(self):
        self._timer.stop()

    def refresh(self):
        """Draw the newest frame, if a new one arrived (called by the timer)."""
        latest = self._poller.take() if self._poller is not None else None
        if latest is None:
            return
        frame = latest[1][-1]
        if frame.ndim == 3 and frame.shape[2] == 1:
            frame = frame[:, :, 0]
        if frame.dtype == np.uint8:
            levels = (0, 255)
        else:
            levels = self._levels
        if levels is None:
            self.image_item.setImage(frame, autoLevels=True)
        else:
            self.image_item.setImage(frame, levels=levels, autoLevels=False)
        self.frame_count += 1
