"""Running the examples during the build: sound, arguments, and pictures of their windows.

sphinx-gallery executes each script of ``examples/`` in this process. The scripts
open Qt viewers and quit after ``--duration`` seconds; this extension

- starts the private PulseAudio daemon of the test suite (``tests/pulse_daemon.py``,
  whose default input is a 440 Hz tone) before the gallery runs, so that the sound
  card examples record real audio through PortAudio, and stops it at the end;
- gives each script its command line (:func:`example_arguments`): a short duration,
  and ffmpeg's synthetic test picture for the camera examples;
- creates the QApplication the scripts will reuse (``pg.mkQApp()`` returns it) and,
  when a script quits its event loop, grabs every visible top-level window: the
  viewers have drawn seconds of real data by then. :func:`qt_window_scraper` hands
  those pictures to sphinx-gallery. Windows of viewers living in another process
  are drawn there and cannot be grabbed here.
"""
import contextlib
import os
import sys
import tempfile
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

ROOT = Path(__file__).resolve().parents[2]
#: What every example runs for, in seconds: enough for the viewers to fill with data.
DURATION = "4"
CAMERA = ["--camera", "testsrc=size=320x240:rate=30", "--format", "lavfi"]
#: Extra arguments per example file name.
ARGUMENTS = {
    "webcam_viewer.py": CAMERA,
    "local_and_remote_nodes.py": ["--layout", "all-local", *CAMERA],
    # Its --duration bounds each reply, the spawn of a NodeGroup included (the last one wins).
    "custom_rpc_client.py": ["--duration", "60"],
}

_grabbed = []


def example_arguments(gallery_conf, script_vars):
    """``sys.argv[1:]`` for an example (sphinx-gallery's ``reset_argv``)."""
    name = Path(script_vars["src_file"]).name
    return ["--duration", DURATION, *ARGUMENTS.get(name, [])]


def qt_window_scraper(block, block_vars, gallery_conf):
    """Save the windows grabbed when the example quit; return their reST."""
    paths = []
    for picture in _grabbed:
        path = next(block_vars["image_path_iterator"])
        if not picture.save(str(path), "PNG"):
            raise RuntimeError(f"could not write the screenshot {path}")
        paths.append(str(path))
    _grabbed.clear()
    return figure_rst(paths, gallery_conf["src_dir"])


def _grab_visible_windows():
    from pyqtgraph.Qt import QtWidgets
    windows = [w for w in QtWidgets.QApplication.topLevelWidgets()
               if w.isVisible() and w.isWindow() and w.width() > 1]
    _grabbed.extend(window.grab() for window in windows)


def _start(app):
    """Start the sound server and the QApplication before sphinx-gallery runs the examples."""
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    sys.path.insert(0, str(ROOT / "tests"))
    from pulse_daemon import running_pulseaudio
    resources = contextlib.ExitStack()
    root = Path(resources.enter_context(tempfile.TemporaryDirectory(prefix="pyacq-docs-audio-")))
    os.environ.update(resources.enter_context(running_pulseaudio(root)))
    app.pyacq_gallery_resources = resources

    import pyqtgraph as pg
    qt_app = pg.mkQApp()
    qt_app.aboutToQuit.connect(_grab_visible_windows)


def _stop(app, exception):
    resources = getattr(app, "pyacq_gallery_resources", None)
    if resources is not None:
        resources.close()


def setup(app):
    """Register the start and stop of the gallery's sound server and Qt application."""
    # Before sphinx-gallery's own builder-inited handler (priority 500), which runs the scripts.
    app.connect("builder-inited", _start, priority=100)
    app.connect("build-finished", _stop)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
