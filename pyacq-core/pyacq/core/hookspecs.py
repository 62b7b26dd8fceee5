"""``pyacq.core.hookspecs``: the module :mod:`pyacq.core.plugins.hookspecs` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.plugins import hookspecs

sys.modules[__name__] = hookspecs
