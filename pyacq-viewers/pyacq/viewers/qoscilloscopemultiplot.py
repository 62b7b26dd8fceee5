"""QOscilloscopeMultiPlot: an oscilloscope whose channels are grouped into several plots."""
from pyacq.core.validation import check_int

from .qoscilloscope import QOscilloscope
from .viewerparams import channel_group_name


class QOscilloscopeMultiPlot(QOscilloscope):
    """:class:`QOscilloscope` drawing its channels in ``nb_plot`` plots stacked vertically.

    Plots share the time axis; ``by_channel_params['Signal<i>', 'plot']`` chooses
    the plot of channel i (by default contiguous groups of channels, in
    order), and can be changed while running. Within a plot, channels are
    drawn and stacked (``auto_scale()``) as in the QOscilloscope; ``ylim``
    applies to every plot.
    """

    def _configure(self, with_user_dialog=True, max_xsize=60.0, nb_plot=2):
        """Bound the time window, choose the settings dialog and the number of plots.

        Parameters
        ----------
        with_user_dialog : bool, default True
            Double-clicking a plot opens a dialog editing ``params`` and
            ``by_channel_params``.
        max_xsize : float, default 60.0
            The longest window ``params['xsize']`` may show, in seconds (> 0);
            ``max_xsize * sample_rate * 4`` bytes of history per channel.
        nb_plot : int, default 2
            Plots stacked vertically (>= 1); the channels are shared among
            them in contiguous groups, in order, until
            ``by_channel_params['Signal<i>', 'plot']`` moves one.
        """
        QOscilloscope._configure(self, with_user_dialog=with_user_dialog, max_xsize=max_xsize)
        self.nb_plot = check_int(self, "nb_plot", nb_plot, minimum=1)

    def _nb_plot(self):
        return self.nb_plot

    def _channel_param_children(self, channel):
        children = QOscilloscope._channel_param_children(self, channel)
        default_plot = min(channel * self.nb_plot // max(len(self.trace_names), 1), self.nb_plot - 1)
        children.append(dict(name="plot", type="int", value=default_plot, limits=(0, self.nb_plot - 1)))
        return children

    def _channel_plot(self, channel):
        return self.by_channel_params[channel_group_name(channel), "plot"]

    def _on_channel_params_changed(self, param, changes):
        if any(changed.name() == "plot" for changed, _, _ in changes):
            self._create_items()
            self._apply_params()
        else:
            self._apply_channel_params()
