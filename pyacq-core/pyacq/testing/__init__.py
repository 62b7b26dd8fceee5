"""Helpers for testing node packages with real streams and real processes.

A plugin's tests drive its nodes as users do, with no mock of pyacq:

- :func:`read_samples` connects a fresh InputStream to an output and returns the
  next samples it sends, failing with an error that names the stream if they do not
  come, or if any were lost;
- :func:`running_manager` (and the ``pyacq_manager`` pytest fixture of
  :mod:`pyacq.testing.fixtures`, enabled with ``pytest_plugins =
  ["pyacq.testing.fixtures"]`` in a ``conftest.py``) gives a Manager in its own
  process and checks, when it closes, that no process, shared-memory segment or ipc
  socket file it made is left behind;
- :mod:`pyacq.testing.processes` reads the process table and pyacq's leftover files
  (Linux), for tests that start processes of their own.

Importing this package imports neither pytest nor Qt.
"""
from pyacq.testing.managers import running_manager
from pyacq.testing.streams import read_samples

__all__ = ["read_samples", "running_manager"]
