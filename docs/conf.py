"""Sphinx configuration of the pyacq documentation (built by ``nox -s docs``)."""
import os
import re
import sys
from importlib.metadata import entry_points
from pathlib import Path

from pyacq.core.node import Node

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))  # qt_gallery and node_pages

project = "pyacq"
author = "the pyacq developers"
copyright = "2026, the pyacq developers"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "qt_gallery",
    "node_pages",
]

html_theme = "pydata_sphinx_theme"
html_title = "pyacq"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5"]

autosummary_generate = True
autosummary_imported_members = False
# No default "members": it would override the node pages' ``:members: configure`` (autodoc
# replaces a directive's member list by a non-string default). The class template
# (_templates/autosummary/class.rst) asks for the members of the API pages itself.
autodoc_default_options = {"show-inheritance": True}
autodoc_typehints = "none"  # numpydoc's Parameters sections give the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
#: numpydoc validation of the public API: every parameter documented (PR01), no
#: documented parameter that does not exist (PR02), every parameter with a type (PR04)
#: and a description (PR07). Failures are warnings, which ``-W`` turns into errors.
numpydoc_validation_checks = {"PR01", "PR02", "PR04", "PR07"}


def _nodes_with_inherited_constructor():
    """Node types (from the ``pyacq.nodes`` entry points) that define no ``__init__``.

    Their constructor is a base's, unchanged: Node's ``(name='', parent=None)``, or a
    base's that hands the same keywords on to Node (ProcessingNode, StreamRecorder,
    QOscilloscope, ...). Node documents those keywords once; repeating them in every
    node's docstring would say nothing new, so numpydoc's check of the class
    docstring against the constructor is skipped for these classes only (their
    methods, ``configure`` among them, are still checked). A node type with its own
    ``__init__`` documents its parameters and is checked.
    """
    classes = (entry.load() for entry in entry_points(group="pyacq.nodes"))
    return {f"^{re.escape(cls.__module__ + '.' + cls.__qualname__)}$"
            for cls in classes if "__init__" not in vars(cls)}


numpydoc_validation_exclude = _nodes_with_inherited_constructor()


def _skip_configure_without_keywords(app, what, name, obj, skip, options):
    """Skip the ``configure`` of a node class that runs Node's own ``_configure``.

    Such a ``configure`` takes no keyword, and its docstring is the class docstring
    (see ``pyacq.core._node_configure``), shown just above it: for the bases
    WidgetNode and ProcessingNode that would repeat their constructor's Parameters
    under a method that does not take them.
    """
    if name != "configure" or not getattr(obj, "derived_from_configure_hook", False):
        return None
    owner = getattr(sys.modules.get(obj.__module__), obj.__qualname__.rpartition(".")[0], None)
    if owner is not None and owner._configure is Node._configure:
        return True
    return None


def setup(app):
    """Connect the member filter above (autodoc and autosummary both ask it)."""
    app.connect("autodoc-skip-member", _skip_configure_without_keywords)

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    # Every script runs, each for a few seconds (qt_gallery.example_arguments).
    "filename_pattern": r"\.py$",
    "ignore_pattern": r"plugin_sine",
    # Named, not given as functions, so that Sphinx can cache the configuration.
    "reset_argv": "qt_gallery.example_arguments",
    "image_scrapers": ("qt_gallery.qt_window_scraper",),
    "reset_modules": (),  # no matplotlib here
    "remove_config_comments": True,
    "download_all_examples": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "run_stale_examples": False,
    "show_memory": False,
    "within_subsection_order": "FileNameSortKey",
}

# Viewers render offscreen during the build; nothing may try a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
