"""Each distribution's node entry points and the node classes its packages export agree.

The node names are written twice: once as ``pyacq.nodes`` entry points in the
distribution's ``pyproject.toml`` (what a NodeGroup creates by name) and once in
the lazy-export map of the package's ``__init__`` (what ``from pyacq.devices
import PyAudio`` finds). The maps stay explicit so that importing a package
reads no installed metadata; this test keeps the two lists equal.
"""
import importlib
import inspect
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

REPOSITORY = Path(__file__).resolve().parents[2]

#: (distribution directory, package): the package exports every node class of the
#: distribution's entry points whose module is inside the package, and no other.
EXPORTING_PACKAGES = [
    ("pyacq-devices", "pyacq.devices"),
    ("pyacq-dsp", "pyacq.dsp"),
    ("pyacq-viewers", "pyacq.viewers"),
    ("pyacq-core", "pyacq.rec"),
    ("pyacq-core", "pyacq.core"),
]

#: Node subclasses exported as bases to derive from, not as node types (pyacq.core's, and
#: pyacq.dsp's base of processing nodes).
BASE_CLASSES = ("Node", "WidgetNode", "ProcessingNode")


def declared_node_classes(distribution, package):
    """``{name: class}`` of the distribution's ``pyacq.nodes`` entry points inside *package*,
    read from its pyproject.toml (so a stale installed metadata cannot hide a change)."""
    project = tomllib.loads((REPOSITORY / distribution / "pyproject.toml").read_text())["project"]
    declared = {}
    for name, value in project["entry-points"]["pyacq.nodes"].items():
        module_name, _, class_name = value.partition(":")
        if module_name.startswith(package + "."):
            declared[name] = getattr(importlib.import_module(module_name), class_name)
    return declared


def exported_node_classes(package):
    """``{name: class}`` of every public Node subclass that ``dir(package)`` lists."""
    from pyacq.core.node import Node
    module = importlib.import_module(package)
    exported = {}
    for name in dir(module):
        value = getattr(module, name)
        if not name.startswith("_") and name not in BASE_CLASSES and inspect.isclass(value) \
                and issubclass(value, Node):
            exported[name] = value
    return exported


@pytest.mark.parametrize(("distribution", "package"), EXPORTING_PACKAGES,
                         ids=[package for _, package in EXPORTING_PACKAGES])
def test_exported_node_classes_are_the_entry_points(distribution, package):
    """The node classes a package exports are exactly the entry points of its distribution
    whose modules it holds, as the same class objects: a node added to one list and not to
    the other fails here."""
    declared = declared_node_classes(distribution, package)
    assert declared
    assert exported_node_classes(package) == declared


@pytest.mark.parametrize("distribution", ["pyacq-core", "pyacq-devices", "pyacq-dsp",
                                          "pyacq-viewers"])
def test_every_entry_point_is_exported_by_a_package(distribution):
    """No node entry point of a distribution falls outside the packages checked above, and
    each is named after its class (the registry's invariant)."""
    project = tomllib.loads((REPOSITORY / distribution / "pyproject.toml").read_text())["project"]
    packages = [package for dist, package in EXPORTING_PACKAGES if dist == distribution]
    for name, value in project["entry-points"]["pyacq.nodes"].items():
        module_name, _, class_name = value.partition(":")
        assert name == class_name, value
        assert any(module_name.startswith(package + ".") for package in packages), value
