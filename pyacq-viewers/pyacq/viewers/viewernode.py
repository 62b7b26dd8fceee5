"""What every viewer node shares: a pyqtgraph view filling the widget, its input's channel
names, and (for viewers with parameter trees) the dialog a double click opens.

Viewers check their parameters and input with :mod:`pyacq.core.validation`."""
import pyqtgraph as pg
from pyacq.core.validation import channel_names
from pyacq.core.widgetnode import WidgetNode
from pyqtgraph.Qt import QtWidgets

from .viewerparams import ParamDialog


class ViewerNode(WidgetNode):
    """A WidgetNode drawn by one pyqtgraph ``GraphicsLayoutWidget`` (``self.graphicsview``)
    that fills it edge to edge."""

    def __init__(self, **kargs):
        WidgetNode.__init__(self, **kargs)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.graphicsview = pg.GraphicsLayoutWidget()
        layout.addWidget(self.graphicsview)

    def _stream_channel_names(self):
        """Channel names from the stream's ``channel_info``, ``ch<i>`` where it has none."""
        params = self.input.params
        return channel_names(params.get("channel_info"), params["shape"][1])


class ParamDialogViewerNode(ViewerNode):
    """A viewer whose ``params`` and ``by_channel_params`` a double click on the view edits
    in a :class:`ParamDialog`, when configured ``with_user_dialog``."""

    def __init__(self, **kargs):
        ViewerNode.__init__(self, **kargs)
        self.graphicsview.scene().sigMouseClicked.connect(self._on_mouse_clicked)
        self.params_dialog = None

    def _dialog_actions(self):
        """Buttons of the dialog: label -> callable."""
        return {}

    def show_params_dialog(self):
        """Open (or raise) the dialog editing ``params`` and ``by_channel_params``."""
        if self.params_dialog is None:
            self.params_dialog = ParamDialog(f"{self.name or type(self).__name__} parameters",
                                             [self.params, self.by_channel_params],
                                             actions=self._dialog_actions(), parent=self)
        self.params_dialog.show()
        self.params_dialog.raise_()

    def _on_mouse_clicked(self, event):
        if event.double() and self.with_user_dialog and self.initialized():
            self.show_params_dialog()

    def _close_params_dialog(self):
        if self.params_dialog is not None:
            self.params_dialog.close()


def freeze_plot(plot):
    """Hide ``plot``'s buttons and menu and keep the mouse and auto-range from moving it:
    a viewer sets its ranges from its params."""
    plot.hideButtons()
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.vb.disableAutoRange()
