"""`import pyacq` stays light: no Qt, no plugin, no heavy optional dependency."""
import json

HEAVY_PREFIXES = ("PyQt5", "PyQt6", "PySide", "pyqtgraph", "scipy", "av", "pyaudio", "serial",
                  "hid", "imageio", "pylsl", "h5py", "pyacq.devices", "pyacq.dsp", "pyacq.viewers",
                  "pyacq_sine")


def imported_modules(run_python, statement):
    out = run_python(f"""
        import json, sys
        {statement}
        print(json.dumps(sorted(sys.modules)))
    """).stdout
    return json.loads(out.splitlines()[-1])


def heavy(modules):
    return [m for m in modules if m.split(".")[0] in HEAVY_PREFIXES or m.startswith(HEAVY_PREFIXES)]


def test_import_pyacq_is_light(run_python):
    """`import pyacq` and `import pyacq.core` load no Qt, no plugin and no heavy dependency."""
    modules = imported_modules(run_python, "import pyacq, pyacq.core")
    assert heavy(modules) == []


def test_listing_node_types_imports_no_plugin(run_python):
    """Listing node types (and reading their distributions) imports no plugin module, and
    not the node model either: no streams, no ZeroMQ, no numpy (``pyacq list`` stays quick)."""
    modules = imported_modules(
        run_python,
        "from pyacq.core import registry; assert 'SineGenerator' in registry.list_node_types(); "
        "registry.describe_node_types()")
    assert heavy(modules) == []
    assert [m for m in modules if m.split(".")[0] in ("zmq", "numpy") or m == "pyacq.core.node"] == []


def test_core_names_resolve_lazily(run_python):
    """Core names are reachable from `pyacq` and `pyacq.core`; only WidgetNode pulls Qt."""
    modules = imported_modules(
        run_python,
        "import pyacq; assert pyacq.Node is pyacq.core.Node; pyacq.register_node_type")
    assert heavy(modules) == []
    modules = imported_modules(run_python, "import pyacq; pyacq.WidgetNode")
    assert "PyQt5.QtWidgets" in modules


def test_dir_lists_core_names_and_node_types(run_python):
    """dir(pyacq) shows core names and installed node types without importing them."""
    out = run_python("""
        import json, sys, pyacq
        names = dir(pyacq)
        print(json.dumps(['Node' in names, 'SineGenerator' in names, 'pyacq_sine' in sys.modules]))
    """).stdout
    assert json.loads(out) == [True, True, False]
