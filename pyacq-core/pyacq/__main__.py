"""``python -m pyacq`` runs the ``pyacq`` command line."""
import sys

from pyacq.cli import main

sys.exit(main())
