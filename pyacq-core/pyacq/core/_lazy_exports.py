"""Lazy module attributes (PEP 562): a name is made on first access, then kept in its module.

pyacq's packages export names whose modules pull heavy or optional dependencies
(Qt, zmq, device libraries, pyopencl). Making them on first access keeps
``import pyacq.<package>`` cheap and free of those dependencies, while
``from pyacq.<package> import Name`` and ``dir()`` behave as if the names were
defined there. Every lazy module of the four distributions builds its
``__getattr__`` and ``__dir__`` here, so that all of them resolve, keep, list
and refuse names the same way.
"""
import importlib
import sys


def lazy_exports(module_name, names, *, find_unlisted=None, list_unlisted=None):
    """Return the ``(__getattr__, __dir__)`` of a module whose names are made on first access.

    Parameters
    ----------
    module_name : str
        The ``__name__`` of the module; call this from the module's body, where the module
        is already in :data:`sys.modules`.
    names : dict
        ``{name: source}``. A ``str`` source is the module that defines ``name``, imported
        on first access (``{"PyAudio": "pyacq.devices.audio_pyaudio"}``); a callable
        source makes the value when called with no argument (a flag whose answer needs an
        import, a subpackage).
    find_unlisted : callable, optional
        ``find_unlisted(name)`` gives the value of a name that *names* does not list, or
        None when the module has no such name (``pyacq`` asks the node type registry).
        It may raise :class:`AttributeError` itself to explain why a name is missing.
    list_unlisted : callable, optional
        Gives the names that *find_unlisted* knows, so that ``dir()`` shows them.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)``, to assign at module level. A value is stored in the
        module once made, so each name is made once. An unknown name raises
        :class:`AttributeError` worded as Python's own, which ``from module import name``
        turns into its usual :class:`ImportError`.
    """
    module = sys.modules[module_name]

    def __getattr__(name):
        source = names.get(name)
        if source is None:
            value = None if find_unlisted is None else find_unlisted(name)
            if value is None:
                raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        elif callable(source):
            value = source()
        else:
            value = getattr(importlib.import_module(source), name)
        setattr(module, name, value)
        return value

    def __dir__():
        unlisted = () if list_unlisted is None else list_unlisted()
        return sorted(set(vars(module)) | set(names) | set(unlisted))

    return __getattr__, __dir__
