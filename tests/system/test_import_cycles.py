"""The import-cycle check of the lint session (tools/check_import_cycles.py)."""
import importlib.util
import textwrap
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checker():
    spec = importlib.util.spec_from_file_location(
        "check_import_cycles", REPOSITORY / "tools" / "check_import_cycles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_tree(root, files):
    for relative, source in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))


def test_repository_has_no_import_cycle(checker, capsys):
    """The four distributions' pyacq packages pass the check: no module imports, directly
    or through others, a module that imports it back (imports inside functions included)."""
    assert checker.main(str(REPOSITORY)) == 0, capsys.readouterr().out


def test_an_import_inside_a_function_closes_a_cycle(checker, tmp_path):
    """A module-level import one way and a function-level import back is a cycle, found
    with both modules; relative imports (``from . import``, ``from .x import``) count."""
    write_tree(tmp_path, {
        "pyacq-dsp/pyacq/dsp/__init__.py": "",
        "pyacq-dsp/pyacq/dsp/engines.py": """
            from .kernels import kernel

            def choose():
                return kernel
        """,
        "pyacq-dsp/pyacq/dsp/kernels.py": """
            def kernel():
                from . import engines
                return engines
        """,
        "pyacq-dsp/pyacq/dsp/leaf.py": "import numpy\n",
    })
    _, graph, components = checker.find_cycles(tmp_path)
    assert components == [["pyacq.dsp.engines", "pyacq.dsp.kernels"]]
    assert graph["pyacq.dsp.kernels"] == {"pyacq.dsp.engines": [3]}


def test_a_cycle_through_packages_of_two_distributions_fails(checker, tmp_path, capsys):
    """A cycle across distributions (core importing a plugin that imports core) fails the
    check, which names every import statement of the cycle with its file and line."""
    write_tree(tmp_path, {
        "pyacq-core/pyacq/__init__.py": "",
        "pyacq-core/pyacq/core/__init__.py": "",
        "pyacq-core/pyacq/core/node.py": "def f():\n    import pyacq.viewers.scope\n",
        "pyacq-viewers/pyacq/viewers/__init__.py": "",
        "pyacq-viewers/pyacq/viewers/scope.py": "from pyacq.core.node import f\n",
    })
    assert checker.main(str(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "IMPORT CYCLE: pyacq.core.node, pyacq.viewers.scope" in out
    assert "pyacq.core.node -> pyacq.viewers.scope  (pyacq-core/pyacq/core/node.py:2)" in out
    assert "pyacq.viewers.scope -> pyacq.core.node  (pyacq-viewers/pyacq/viewers/scope.py:1)" in out
