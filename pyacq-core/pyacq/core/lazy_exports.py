"""``pyacq.core.lazy_exports``: the module :mod:`pyacq.core._lazy_exports` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core import _lazy_exports

sys.modules[__name__] = _lazy_exports
