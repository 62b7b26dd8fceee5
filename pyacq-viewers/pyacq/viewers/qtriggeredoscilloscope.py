"""QTriggeredOscilloscope: the latest epochs of a signal, overlaid and aligned on a trigger."""
import math

import numpy as np
import pyqtgraph as pg
from pyacq.core.validation import check_number, connected_input_params
from pyacq.dsp.trigger import AnalogTrigger
from pyacq.dsp.triggeraccumulator import TriggerAccumulator
from pyqtgraph.Qt import QtCore

from .decimation import summarise_bins
from .pollers import HeadPoller, stop_poller
from .viewernode import ParamDialogViewerNode, freeze_plot
from .viewerparams import (
    channel_group_name,
    channel_values,
    install_validation,
    make_by_channel_params,
    make_params,
)

#: Points drawn per epoch at most (min/max pairs beyond that).
MAX_POINTS = 2000


class QTriggeredOscilloscope(ParamDialogViewerNode):
    """Oscilloscope showing the last epochs around each trigger, stacked on top of each other.

    It runs an :class:`~pyacq.dsp.AnalogTrigger` (``viewer.trigger``,
    ``viewer.trigger.params['threshold' | 'front' | 'channel' |
    'debounce_mode' | 'debounce_time']``) and a
    :class:`~pyacq.dsp.TriggerAccumulator` (``viewer.triggeraccumulator``,
    ``.params['stack_size' | 'left_sweep' | 'right_sweep']``) on its input.
    Every channel's epochs are drawn at ``value * gain + offset``
    (``by_channel_params['Signal<i>', 'gain' | 'offset' | 'visible' |
    'color']``) against time from the trigger; ``params`` holds
    ``ylim_max``, ``ylim_min``, ``show_mean`` (their average drawn on top),
    ``background_color``.

    The trigger and the accumulator are created with the viewer, so the
    input may be connected before or after configure() (pyacq 2.0 documents
    configure first); a configure() called again before initialize()
    reconfigures the same two nodes, which stay connected and keep their
    live parameters.

    Parameters
    ----------
    **kargs
        WidgetNode's keywords, passed on unchanged: ``parent`` (the widget's Qt
        parent; None makes it a window) and Node's ``name``.
    """

    _input_specs = {"signals": dict()}

    def __init__(self, **kargs):
        ParamDialogViewerNode.__init__(self, **kargs)
        self.plot = self.graphicsview.addPlot()
        freeze_plot(self.plot)
        self.plot.addItem(pg.InfiniteLine(pos=0.0, angle=90, pen=pg.mkPen("w", style=QtCore.Qt.DashLine)))
        self.plots = [self.plot]
        label = self.name or "QTriggeredOscilloscope"
        self.trigger = AnalogTrigger(name=f"{label}-trigger")
        self.triggeraccumulator = TriggerAccumulator(name=f"{label}-accumulator")
        self.curves, self.mean_curves = [], []
        self._head_poller = None

    def _configure(self, with_user_dialog=True, max_xsize=2.0, max_stack_size=10):
        """Bound the epochs and the stack, and choose the settings dialog.

        The two limits configure the viewer's TriggerAccumulator; a value it
        refuses leaves the viewer as it was.

        Parameters
        ----------
        with_user_dialog : bool, default True
            Double-clicking the plot opens a dialog editing the viewer's
            ``params`` and ``by_channel_params``.
        max_xsize : float, default 2.0
            The longest epoch, in seconds (> 0): ``right_sweep - left_sweep``
            and ``-left_sweep`` of ``viewer.triggeraccumulator.params`` may not
            exceed it.
        max_stack_size : int, default 10
            The most epochs drawn at once (>= 1): the upper bound of
            ``viewer.triggeraccumulator.params['stack_size']``.
        """
        max_xsize = check_number(self, "max_xsize", max_xsize, above=0, unit="seconds")
        # The accumulator checks max_stack_size, and a refused configure() changes nothing there.
        self.triggeraccumulator.configure(max_stack_size=max_stack_size, max_xsize=max_xsize,
                                          emit_qt_signal=True)
        self.trigger.configure()
        self.max_xsize = max_xsize
        self.with_user_dialog = bool(with_user_dialog)
        self.max_stack_size = self.triggeraccumulator.max_stack_size

    def after_input_connect(self, inputname):
        """Connect the trigger and the accumulator's ``signals`` to the output this input is connected to."""
        params = self.input.params
        self.trigger.input.connect(params)
        self.triggeraccumulator.inputs["signals"].connect(params)

    def check_input_specs(self):
        """Require the input to be connected; the trigger and the accumulator check the signal itself."""
        connected_input_params(self, "signals")

    def _initialize(self):
        self.trigger.output.configure(protocol="inproc", transfermode="plaindata")
        self.triggeraccumulator.inputs["events"].connect(self.trigger.output)
        self.trigger.initialize()
        self.triggeraccumulator.initialize()
        params = self.input.params
        self.sample_rate = float(params["sample_rate"])
        self.nb_channel = int(params["shape"][1])
        names = self._stream_channel_names()
        self.params = make_params([
            dict(name="ylim_max", type="float", value=1.0),
            dict(name="ylim_min", type="float", value=-1.0),
            dict(name="show_mean", type="bool", value=False),
            dict(name="background_color", type="color", value="k"),
        ])
        self.by_channel_params = make_by_channel_params(names, lambda channel: [
            dict(name="gain", type="float", value=1.0, step=0.1),
            dict(name="offset", type="float", value=0.0, step=0.1),
            dict(name="visible", type="bool", value=True),
            dict(name="color", type="color",
                 value=pg.intColor(channel, hues=max(self.nb_channel, 1), values=1, maxValue=255, sat=200)),
        ])
        install_validation(self.params, self._describe())
        install_validation(self.by_channel_params, self._describe())
        for _ in range(self.nb_channel):
            self.curves.append(pg.PlotCurveItem(connect="finite", antialias=False))
            self.mean_curves.append(pg.PlotCurveItem(antialias=False))
            self.plot.addItem(self.curves[-1])
            self.plot.addItem(self.mean_curves[-1])
        self._head_poller = HeadPoller(self.input)
        self.triggeraccumulator.new_chunk.connect(self._on_new_epochs)
        self.params.sigTreeStateChanged.connect(self._apply_params)
        self.by_channel_params.sigTreeStateChanged.connect(self._apply_params)
        self._apply_params()

    def _apply_params(self, *args):
        p = self.params
        self.graphicsview.setBackground(p["background_color"])
        self.plot.setYRange(p["ylim_min"], p["ylim_max"], padding=0.0)
        bcp = self.by_channel_params
        self._gains = np.array(channel_values(bcp, "gain", self.nb_channel), dtype=np.float32)
        self._offsets = np.array(channel_values(bcp, "offset", self.nb_channel), dtype=np.float32)
        for channel, (curve, mean) in enumerate(zip(self.curves, self.mean_curves)):
            color = pg.mkColor(bcp[channel_group_name(channel), "color"])
            visible = bcp[channel_group_name(channel), "visible"]
            curve.setPen(pg.mkPen(color))
            mean.setPen(pg.mkPen(color.lighter(160), width=2))
            curve.setVisible(visible)
            mean.setVisible(visible and p["show_mean"])
        self.refresh()

    def _on_new_epochs(self, total_trig):
        self.refresh()

    def refresh(self):
        """Redraw the accumulated epochs (called whenever new ones are taken)."""
        accumulator = self.triggeraccumulator
        with accumulator._processing_lock:
            stack, t_vect, total = accumulator.stack.copy(), accumulator.t_vect.copy(), accumulator.total_trig
        self.plot.setXRange(t_vect[0], t_vect[-1], padding=0.0)
        n_epoch = min(total, len(stack))
        if n_epoch == 0:
            for curve, mean in zip(self.curves, self.mean_curves):
                curve.setData([], [])
                mean.setData([], [])
            return
        epochs = stack[:n_epoch]
        nb_time = epochs.shape[2]
        step = max(1, math.ceil(nb_time / MAX_POINTS))
        usable = nb_time // step * step
        x = t_vect[:usable:step]
        if step > 1:
            block = epochs[:, :, :usable].reshape(n_epoch * self.nb_channel, usable // step, step)
            summary = summarise_bins(block.transpose(1, 2, 0), "min_max")
            points = summary.transpose(2, 1, 0).reshape(n_epoch, self.nb_channel, -1)
            x = np.repeat(x, 2)
        else:
            points = epochs
        scaled = points * self._gains[None, :, None] + self._offsets[None, :, None]
        with_break = np.concatenate([scaled, np.full(scaled.shape[:2] + (1,), np.nan)], axis=2)
        x_all = np.tile(np.append(x, np.nan), n_epoch)
        for channel, (curve, mean) in enumerate(zip(self.curves, self.mean_curves)):
            curve.setData(x_all, with_break[:, channel].ravel(), connect="finite")
            if self.params["show_mean"]:
                mean.setData(x, scaled[:, channel].mean(axis=0))

    def _start(self):
        self.triggeraccumulator.start()
        self.trigger.start()
        self._head_poller.start()

    def _stop(self):
        stop_poller(self._head_poller, self._describe())
        self.trigger.stop()
        self.triggeraccumulator.stop()

    def _close(self):
        self._close_params_dialog()
        for node in (self.trigger, self.triggeraccumulator):
            if not node.closed():
                node.close()
