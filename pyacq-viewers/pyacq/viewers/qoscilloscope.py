"""QOscilloscope: continuous multi-channel view of an analog stream.

Chunks go from a poller thread into a float32 history (gaps kept as NaN);
a QTimer, every ``params['refresh_interval']`` ms, summarises the new
samples into one bin per pixel column (:mod:`pyacq.viewers.decimation`) and
redraws one curve per visible channel. The cost of a frame therefore follows
the pixels and the refresh rate, not the sample rate.
"""
import math
import warnings

import numpy as np
import pyqtgraph as pg
from pyacq.core.validation import check_number, check_signal_input
from pyqtgraph.Qt import QtCore

from .decimation import DECIMATION_METHODS, DecimatedCache
from .pollers import HistoryPoller, stop_poller
from .signalhistory import SignalHistory
from .viewernode import ParamDialogViewerNode, freeze_plot
from .viewerparams import (
    channel_group_name,
    channel_values,
    install_validation,
    make_by_channel_params,
    make_params,
    set_channel_values,
)

SCALE_MODES = ("real_scale", "same_for_all", "by_channel")
DISPLAY_MODES = ("scroll", "scan")
#: Bounds of the number of bins (pixel columns) a window is decimated to.
MIN_BINS, MAX_BINS = 100, 4000
#: Share of its slot a channel's signal spans after auto_scale() in the stacked modes.
STACK_FILL = 0.9


