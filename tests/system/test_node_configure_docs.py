"""Every registered node type documents the keywords of its ``configure()`` (numpydoc).

``help(node.configure)`` is what a user reads to configure a node, local or
remote, so each keyword it accepts must have a ``Parameters`` entry with a
type, a description and its default (or "required" / "optional"), and no entry
may describe a keyword the method does not take. The documentation is that of
the ``_configure`` hook the class runs (see ``pyacq.core._node_configure``).
"""
import inspect
import warnings

import pytest
from numpydoc.docscrape import NumpyDocString
from pyacq.core.node import Node
from pyacq.core.registry import get_node_type, list_node_types

#: Words by which an entry states what happens when the keyword is left out.
DEFAULT_WORDS = ("default", "optional", "required")

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def configure_doc_problems(node_class):
    """What is missing from, or wrong in, the documentation of ``node_class.configure``.

    Returns
    -------
    list of str
        One message per problem, naming the node type, the keyword and the fix;
        empty when the documentation is complete.
    """
    type_name = node_class.__name__
    fix = f"in the numpydoc docstring of {type_name}'s _configure (or of the class it inherits it from)"
    parameters = list(inspect.signature(node_class.configure).parameters.values())[1:]
    named = [p.name for p in parameters if p.kind in _NAMED]
    var_keyword = [p.name for p in parameters if p.kind == inspect.Parameter.VAR_KEYWORD]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            sections = NumpyDocString(node_class.configure.__doc__ or "")
        except Warning as warning:
            return [(f"{type_name}.configure: numpydoc cannot parse its docstring ({warning}); "
                     f"fix the sections {fix}")]
    entries = {}
    for entry in sections["Parameters"]:
        for name in entry.name.split(","):
            entries[name.strip().replace("\\", "").lstrip("*")] = entry
    problems = []
    if not named and not var_keyword and "no keyword" not in node_class.configure.__doc__:
        problems.append(f"{type_name}.configure takes no keyword and its documentation does not "
                        f"say so; write 'takes no keyword' {fix}")
    for name in named:
        entry = entries.get(name)
        if entry is None:
            problems.append(f"{type_name}.configure: keyword {name!r} is not documented; add a "
                            f"Parameters entry '{name} : type, default ...' {fix}")
            continue
        if not entry.type.strip():
            problems.append(f"{type_name}.configure: keyword {name!r} has no type; write "
                            f"'{name} : type, default ...' {fix}")
        if not "".join(entry.desc).strip():
            problems.append(f"{type_name}.configure: keyword {name!r} has no description; say what "
                            f"it does, its units and allowed values {fix}")
        stated = " ".join([entry.type, *entry.desc]).lower()
        if not any(word in stated for word in DEFAULT_WORDS):
            problems.append(f"{type_name}.configure: keyword {name!r} does not state its default; "
                            f"write 'default X', 'optional' or 'required' in its entry {fix}")
    for name in entries:
        if name not in named and name not in var_keyword:
            problems.append(f"{type_name}.configure: the Parameters entry {name!r} names no keyword "
                            f"of configure{inspect.signature(node_class.configure)}; rename or "
                            f"remove it {fix}")
    return problems


@pytest.mark.parametrize("type_name", list_node_types())
def test_node_type_documents_its_configure_keywords(type_name):
    """Each node type of the registry documents every configure() keyword with a type, a
    description and its default, documents no keyword it does not take, and says so when it
    takes none."""
    problems = configure_doc_problems(get_node_type(type_name))
    assert not problems, "\n".join(problems)


class _Base(Node):
    def _configure(self, rate=10.0):
        """Set the rate.

        Parameters
        ----------
        rate : float, default 10.0
            Samples per second (Hz).
        """


class _Inheriting(_Base):
    """A node that runs its parent's _configure."""


class _Undocumented(Node):
    """A node whose configure keywords are not documented as they should be."""

    def _configure(self, rate=10.0, gain=1.0, size=4):
        """Set things.

        Parameters
        ----------
        rate : float
            Samples per second (Hz).
        size : int, default 4
        width : int, default 3
            Not a keyword of this node.
        """


class _NoKeyword(Node):
    """A node that says nothing about its configure()."""


def test_inherited_configure_shows_the_parent_hook_documentation():
    """A node class inheriting _configure from a parent node class shows that hook's
    documentation in configure(), not its own class docstring; one with Node's hook shows its
    class docstring."""
    assert "rate : float, default 10.0" in _Inheriting.configure.__doc__
    assert "A node that runs its parent's _configure." not in _Inheriting.configure.__doc__
    assert configure_doc_problems(_Inheriting) == []
    assert "A node that says nothing about its configure()." in _NoKeyword.configure.__doc__


def test_the_check_names_each_documentation_fault():
    """The check reports a keyword with no entry, one with no default stated, one with no
    description, an entry for a keyword that does not exist, and a node taking no keyword that
    does not say so, each message naming the node type and the keyword."""
    problems = "\n".join(configure_doc_problems(_Undocumented))
    assert "_Undocumented.configure: keyword 'gain' is not documented" in problems
    assert "_Undocumented.configure: keyword 'rate' does not state its default" in problems
    assert "_Undocumented.configure: keyword 'size' has no description" in problems
    assert "_Undocumented.configure: the Parameters entry 'width' names no keyword" in problems
    assert len(problems.splitlines()) == 4
    assert configure_doc_problems(_NoKeyword) == [
        ("_NoKeyword.configure takes no keyword and its documentation does not say so; write "
         "'takes no keyword' in the numpydoc docstring of _NoKeyword's _configure (or of the "
         "class it inherits it from)")]
