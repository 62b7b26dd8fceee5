"""QTimeFreq: Morlet wavelet spectrogram of every channel, one TimeFreqWorker per channel."""
import importlib.util
import logging
import math

import pyqtgraph as pg
from pyacq.core._lazy_exports import lazy_exports
from pyacq.core.stream import InputStream
from pyacq.core.streamtools.streamconverter import StreamConverter
from pyacq.core.validation import check_number, check_signal_input
from pyqtgraph.Qt import QtCore

from .pollers import HeadPoller, LatestChunkPoller, stop_poller
from .timefreqworker import DEFAULT_TIMEFREQ, TimeFreqWorker
from .viewernode import ParamDialogViewerNode, freeze_plot
from .viewerparams import (
    channel_group_name,
    install_validation,
    make_by_channel_params,
    make_params,
)


def _scipy_installed():
    """Whether scipy imports: pyacq 2.0 scripts check ``HAVE_SCIPY`` (the transform itself
    needs only numpy)."""
    return importlib.util.find_spec("scipy") is not None


#: ``HAVE_SCIPY``, found on first use, so that importing this module loads no scipy.
__getattr__, __dir__ = lazy_exports(__name__, {"HAVE_SCIPY": _scipy_installed})

__all__ = ["QTimeFreq", "TimeFreqWorker"]

logger = logging.getLogger(__name__)

COLORMAPS = ("viridis", "inferno", "plasma", "magma", "cividis", "turbo")


