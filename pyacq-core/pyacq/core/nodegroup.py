"""``pyacq.core.nodegroup``: the module :mod:`pyacq.core.distributed.nodegroup` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.distributed import nodegroup

sys.modules[__name__] = nodegroup
