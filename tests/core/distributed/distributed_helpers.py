"""Node classes without entry points, registered in NodeGroups by module name in the tests."""
from pyacq.core.widgetnode import WidgetNode


class ProbeWidget(WidgetNode):
    """A widget node: creating it needs a QApplication in its process."""

    def _configure(self, title="probe"):
        self.setWindowTitle(title)
