"""``pyacq.core.inputpoller``: the module :mod:`pyacq.core.streamtools.inputpoller` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.streamtools import inputpoller

sys.modules[__name__] = inputpoller
