"""Lazy module attributes (pyacq.core._lazy_exports): the one way pyacq's modules make names
on first access."""
import ast
import sys
import types
from pathlib import Path

import pytest
from pyacq.core._lazy_exports import lazy_exports

REPOSITORY = Path(__file__).resolve().parents[2]
DISTRIBUTIONS = ("pyacq-core", "pyacq-devices", "pyacq-dsp", "pyacq-viewers")


@pytest.fixture
def make_module(monkeypatch):
    """``make_module(name, **attributes)``: a module put in sys.modules for this test only."""
    def make(name, **attributes):
        module = types.ModuleType(name)
        vars(module).update(attributes)
        monkeypatch.setitem(sys.modules, name, module)
        return module
    return make


def test_name_is_imported_from_its_module_on_first_access_and_kept(make_module):
    """A name listed with a module name is that module's object, imported only when first
    asked for, then stored in the lazy module (the next access does not call __getattr__)."""
    lazy = make_module("lazy_pkg")
    lazy.__getattr__, lazy.__dir__ = lazy_exports("lazy_pkg", {"Thing": "lazy_pkg_source"})
    assert "lazy_pkg_source" not in sys.modules
    source = make_module("lazy_pkg_source", Thing=object())
    assert lazy.Thing is source.Thing
    assert vars(lazy)["Thing"] is source.Thing
    from lazy_pkg import Thing
    assert Thing is source.Thing


def test_callable_source_makes_the_value_once(make_module):
    """A name listed with a callable gets the callable's result, made at the first access only."""
    calls = []

    def make_flag():
        calls.append(1)
        return True

    lazy = make_module("lazy_flags")
    lazy.__getattr__, lazy.__dir__ = lazy_exports("lazy_flags", {"HAVE_THING": make_flag})
    assert calls == []
    assert lazy.HAVE_THING is True and lazy.HAVE_THING is True
    assert calls == [1]


def test_unknown_name_raises_pythons_attribute_error(make_module):
    """A name nobody lists raises AttributeError worded as Python's own, and
    ``from module import name`` raises ImportError."""
    lazy = make_module("lazy_unknown")
    lazy.__getattr__, lazy.__dir__ = lazy_exports("lazy_unknown", {})
    with pytest.raises(AttributeError, match=r"^module 'lazy_unknown' has no attribute 'Missing'$"):
        _ = lazy.Missing
    with pytest.raises(ImportError, match="cannot import name 'Missing'"):
        from lazy_unknown import Missing  # noqa: F401
    assert not hasattr(lazy, "Missing")


def test_unlisted_names_are_asked_of_find_unlisted(make_module):
    """Names not listed go to ``find_unlisted``: its value is returned and kept, its None is
    the usual AttributeError, and an AttributeError it raises (explaining why) reaches the
    caller unchanged. Listed names never reach it."""
    asked = []

    def find(name):
        asked.append(name)
        if name == "Explained":
            raise AttributeError("Explained needs another package")
        return {"Found": 42}.get(name)

    lazy = make_module("lazy_unlisted")
    lazy.__getattr__, lazy.__dir__ = lazy_exports("lazy_unlisted", {"Listed": lambda: "listed"},
                                                  find_unlisted=find)
    assert lazy.Listed == "listed"
    assert lazy.Found == 42 and lazy.Found == 42
    with pytest.raises(AttributeError, match="^module 'lazy_unlisted' has no attribute 'Nothing'$"):
        _ = lazy.Nothing
    with pytest.raises(AttributeError, match="^Explained needs another package$"):
        _ = lazy.Explained
    assert asked == ["Found", "Nothing", "Explained"]


def test_dir_shows_defined_listed_and_unlisted_names_without_making_them(make_module):
    """``dir()`` lists the module's own names, the listed names and those of ``list_unlisted``,
    sorted, without importing or making any of them."""
    def never_called():
        raise AssertionError("dir() made a value")

    lazy = make_module("lazy_dir", defined=1)
    lazy.__getattr__, lazy.__dir__ = lazy_exports(
        "lazy_dir", {"Listed": "lazy_dir_never_imported", "Made": never_called},
        find_unlisted=lambda name: never_called(), list_unlisted=lambda: ["Unlisted"])
    names = dir(lazy)
    assert {"defined", "Listed", "Made", "Unlisted"} <= set(names)
    assert names == sorted(names)
    assert "lazy_dir_never_imported" not in sys.modules


def module_level_getattr_definitions():
    """``(path, line)`` of every module-level ``def __getattr__`` of the four distributions."""
    found = []
    for distribution in DISTRIBUTIONS:
        for path in sorted((REPOSITORY / distribution / "pyacq").rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            found += [(str(path.relative_to(REPOSITORY)), node.lineno) for node in tree.body
                      if isinstance(node, ast.FunctionDef) and node.name in ("__getattr__", "__dir__")]
    return found


def test_no_module_writes_its_own_lazy_getattr():
    """No module of the four distributions defines its own module ``__getattr__`` or
    ``__dir__``: each lazy module gets them from ``lazy_exports``, so that every lazy name is
    resolved, kept, listed and refused the same way."""
    assert module_level_getattr_definitions() == []
