"""``pyacq.core.manager``: the module :mod:`pyacq.core.distributed.manager` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.distributed import manager

sys.modules[__name__] = manager
