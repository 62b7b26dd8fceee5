"""Build backend of the repository root: explains how to install pyacq from a checkout.

The root ``pyproject.toml`` holds tool settings only; pyacq's distributions
are its four sub-directories. Without this backend ``pip install .`` here
would build an empty distribution named UNKNOWN and report success. Every hook
stops the build instead, with the commands that install pyacq.
"""
import os

COMMANDS = """\
pyacq is four distributions, one per sub-directory of this repository: install them by path.
From {root}:

  everything, with the extras of every device, viewer and recorder:
    pip install "./pyacq-core[qt,blosc,hdf5,av]" "./pyacq-devices[audio,av,imageio,serial,hid,crypto,lsl]" "./pyacq-dsp[opencl]" ./pyacq-viewers
  headless processing:
    pip install ./pyacq-core ./pyacq-dsp
  display:
    pip install "./pyacq-core[qt]" ./pyacq-dsp ./pyacq-viewers

Add -e before each path for an editable (development) install.
"""


def _refuse(*_args, **_kwargs):
    raise SystemExit("\n" + COMMANDS.format(root=os.getcwd()))


get_requires_for_build_wheel = get_requires_for_build_sdist = get_requires_for_build_editable = _refuse
prepare_metadata_for_build_wheel = prepare_metadata_for_build_editable = _refuse
build_wheel = build_sdist = build_editable = _refuse
