"""``pyacq.core.streamrelay``: the module :mod:`pyacq.core.streamtools.streamrelay` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.streamtools import streamrelay

sys.modules[__name__] = streamrelay
