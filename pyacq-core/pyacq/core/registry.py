"""``pyacq.core.registry``: the module :mod:`pyacq.core.plugins.registry` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.plugins import registry

sys.modules[__name__] = registry
