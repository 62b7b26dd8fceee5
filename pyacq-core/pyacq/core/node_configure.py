"""``pyacq.core.node_configure``: the module :mod:`pyacq.core._node_configure` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core import _node_configure

sys.modules[__name__] = _node_configure
