"""Node type registry: entry points, explicit registration, lookup errors."""
import pyacq
import pytest
from pyacq.core import (
    Node,
    NodeTypeImportError,
    UnknownNodeTypeError,
    get_node_type,
    list_node_types,
    register_node_type,
    register_node_type_from_module,
    registry,
)

GOOD_PLUGIN = {
    "good_plugin_nodes": """
        from pyacq.core import Node

        class GoodNode(Node):
            pass
    """,
}
BROKEN_PLUGIN = {
    "broken_plugin_nodes": """
        raise ImportError("libfoo.so.3: cannot open shared object file")
    """,
}


@pytest.fixture
def good_and_broken(installed_distributions):
    installed_distributions("good-plugin", {"pyacq.nodes": {"GoodNode": "good_plugin_nodes:GoodNode"}},
                            GOOD_PLUGIN)
    installed_distributions("broken-plugin",
                            {"pyacq.nodes": {"BrokenNode": "broken_plugin_nodes:BrokenNode"}},
                            BROKEN_PLUGIN)


@pytest.fixture
def clean_registrations():
    before = dict(registry._registered)
    yield
    registry._registered.clear()
    registry._registered.update(before)


def test_entry_point_listed_without_import(good_and_broken):
    """Listing node types reads metadata only: the plugin modules are not imported."""
    import sys
    names = list_node_types()
    assert {"GoodNode", "BrokenNode"} <= set(names)
    assert "good_plugin_nodes" not in sys.modules
    assert "broken_plugin_nodes" not in sys.modules
    assert registry.describe_node_types()["GoodNode"] == ("good-plugin", "good_plugin_nodes:GoodNode")


def test_entry_point_class_loaded_on_first_use(good_and_broken):
    """get_node_type imports the plugin module and returns its class."""
    cls = get_node_type("GoodNode")
    assert issubclass(cls, Node) and cls.__name__ == "GoodNode"
    assert get_node_type("GoodNode") is cls


def test_broken_plugin_error_names_entry_point_and_distribution(good_and_broken):
    """A plugin failing to import raises an error naming it, its entry point and its distribution."""
    with pytest.raises(NodeTypeImportError) as info:
        get_node_type("BrokenNode")
    message = str(info.value)
    assert "BrokenNode" in message
    assert "broken_plugin_nodes:BrokenNode" in message
    assert "broken-plugin" in message
    assert "libfoo.so.3" in message


def test_broken_plugin_does_not_break_others(good_and_broken):
    """After a broken plugin failed, the other plugins still load and list."""
    with pytest.raises(NodeTypeImportError):
        get_node_type("BrokenNode")
    assert get_node_type("GoodNode").__name__ == "GoodNode"
    assert "GoodNode" in list_node_types()


def test_entry_point_not_a_node(installed_distributions):
    """An entry point naming something that is not a Node subclass is refused clearly."""
    installed_distributions("odd-plugin", {"pyacq.nodes": {"OddNode": "odd_plugin_nodes:OddNode"}},
                            {"odd_plugin_nodes": "OddNode = 42\n"})
    with pytest.raises(NodeTypeImportError, match="odd-plugin.*not a pyacq Node subclass"):
        get_node_type("OddNode")


def test_unknown_name_lists_available(good_and_broken):
    """An unknown name raises an error that lists the available node types."""
    with pytest.raises(UnknownNodeTypeError) as info:
        get_node_type("NoSuchNode")
    message = str(info.value)
    assert "'NoSuchNode'" in message
    assert "GoodNode" in message and "BrokenNode" in message
    assert isinstance(info.value, KeyError)


def test_lazy_attribute_of_pyacq(good_and_broken):
    """`from pyacq import SomeNode` resolves an installed node class lazily."""
    from pyacq import GoodNode
    assert GoodNode is get_node_type("GoodNode")
    with pytest.raises(ImportError, match="BrokenNode"):
        from pyacq import BrokenNode  # noqa: F401
    with pytest.raises(AttributeError, match="NoSuchNode"):
        _ = pyacq.NoSuchNode


def test_register_node_type(clean_registrations):
    """register_node_type makes a local class creatable by name; non-nodes are refused."""
    class LocalNode(Node):
        pass

    assert register_node_type(LocalNode) is LocalNode
    assert get_node_type("LocalNode") is LocalNode
    assert "LocalNode" in list_node_types()
    with pytest.raises(TypeError, match="Node subclass"):
        register_node_type(dict)


def test_register_node_type_from_module(tmp_path, monkeypatch, clean_registrations):
    """register_node_type_from_module imports a module by name and registers its class."""
    (tmp_path / "my_lab_nodes.py").write_text(
        "from pyacq.core import Node\n\nclass LabNode(Node):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    cls = register_node_type_from_module("my_lab_nodes", "LabNode")
    assert get_node_type("LabNode") is cls
    assert registry.describe_node_types()["LabNode"] == (None, "my_lab_nodes:LabNode")
    with pytest.raises(UnknownNodeTypeError, match="my_lab_nodes.*NoClass"):
        register_node_type_from_module("my_lab_nodes", "NoClass")
    with pytest.raises(ModuleNotFoundError):
        register_node_type_from_module("no_such_module_here", "X")


def test_example_plugin_installed():
    """The example third-party plugin is listed with its distribution and created by name."""
    assert registry.describe_node_types()["SineGenerator"] == (
        "pyacq-sine-example", "pyacq_sine:SineGenerator")
    node = get_node_type("SineGenerator")(name="sine")
    node.configure(nb_channel=3, sample_rate=500.0)
    assert node.output.spec["shape"] == (-1, 3)
    node.close()