class QOscilloscope(ParamDialogViewerNode):
    """Continuous, multi-channel oscilloscope based on Qt and pyqtgraph.

    The input is an analog stream (time, channel) of any numeric dtype,
    plaindata or sharedmem, any axis order.

    After ``initialize()``, ``params`` holds ``xsize``, ``ylim_max``,
    ``ylim_min``, ``scale_mode`` ('real_scale': values as they are;
    'same_for_all': channels stacked with one gain; 'by_channel': stacked,
    each with its own gain), ``refresh_interval`` (ms), ``mode`` ('scroll':
    newest at the right; 'scan': a cursor sweeps left to right),
    ``decimation_method`` ('pure_decimate', 'min_max', 'mean'),
    ``display_labels``, ``show_bottom_axis``, ``background_color``; and
    ``by_channel_params['Signal<i>', key]`` holds ``gain``, ``offset``,
    ``visible`` and ``color``: channel i is drawn at ``value * gain + offset``.
    ``auto_scale()`` chooses gains, offsets and ylim for the current
    ``scale_mode``. Double-clicking the plot opens a dialog editing both
    parameter trees (``with_user_dialog=True``).

    Parameters
    ----------
    **kargs
        WidgetNode's keywords, passed on unchanged: ``parent`` (the widget's Qt
        parent; None makes it a window) and Node's ``name``.
    """

    _input_specs = {"signals": dict()}

    def __init__(self, **kargs):
        ParamDialogViewerNode.__init__(self, **kargs)
        self.with_user_dialog = True
        self.max_xsize = 60.0
        self.plots = []
        self.curves = []
        self.labels = []
        self._cache = None
        self._poller = None
        self.frame_count = 0
        self.history = None
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self.refresh)

    # -- configuration ------------------------------------------------------------

    def _configure(self, with_user_dialog=True, max_xsize=60.0):
        """Bound the time window and choose whether a double-click opens the settings dialog.

        The display settings themselves are ``params`` and
        ``by_channel_params``, made at initialize() (see the class docstring).

        Parameters
        ----------
        with_user_dialog : bool, default True
            Double-clicking the plot opens a dialog editing ``params`` and
            ``by_channel_params``; False for a viewer whose settings only the
            program changes.
        max_xsize : float, default 60.0
            The longest window ``params['xsize']`` may show, in seconds (> 0).
            The history kept is that long, so it bounds memory:
            ``max_xsize * sample_rate * 4`` bytes per trace (a channel, or a
            bit in QDigitalOscilloscope).
        """
        self.max_xsize = check_number(self, "max_xsize", max_xsize, above=0, unit="seconds")
        self.with_user_dialog = bool(with_user_dialog)

    def check_input_specs(self):
        """Require a (time, channel) signal of real numbers or booleans, with a sample rate."""
        check_signal_input(self, "signals", dtype_kinds="biuf", kind_description="real numeric")

    def _trace_layout(self):
        """``(trace_names, transform)``: what is drawn, and how a chunk becomes those traces
        (None: cast the chunk to float32)."""
        return self._stream_channel_names(), None

    def _global_param_children(self):
        return [
            dict(name="xsize", type="float", value=min(3.0, self.max_xsize), step=0.1,
                 limits=(1.0 / self.sample_rate, self.max_xsize), suffix="s"),
            dict(name="ylim_max", type="float", value=10.0),
            dict(name="ylim_min", type="float", value=-10.0),
            dict(name="scale_mode", type="list", limits=list(SCALE_MODES), value="real_scale"),
            dict(name="refresh_interval", type="int", value=100, limits=(5, 10000), suffix="ms"),
            dict(name="mode", type="list", limits=list(DISPLAY_MODES), value="scroll"),
            dict(name="decimation_method", type="list", limits=list(DECIMATION_METHODS),
                 value="min_max"),
            dict(name="display_labels", type="bool", value=False),
            dict(name="show_bottom_axis", type="bool", value=False),
            dict(name="background_color", type="color", value="k"),
        ]

    def _channel_param_children(self, channel):
        color = pg.intColor(channel, hues=max(len(self.trace_names), 1), values=1, maxValue=255, sat=200)
        return [
            dict(name="gain", type="float", value=1.0, step=0.1),
            dict(name="offset", type="float", value=0.0, step=0.1),
            dict(name="visible", type="bool", value=True),
            dict(name="color", type="color", value=color),
        ]

    def _initialize(self):
        params = self.input.params
        self.sample_rate = float(params["sample_rate"])
        self.trace_names, transform = self._trace_layout()
        self.nb_trace = len(self.trace_names)
        self.params = make_params(self._global_param_children())
        self.by_channel_params = make_by_channel_params(self.trace_names, self._channel_param_children)
        install_validation(self.params, self._describe())
        install_validation(self.by_channel_params, self._describe())
        size = max(2, math.ceil(self.max_xsize * self.sample_rate))
        self.history = SignalHistory(size, self.nb_trace, transform)
        self._poller = HistoryPoller(self.input, self.history)
        self._create_items()
        self.params.sigTreeStateChanged.connect(self._on_params_changed)
        self.by_channel_params.sigTreeStateChanged.connect(self._on_channel_params_changed)
        self._apply_params()
        self._apply_channel_params()

    def _channel_plot(self, channel):
        """Index of the plot that draws channel ``channel``."""
        return 0

    def _nb_plot(self):
        return 1

    def _create_items(self):
        """Create the plots (one per group), a curve and a label per trace, the scan cursor."""
        self.graphicsview.clear()
        self.plots, self.cursors = [], []
        for row in range(self._nb_plot()):
            plot = self.graphicsview.addPlot(row=row, col=0)
            plot.hideAxis("left")
            freeze_plot(plot)
            cursor = pg.InfiniteLine(angle=90, pen=pg.mkPen("w", style=QtCore.Qt.DashLine))
            plot.addItem(cursor, ignoreBounds=True)
            if self.plots:
                plot.setXLink(self.plots[0])
            self.plots.append(plot)
            self.cursors.append(cursor)
        self.curves, self.labels = [], []
        for channel in range(self.nb_trace):
            curve = pg.PlotCurveItem(connect="finite", antialias=False)
            # Qt strokes one-pixel segments about twice as fast as the same polyline as a path;
            # with tens of channels the paint is most of a frame's cost.
            curve.setSegmentedLineMode("on")
            label = pg.TextItem(self.trace_names[channel], anchor=(0, 0.5))
            plot = self.plots[self._channel_plot(channel)]
            plot.addItem(curve)
            plot.addItem(label, ignoreBounds=True)
            self.curves.append(curve)
            self.labels.append(label)

    # -- parameters -----------------------------------------------------------------

    def _on_params_changed(self, param, changes):
        self._apply_params()

    def _on_channel_params_changed(self, param, changes):
        self._apply_channel_params()

    def _apply_params(self):
        p = self.params
        self._timer.setInterval(int(p["refresh_interval"]))
        self.graphicsview.setBackground(p["background_color"])
        scan = p["mode"] == "scan"
        for plot, cursor in zip(self.plots, self.cursors):
            plot.showAxis("bottom", p["show_bottom_axis"])
            plot.setYRange(p["ylim_min"], p["ylim_max"], padding=0.0)
            plot.setXRange(0.0 if scan else -p["xsize"], p["xsize"] if scan else 0.0, padding=0.0)
            cursor.setVisible(scan)
        self._apply_channel_params()

    def _apply_channel_params(self):
        bcp = self.by_channel_params
        n = self.nb_trace
        self._gains = np.array(channel_values(bcp, "gain", n), dtype=np.float32)
        self._offsets = np.array(channel_values(bcp, "offset", n), dtype=np.float32)
        self._visible = np.array(channel_values(bcp, "visible", n), dtype=bool)
        label_x = 0.0 if self.params["mode"] == "scan" else -self.params["xsize"]
        for channel, (curve, label) in enumerate(zip(self.curves, self.labels)):
            color = bcp[channel_group_name(channel), "color"]
            curve.setPen(pg.mkPen(color))
            curve.setVisible(bool(self._visible[channel]))
            label.setColor(color)
            label.setPos(label_x, float(self._offsets[channel]))
            label.setVisible(bool(self._visible[channel]) and self.params["display_labels"])
        self._force_redraw = True
        self.refresh()

    def _dialog_actions(self):
        return {"Auto scale": self.auto_scale}

    # -- lifecycle ------------------------------------------------------------------

    def _start(self):
        self._poller.start()
        self._timer.start()

    def _stop(self):
        self._timer.stop()
        stop_poller(self._poller, self._describe())

    def _close(self):
        self._timer.stop()
        self._close_params_dialog()
        if self.history is not None:
            self.history.close()

    # -- drawing --------------------------------------------------------------------

    def _window_layout(self):
        """``(step, nb_bin)``: samples per bin and bins per window for the current xsize and width."""
        n_samples = max(1, round(self.params["xsize"] * self.sample_rate))
        width = int(self.plots[0].vb.width()) if self.plots else 0
        nb_pixel = min(max(width, MIN_BINS), MAX_BINS)
        step = max(1, math.ceil(n_samples / nb_pixel))
        return step, math.ceil(n_samples / step)

    def _current_cache(self):
        step, nb_bin = self._window_layout()
        method = self.params["decimation_method"]
        cache = self._cache
        if cache is None or (cache.step, cache.nb_bin, cache.method) != (step, nb_bin, method):
            cache = self._cache = DecimatedCache(self.history, step, nb_bin, method)
            self._force_redraw = True
        return cache

    def refresh(self):
        """Summarise what arrived since the last frame and redraw (called by the timer).

        :attr:`frame_count` counts the frames drawn: ticks with no new data draw
        nothing, and parameter changes force a redraw of their own."""
        if self.history is None:
            return
        cache = self._current_cache()
        previous_end = cache.end_bin
        cache.update()
        if cache.end_bin == previous_end and not self._force_redraw:
            return
        self._force_redraw = False
        x, values = self._points(cache)
        shown = values[:, self._visible] * self._gains[self._visible] + self._offsets[self._visible]
        for curve, y in zip((c for c, v in zip(self.curves, self._visible) if v), shown.T):
            curve.setData(x, y, connect="finite")
        if self.params["mode"] == "scan":
            cursor_x = (cache.end_bin % cache.nb_bin) * cache.step / self.sample_rate
            for cursor in self.cursors:
                cursor.setValue(cursor_x)
        self.frame_count += 1

    def _points(self, cache):
        """The points to draw, in drawing order: their x (seconds) and their values."""
        offsets = cache.point_offsets()
        bins, values = cache.window()
        if self.params["mode"] == "scroll":
            x = ((bins - cache.end_bin)[:, None] * cache.step + offsets).ravel() / self.sample_rate
            return x, values
        # scan: each bin stays at its slot (bin % nb_bin); the line breaks at the cursor,
        # between the newest bin (left of it) and the oldest (right of it).
        slots = bins % cache.nb_bin
        x = (slots[:, None] * cache.step + offsets).ravel() / self.sample_rate
        order = np.argsort(x, kind="stable")
        x, values = x[order], values[order]
        cut = int(np.searchsorted(x, (cache.end_bin % cache.nb_bin) * cache.step / self.sample_rate))
        return np.insert(x, cut, np.nan), np.insert(values, cut, np.nan, axis=0)

    # -- scaling --------------------------------------------------------------------

    def auto_scale(self):
        """Fit gains, offsets and ylim to the signals in the window, following ``scale_mode``.

        'real_scale' keeps gain 1 and offset 0 and sets ylim to the data's
        range; the stacked modes give each visible channel of a plot its own
        horizontal slot (first channel at the top) and ylim spans the slots.
        """
        cache = self._current_cache()
        cache.update()
        _, values = cache.window()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # channels with no sample yet
            low = np.nan_to_num(np.nanpercentile(values, 1, axis=0), nan=-1.0) if values.size else None
            high = np.nan_to_num(np.nanpercentile(values, 99, axis=0), nan=1.0) if values.size else None
        if low is None:
            low, high = -np.ones(self.nb_trace), np.ones(self.nb_trace)
        mode = self.params["scale_mode"]
        visible = self._visible
        if mode == "real_scale":
            shown_low = float(low[visible].min()) if visible.any() else -1.0
            shown_high = float(high[visible].max()) if visible.any() else 1.0
            margin = 0.05 * (shown_high - shown_low) or 1.0
            gains, offsets = np.ones(self.nb_trace), np.zeros(self.nb_trace)
            ylim = (shown_low - margin, shown_high + margin)
        else:
            spread = high - low
            spread[~(spread > 0)] = 1.0
            if mode == "same_for_all":
                spread[:] = spread[visible].max() if visible.any() else 1.0
            gains = STACK_FILL / spread
            positions, nb_slot = self._stack_positions(visible)
            offsets = positions - (low + high) / 2 * gains
            ylim = (-0.5, nb_slot - 0.5)
        with self.params.treeChangeBlocker():
            self.params["ylim_min"], self.params["ylim_max"] = float(ylim[0]), float(ylim[1])
        with self.by_channel_params.treeChangeBlocker():
            set_channel_values(self.by_channel_params, "gain", [float(g) for g in gains])
            set_channel_values(self.by_channel_params, "offset", [float(o) for o in offsets])

    def _stack_positions(self, visible):
        """Slot position of each channel (visible ones numbered top-down within their plot),
        and the number of slots of the fullest plot."""
        positions = np.zeros(self.nb_trace)
        per_plot = {}
        for channel in np.flatnonzero(visible):
            per_plot.setdefault(self._channel_plot(channel), []).append(channel)
        for channels in per_plot.values():
            positions[channels] = np.arange(len(channels))[::-1]
        return positions, max((len(c) for c in per_plot.values()), default=1)
