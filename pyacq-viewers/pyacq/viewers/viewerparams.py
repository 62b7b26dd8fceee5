"""The parameters of a viewer: pyqtgraph Parameter trees and the dialog that edits them.

Viewers expose ``params`` (global settings) and ``by_channel_params`` (one
group ``'Signal<i>'`` per channel) as pyqtgraph ``Parameter`` objects, so a
script writes ``viewer.params['xsize'] = 5.`` or
``viewer.by_channel_params['Signal0', 'gain'] = 0.001`` and a user edits the
very same objects in a ParameterTree dialog; both paths go through the same
change signal.
"""
from pyqtgraph.parametertree import Parameter, ParameterTree
from pyqtgraph.Qt import QtWidgets


def channel_group_name(channel):
    """Name of channel ``channel``'s group in ``by_channel_params``."""
    return f"Signal{channel}"


def make_params(children, name="params"):
    """A group Parameter holding ``children`` (pyqtgraph parameter dicts)."""
    return Parameter.create(name=name, type="group", children=children)


def make_by_channel_params(channel_names, children_for_channel):
    """One group per channel, named ``'Signal<i>'`` and titled with the channel's name.

    ``children_for_channel(i)`` returns the parameter dicts of channel ``i``.
    """
    groups = [
        dict(name=channel_group_name(i), title=f"{i}: {name}", type="group",
             children=children_for_channel(i))
        for i, name in enumerate(channel_names)
    ]
    return Parameter.create(name="by_channel", type="group", children=groups)


def install_validation(params, owner):
    """Make every leaf of ``params`` refuse a value outside its ``limits``.

    pyqtgraph stores whatever a script assigns; a viewer would then fail
    later inside its refresh timer. Here ``params['mode'] = 'sideways'``
    raises ValueError at the assignment, naming ``owner``, the parameter and
    what it accepts.
    """
    for param in _leaves(params):
        limits = param.opts.get("limits")
        if limits is None:
            continue
        interpret = param._interpretValue
        param._interpretValue = _checked_interpreter(param, interpret, limits, owner)


def _leaves(params):
    for child in params.children():
        if child.type() == "group":
            yield from _leaves(child)
        else:
            yield child


def _checked_interpreter(param, interpret, limits, owner):
    numeric = param.type() in ("int", "float")

    def checked(value):
        value = interpret(value)
        if numeric:
            low, high = limits
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(f"{owner}: parameter {param.name()!r} must be between {low} and "
                                 f"{high}, got {value!r}")
        elif value not in limits:
            raise ValueError(f"{owner}: parameter {param.name()!r} must be one of {list(limits)}, "
                             f"got {value!r}")
        return value
    return checked


def channel_values(by_channel_params, key, nb_channel):
    """The value of ``key`` for every channel, as a list in channel order."""
    return [by_channel_params[channel_group_name(i), key] for i in range(nb_channel)]


def set_channel_values(by_channel_params, key, values):
    """Set ``key`` of channel i to ``values[i]``, emitting one change signal for all of them."""
    with by_channel_params.treeChangeBlocker():
        for i, value in enumerate(values):
            by_channel_params[channel_group_name(i), key] = value


class ParamDialog(QtWidgets.QDialog):
    """Non-modal dialog with a ParameterTree for each parameter tree of a viewer.

    ``actions`` maps button labels to callables (for example "Auto scale"),
    shown above the trees.
    """

    def __init__(self, title, trees, actions=None, parent=None):
        QtWidgets.QDialog.__init__(self, parent)
        self.setWindowTitle(title)
        layout = QtWidgets.QVBoxLayout(self)
        if actions:
            buttons = QtWidgets.QHBoxLayout()
            layout.addLayout(buttons)
            for label, callback in actions.items():
                button = QtWidgets.QPushButton(label)
                button.clicked.connect(callback)
                buttons.addWidget(button)
        panes = QtWidgets.QHBoxLayout()
        layout.addLayout(panes)
        self.trees = []
        for params in trees:
            tree = ParameterTree(showHeader=False)
            tree.setParameters(params, showTop=True)
            panes.addWidget(tree)
            self.trees.append(tree)
        self.resize(700, 500)
