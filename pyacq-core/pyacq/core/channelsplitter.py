"""``pyacq.core.channelsplitter``: the module :mod:`pyacq.core.streamtools.channelsplitter` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).
"""
import sys

from pyacq.core.streamtools import channelsplitter

sys.modules[__name__] = channelsplitter
