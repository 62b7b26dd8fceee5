"""Lazy package exports (PEP 562): a name is imported from its module on first access.

pyacq packages expose many names whose modules pull heavy or optional
dependencies (Qt, zmq, device libraries). Resolving them on first access keeps
``import pyacq.<package>`` cheap and free of those dependencies.
"""
import importlib


def lazy_exports(package_name, names):
    """Return ``(__getattr__, __dir__)`` for a package exporting ``{name: module}``."""
    package = importlib.import_module(package_name)

    def __getattr__(name):
        module_name = names.get(name)
        if module_name is None:
            raise AttributeError(f"module {package_name!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module_name), name)
        setattr(package, name, value)
        return value

    def __dir__():
        return sorted(set(vars(package)) | set(names))

    return __getattr__, __dir__
