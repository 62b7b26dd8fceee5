"""``pyacq.core.qtcompat``: the module :mod:`pyacq.core._qtcompat` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core import _qtcompat

sys.modules[__name__] = _qtcompat
