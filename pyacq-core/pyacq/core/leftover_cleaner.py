"""``pyacq.core.leftover_cleaner``: the module :mod:`pyacq.core.distributed._leftover_cleaner` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.distributed import _leftover_cleaner

sys.modules[__name__] = _leftover_cleaner
