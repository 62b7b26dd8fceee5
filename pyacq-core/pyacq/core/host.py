"""``pyacq.core.host``: the module :mod:`pyacq.core.distributed.host` under its former path.

Importing this path gives that module itself (the same module object, hence the
same names and state, whichever path is imported first).

``python -m pyacq.core.host`` runs its command line, as ``pyacq host`` does.
"""
import sys

from pyacq.core.distributed import host

if __name__ == "__main__":
    sys.exit(host.main())

sys.modules[__name__] = host
