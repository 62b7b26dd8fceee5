"""NodeGroups where Qt is missing or there is no display still start, with qt=True (the default)."""
import os

from process_checks import assert_gone

PYQT5_MISSING = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pyqt5_missing")


def test_nodegroup_without_pyqt5_warns_in_one_line_and_runs(run_python):
    """Where PyQt5 cannot be imported, create_nodegroup() (qt=True by default) starts a plain
    NodeGroup that creates headless nodes; all it prints is one warning line naming PyQt5,
    the install command and qt=False (no traceback)."""
    result = run_python("""
        import pyacq
        manager = pyacq.create_manager(auto_close_at_exit=False)
        nodegroup = manager.create_nodegroup()
        dev = nodegroup.create_node("NumpyDeviceBuffer")
        dev.configure(nb_channel=2, sample_interval=0.001, chunksize=20)
        print("created", dev.configured())
        manager.close()
    """, extra_path=[PYQT5_MISSING], timeout=120)
    assert result.stdout.splitlines() == ["created True"]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for part in ("WARNING", "PyQt5", "pip install 'pyacq-core[qt]'", "qt=False"):
        assert part in lines[0]


def test_qt_nodegroup_without_display_renders_offscreen(monkeypatch):
    """With PyQt5 but neither DISPLAY, WAYLAND_DISPLAY nor QT_QPA_PLATFORM, a Qt process
    starts (instead of Qt aborting), sets QT_QPA_PLATFORM=offscreen for itself only, and
    shows and renders a widget (pyacq-core alone has no widget node type, so a QLabel)."""
    from pyacq.core.rpc import ProcessSpawner
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    proc = ProcessSpawner(name="no-display", qt=True)
    try:
        assert proc.qt
        assert proc.client._import("os").getenv("QT_QPA_PLATFORM") == "offscreen"
        label = proc.client._import("PyQt5.QtWidgets").QLabel("offscreen")
        label.resize(120, 40)
        label.show()
        assert label.isVisible() is True
        assert label.grab().width() == 120
        label.close()
    finally:
        proc.close()
    assert_gone(proc.pid)
    assert "QT_QPA_PLATFORM" not in os.environ
