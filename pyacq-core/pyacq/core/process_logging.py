"""``pyacq.core.process_logging``: the module :mod:`pyacq.core.distributed._process_logging` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.distributed import _process_logging

sys.modules[__name__] = _process_logging