class QTimeFreq(ParamDialogViewerNode):
    """Class for visualizing the frequency spectrogram with a Morlet continuous wavelet transform.

    One :class:`TimeFreqWorker` per channel computes the maps, in this
    process or in the NodeGroups given as ``nodegroup_friends``. Workers read the signal from shared memory laid
    out channel by channel; when the input is not such a stream (sharedmem,
    axisorder [1, 0], at least ``max_xsize`` s long), a StreamConverter is
    inserted in this process to provide one.

    ``params``: ``refresh_interval`` (ms), ``xsize`` (s), ``nb_column``
    (plots per row), ``colormap``, and ``params['timefreq', key]`` for
    ``f_start``, ``f_stop``, ``deltafreq`` (Hz), ``f0`` (wavelet width in
    cycles, ~ 2.5) and ``normalisation`` (maps are multiplied by
    ``f ** normalisation``). ``by_channel_params['Signal<i>', 'clim']`` is
    the amplitude shown brightest (signal units), ``'visible'`` hides a
    channel. Small refresh_interval, many frequencies, high f_stop and long
    xsize all cost CPU.

    Parameters
    ----------
    **kargs
        WidgetNode's keywords, passed on unchanged: ``parent`` (the widget's Qt
        parent; None makes it a window) and Node's ``name``.
    """

    _input_specs = {"signals": dict()}

    def __init__(self, **kargs):
        ParamDialogViewerNode.__init__(self, **kargs)
        self.workers, self.plots, self.images = [], [], []
        self.converter = None
        self._map_inputs, self._map_pollers = [], []
        self._head_poller = None
        self._timer = QtCore.QTimer(self)
        self._timer.timeout.connect(self.refresh)

    def _configure(self, with_user_dialog=True, max_xsize=60.0, nodegroup_friends=None):
        """Bound the time window, choose the settings dialog and where the workers run.

        Parameters
        ----------
        with_user_dialog : bool, default True
            Double-clicking the view opens a dialog editing ``params`` and
            ``by_channel_params``.
        max_xsize : float, default 60.0
            The longest window ``params['xsize']`` may show, in seconds (> 0):
            the workers' shared signal buffer holds that long, so it bounds
            memory.
        nodegroup_friends : list of NodeGroup, optional
            NodeGroups (proxies) in which the workers are created with
            ``create_node('TimeFreqWorker')``, channel after channel in turn,
            so that the transforms run in other processes, on other cores;
            they must run on this machine, as the workers read the signal
            from shared memory. By default each worker runs in a thread of
            this process. An empty list is refused.
        """
        max_xsize = check_number(self, "max_xsize", max_xsize, above=0, unit="seconds")
        if nodegroup_friends is not None and len(nodegroup_friends) == 0:
            raise ValueError(f"{self._describe()}: nodegroup_friends must be None (local workers) or "
                             "a non-empty list of NodeGroups")
        self.with_user_dialog = bool(with_user_dialog)
        self.max_xsize = max_xsize
        self.nodegroup_friends = None if nodegroup_friends is None else list(nodegroup_friends)

    def check_input_specs(self):
        """Require a (time, channel) signal with a sample rate: each of its channels gets a worker."""
        check_signal_input(self, "signals")

    # -- initialisation -------------------------------------------------------------

    def _initialize(self):
        params = self.input.params
        self.sample_rate = float(params["sample_rate"])
        self.nb_channel = int(params["shape"][1])
        self.channel_names = self._stream_channel_names()
        self._make_params()
        worker_source = self._worker_source()
        self._head_poller = HeadPoller(self.input)
        for channel in range(self.nb_channel):
            self._add_worker(channel, worker_source)
        self._create_plots()
        self.params.sigTreeStateChanged.connect(self._on_params_changed)
        self.by_channel_params.sigTreeStateChanged.connect(self._on_channel_params_changed)
        self._on_params_changed()

    def _make_params(self):
        nyquist = self.sample_rate / 2
        timefreq = dict(DEFAULT_TIMEFREQ, f_stop=min(DEFAULT_TIMEFREQ["f_stop"], 0.45 * self.sample_rate))
        self.params = make_params([
            dict(name="refresh_interval", type="int", value=500, limits=(10, 100000), suffix="ms"),
            dict(name="xsize", type="float", value=min(3.0, self.max_xsize),
                 limits=(10.0 / self.sample_rate, self.max_xsize), suffix="s"),
            dict(name="nb_column", type="int", value=min(4, self.nb_channel), limits=(1, 64)),
            dict(name="colormap", type="list", limits=list(COLORMAPS), value="viridis"),
            dict(name="timefreq", type="group", children=[
                dict(name="f_start", type="float", value=timefreq["f_start"], limits=(1e-3, nyquist),
                     suffix="Hz"),
                dict(name="f_stop", type="float", value=timefreq["f_stop"], limits=(1e-3, nyquist),
                     suffix="Hz"),
                dict(name="deltafreq", type="float", value=timefreq["deltafreq"], limits=(1e-3, nyquist),
                     suffix="Hz"),
                dict(name="f0", type="float", value=timefreq["f0"], limits=(0.1, 100.0)),
                dict(name="normalisation", type="float", value=timefreq["normalisation"]),
            ]),
        ])
        self.by_channel_params = make_by_channel_params(self.channel_names, lambda channel: [
            dict(name="visible", type="bool", value=True),
            dict(name="clim", type="float", value=10.0, limits=(0.0, None)),
        ])
        install_validation(self.params, self._describe())
        install_validation(self.by_channel_params, self._describe())

    def _worker_source(self):
        """Params of the sharedmem, channel-major stream workers read (a converter's if needed)."""
        params = self.input.params
        needed = math.ceil(self.max_xsize * self.sample_rate)
        if (params.get("transfermode") == "sharedmem" and list(params.get("axisorder") or []) == [1, 0]
                and params.get("buffer_size", 0) >= needed):
            return params
        self.converter = StreamConverter(name=f"{self.name or 'QTimeFreq'}-converter")
        self.converter.configure()
        self.converter.input.connect(params)
        self.converter.output.configure(
            protocol="inproc" if self.nodegroup_friends is None else "tcp",
            transfermode="sharedmem", buffer_size=needed, double=True, axisorder=[1, 0])
        self.converter.initialize()
        return self.converter.output.params

    def _add_worker(self, channel, source_params):
        name = f"{self.name or 'QTimeFreq'}-worker{channel}"
        if self.nodegroup_friends is None:
            worker = TimeFreqWorker(name=name)
            protocol = "inproc"
        else:
            nodegroup = self.nodegroup_friends[channel % len(self.nodegroup_friends)]
            worker = nodegroup.create_node("TimeFreqWorker", name=name)
            protocol = "tcp"
        worker.configure(max_xsize=self.max_xsize, channel=channel)
        worker.input.connect(source_params)
        worker.output.configure(protocol=protocol, transfermode="plaindata")
        worker.initialize()
        maps = InputStream(name=f"timefreq{channel}")
        maps.connect(worker.output)
        self.workers.append(worker)
        self._map_inputs.append(maps)
        self._map_pollers.append(LatestChunkPoller(maps))

    def _create_plots(self):
        self.graphicsview.clear()
        self.plots, self.images = [], []
        for channel in range(self.nb_channel):
            plot = pg.PlotItem(title=self.channel_names[channel])
            freeze_plot(plot)
            image = pg.ImageItem()
            plot.addItem(image)
            self.plots.append(plot)
            self.images.append(image)
        self._layout_plots()

    def _layout_plots(self):
        for plot in self.plots:
            if plot.scene() is not None:
                self.graphicsview.removeItem(plot)
        nb_column = self.params["nb_column"]
        visible = [c for c in range(self.nb_channel) if self.by_channel_params[channel_group_name(c), "visible"]]
        for position, channel in enumerate(visible):
            self.graphicsview.addItem(self.plots[channel], row=position // nb_column,
                                      col=position % nb_column)

    # -- parameters -----------------------------------------------------------------

    def _timefreq_settings(self):
        settings = {key: self.params["timefreq", key] for key in DEFAULT_TIMEFREQ}
        settings.update(xsize=self.params["xsize"], refresh_interval=self.params["refresh_interval"])
        return settings

    def _on_params_changed(self, *args):
        settings = self._timefreq_settings()
        try:
            for worker in self.workers:
                worker.set_params(**settings)
        except ValueError as exc:
            # Raised while the parameter tree emits its signal, where Qt cannot pass it on:
            # the workers keep their previous, valid settings until the values agree.
            logger.error("%s: settings not applied: %s", self._describe(), exc)
            return
        self._timer.setInterval(max(10, int(self.params["refresh_interval"]) // 2))
        lut = pg.colormap.get(self.params["colormap"]).getLookupTable(nPts=256)
        for image in self.images:
            image.setLookupTable(lut)
        f_start, f_stop = settings["f_start"], settings["f_stop"]
        for plot in self.plots:
            plot.setXRange(-settings["xsize"], 0.0, padding=0.0)
            plot.setYRange(f_start, f_stop, padding=0.0)
        self._layout_plots()
        self._on_channel_params_changed()

    def _on_channel_params_changed(self, *args):
        for channel, image in enumerate(self.images):
            image.setLevels((0.0, self.by_channel_params[channel_group_name(channel), "clim"]))
        visible = [self.by_channel_params[channel_group_name(c), "visible"] for c in range(self.nb_channel)]
        if visible != getattr(self, "_shown", None):
            self._shown = visible
            self._layout_plots()

    # -- lifecycle ------------------------------------------------------------------

    def _start(self):
        if self.converter is not None:
            self.converter.start()
        for worker, poller in zip(self.workers, self._map_pollers):
            poller.start()
            worker.start()
        self._head_poller.start()
        self._timer.start()

    def _stop(self):
        self._timer.stop()
        for worker in self.workers:
            worker.stop()
        for poller in (*self._map_pollers, self._head_poller):
            stop_poller(poller, self._describe())
        if self.converter is not None:
            self.converter.stop()

    def _close(self):
        self._timer.stop()
        for worker in self.workers:
            worker.close()
        for maps in self._map_inputs:
            maps.close()
        if self.converter is not None:
            self.converter.close()
        self._close_params_dialog()

    # -- drawing --------------------------------------------------------------------

    def refresh(self):
        """Show the newest map of each channel (called by the timer)."""
        settings = self._timefreq_settings()
        for image, poller in zip(self.images, self._map_pollers):
            latest = poller.take()
            if latest is None:
                continue
            tfr = latest[1][0]
            n_freq = tfr.shape[1]
            span = settings["xsize"]
            image.setImage(tfr, autoLevels=False)
            image.setRect(QtCore.QRectF(-span, settings["f_start"] - settings["deltafreq"] / 2,
                                        span, n_freq * settings["deltafreq"]))
