"""The public ``configure()`` of node classes, derived from their ``_configure`` hook.

A node class writes ``_configure(self, nb_channel=16, ...)``; users call
``node.configure(...)``. This module makes the public method show the hook's
parameters and documentation (``help(node.configure)``,
``inspect.signature``), and checks a call before the hook runs: a wrong
keyword is named with the public method, close matches and the valid
keywords, and an argument that reached a remote node as a proxy to the
caller's object (a lambda, a lock, an object array: something with no value
form) is refused, since a node's configuration must be values.
"""
import difflib
import inspect

from pyacq.core.rpc.proxy import ObjectProxy

_NAMED = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def public_configure(node_class, implementation):
    """Return the ``configure`` method of ``node_class``: ``implementation`` under the
    signature and documentation of ``node_class._configure``."""
    def configure(self, **kargs):
        return implementation(self, **kargs)

    hook = node_class._configure
    configure.__signature__ = _public_signature(hook)
    configure.__name__ = "configure"
    configure.__qualname__ = f"{node_class.__qualname__}.configure"
    configure.__module__ = node_class.__module__
    details = _hook_doc(node_class) or inspect.getdoc(node_class) or ""
    configure.__doc__ = (f"Set the parameters of this {node_class.__name__} (first step of the node "
                         f"lifecycle; keywords only).\n\n{details}").rstrip()
    configure.derived_from_configure_hook = True
    return configure


def _hook_doc(node_class):
    """The docstring of the ``_configure`` that ``node_class`` runs, or None for Node's own.

    That hook is the one of the nearest class in the MRO that defines it, so a
    subclass inheriting its parent node's ``_configure`` (a trigger from
    TriggerBase, a recorder from StreamRecorder) shows that parent's parameters.
    Node's hook, the farthest definition in the MRO, documents no parameter: it
    is skipped so that the class docstring is shown instead.
    """
    owners = [klass for klass in node_class.__mro__ if "_configure" in vars(klass)]
    if owners[0] is owners[-1]:
        return None
    return inspect.getdoc(vars(owners[0])["_configure"])


def _public_signature(hook):
    """``hook``'s signature with every named parameter after ``self`` keyword-only."""
    parameters = list(inspect.signature(hook).parameters.values())
    public = [parameters[0]]
    for parameter in parameters[1:]:
        if parameter.kind in _NAMED:
            public.append(parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY))
        elif parameter.kind == inspect.Parameter.VAR_KEYWORD:
            public.append(parameter)
    return inspect.Signature(public)


def check_keywords(describe, class_name, hook, kargs):
    """Raise TypeError if ``kargs`` do not fit the bound ``hook`` (unknown or missing keywords)."""
    parameters = inspect.signature(hook).parameters
    if any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    named = {name: p for name, p in parameters.items() if p.kind in _NAMED}
    method = f"{describe}: {class_name}.configure()"
    unknown = [key for key in kargs if key not in named]
    if unknown:
        guesses = []
        for key in unknown:
            close = difflib.get_close_matches(key, named, n=1)
            guesses.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
        plural = "s" if len(unknown) > 1 else ""
        raise TypeError(f"{method} got unexpected keyword argument{plural} {', '.join(guesses)}; "
                        f"{_valid_keywords(named)}")
    missing = [name for name, p in named.items() if p.default is p.empty and name not in kargs]
    if missing:
        raise TypeError(f"{method} needs the keyword argument{'s' if len(missing) > 1 else ''} "
                        f"{', '.join(repr(name) for name in missing)}; {_valid_keywords(named)}")


def _valid_keywords(named):
    if not named:
        return "it takes no keyword arguments"
    listed = [name if p.default is p.empty else f"{name}={p.default!r}" for name, p in named.items()]
    return f"valid keywords: {', '.join(listed)}"


def check_values(describe, class_name, kargs):
    """Raise TypeError naming the first argument (or item of one) that arrived as a lent proxy."""
    for name, value in kargs.items():
        found = _lent_proxy(value, name)
        if found is not None:
            path, what = found
            raise TypeError(
                f"{describe}: {class_name}.configure(): argument {path!r} is {what}, which has no "
                "value form, so it reached this remote node as a proxy to the caller's object; the "
                "configure parameters of a remote node must be values (numbers, strings, bytes, None, "
                "lists, tuples and dicts of values, numpy arrays of a non-object dtype); an object "
                "the node is meant to use remotely is passed as an explicit proxy "
                "(RPCServer.get_server().get_proxy(obj))"
            )


def _lent_proxy(value, path):
    """``(path, description)`` of the first lent proxy inside ``value``, or None."""
    if isinstance(value, ObjectProxy):
        lent = value.__dict__.get("_lent")
        return None if lent is None else (path, lent)
    if isinstance(value, (list, tuple)):
        items = enumerate(value)
    elif isinstance(value, dict):
        items = value.items()
    else:
        return None
    for key, item in items:
        found = _lent_proxy(item, f"{path}[{key!r}]")
        if found is not None:
            return found
    return None
