"""``pyacq.core.streamconverter``: the module :mod:`pyacq.core.streamtools.streamconverter` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.streamtools import streamconverter

sys.modules[__name__] = streamconverter
