"""`pyacq demo`, the README's first command: four processes, live viewers, screenshots, no loss."""
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import numpy as np
import pytest
from process_checks import assert_no_leftovers_since, leftovers, processes_tagged, wait_until

pytest.importorskip("PyQt5")
pytest.importorskip("pyqtgraph")

PYACQ = Path(sys.executable).with_name("pyacq")
SCREENSHOTS = ("raw_oscilloscope.png", "filtered_oscilloscope.png", "timefreq.png",
               "triggered_oscilloscope.png")


MARKER_VARIABLE = "PYACQ_DEMO_TEST_MARKER"


def headless_env(marker):
    """This environment without a display (nor XDG_RUNTIME_DIR, as under sudo or in CI), tagged
    so that the demo's processes can be found."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "XDG_RUNTIME_DIR")}
    env[MARKER_VARIABLE] = marker
    return env


def read_rgb(path):
    """The PNG's pixels, (height, width, 3) int."""
    import pyqtgraph as pg
    from pyqtgraph.Qt import QtGui
    image = QtGui.QImage(str(path))
    assert not image.isNull(), f"{path} is not a readable image"
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGB888)
    return pg.functions.ndarray_from_qimage(image)[:, :, :3].astype(int)


def lit_fraction(rgb):
    """Share of pixels brighter than the black background."""
    return float((rgb.sum(axis=2) > 60).mean())


def columns_with_stacked_traces(rgb, nb_trace=10):
    """Share of the plot's columns (axis margins excluded) crossed by at least ``nb_trace - 1``
    separate lit runs: the stacked channels drawn there (two may touch now and then)."""
    height, width = rgb.shape[:2]
    lit = rgb[:height - height // 8, width // 20: width - width // 50].sum(axis=2) > 60
    runs = (lit[1:] & ~lit[:-1]).sum(axis=0) + lit[0]
    return float(np.mean(runs >= nb_trace - 1))


def yellow_fraction(cell):
    """Share of a spectrogram cell at the top of the viridis colormap (amplitude >= clim)."""
    r, g, b = cell[..., 0], cell[..., 1], cell[..., 2]
    return float(((r > 180) & (g > 180) & (b < 120)).mean())


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One `pyacq demo --headless 10` run without a display, as CI runs it."""
    shots = tmp_path_factory.mktemp("demo-screenshots")
    marker = uuid.uuid4().hex
    before = leftovers()
    result = subprocess.run([str(PYACQ), "demo", "--headless", "10", "--screenshots", str(shots)],
                            capture_output=True, text=True, timeout=180, check=False,
                            env=headless_env(marker))
    return result, shots, marker, before


def test_demo_exits_0_and_leaves_nothing_behind(demo_run):
    """The demo exits 0 with 'demo ok'; none of its processes (Manager, Host, three
    NodeGroups) outlives it, and it leaves no shared memory or temporary directory."""
    result, _, marker, before = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == "demo ok"
    assert wait_until(lambda: not processes_tagged(MARKER_VARIABLE, marker), 30.0), \
        f"demo processes still alive: {processes_tagged(MARKER_VARIABLE, marker)}"
    assert_no_leftovers_since(before)


def test_demo_prints_no_qt_noise(demo_run):
    """Qt's harmless offscreen warnings (XDG_RUNTIME_DIR not set, propagateSizeHints) are not
    printed."""
    result, _, _, _ = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    assert "XDG_RUNTIME_DIR" not in result.stderr and "propagateSizeHints" not in result.stderr


def test_demo_prints_rates_and_no_gap(demo_run):
    """Progress lines show both streams every second; the final table gives each stream's rate
    within 2 % of 1000 Hz and 0 gaps, 0 lost samples and 0 overruns for every consumer (the
    remote filter, every viewer, every remote TimeFreqWorker)."""
    result, _, _, _ = demo_run
    lines = result.stdout.splitlines()
    assert lines[0].startswith("simulated_eeg: 9 EEG channels + stim at 1000 Hz"), lines[0]
    progress = [line for line in lines if line.startswith("t=")]
    assert len(progress) >= 8, result.stdout
    assert all("gaps 0" in line for line in progress), result.stdout
    rates = {m.group(1): float(m.group(2)) for m in
             (re.match(r"(raw|filtered)\s+([\d.]+)\s+1000\s+\d+$", line) for line in lines) if m}
    assert set(rates) == {"raw", "filtered"}, result.stdout
    assert all(rate == pytest.approx(1000.0, rel=0.02) for rate in rates.values()), rates
    consumers = [re.match(r"(raw|filtered)\s+(.+?)\s+(\d+)\s+(\d+)\s+(\d+)$", line) for line in lines]
    consumers = [m for m in consumers if m]
    names = {m.group(2) for m in consumers}
    assert {"bandpass (filtering)", "raw_oscilloscope", "filtered_oscilloscope", "triggered",
            "timefreq", "timefreq-worker9 (timefreq_workers)"} <= names, result.stdout
    assert all(m.group(3, 4, 5) == ("0", "0", "0") for m in consumers), result.stdout


def test_screenshots_show_live_data(demo_run):
    """Every window was saved as a PNG showing live data: the oscilloscopes draw every stacked
    channel across the whole window, the raw trace (50 Hz mains, drift) is busier than the
    band-passed one, the triggered view shows its epochs, and the spectrogram is not uniform:
    the occipital channel O1 (strong 10 Hz alpha) is brighter than the frontal Fp1."""
    result, shots, _, _ = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    for name in SCREENSHOTS:
        assert f"screenshot: {shots / name}" in result.stdout
    raw, filtered, timefreq, triggered = (read_rgb(shots / name) for name in SCREENSHOTS)
    for name, rgb in (("raw", raw), ("filtered", filtered)):
        assert columns_with_stacked_traces(rgb) > 0.9, f"{name}: channels missing over part of the window"
    assert lit_fraction(raw) > 1.3 * lit_fraction(filtered), (lit_fraction(raw), lit_fraction(filtered))
    assert lit_fraction(triggered) > 0.05
    height, width = timefreq.shape[:2]
    cells = [[timefreq[r * height // 3:(r + 1) * height // 3, c * width // 3:(c + 1) * width // 3]
              for c in range(3)] for r in range(3)]
    brightness = timefreq.sum(axis=2)
    assert brightness.std() > 50, "the spectrogram is uniform"
    fp1, o1 = yellow_fraction(cells[0][0]), yellow_fraction(cells[2][1])
    assert o1 > 0.02 and o1 > 3 * fp1, (fp1, o1)


def test_missing_plugin_names_the_distribution(run_python):
    """Without the SosFilter node type the demo stops at once, before spawning anything,
    with exit code 1 and a pip command that installs pyacq-dsp from a checkout (no index
    serves it): its directory in this checkout when pyacq-core runs from one, else
    ./pyacq-dsp from the root of a checkout."""
    result = run_python("""
        import sys
        from pyacq.core import registry
        from pyacq.cli import main
        registry._node_entry_points().pop("SosFilter")
        sys.exit(main(["demo", "--headless", "1"]))
    """, check=False, timeout=60)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "simulated_eeg" not in result.stdout
    command = re.search(r"install them with: pip install (\S+)(.*)", result.stderr)
    assert command, result.stderr
    path, rest = command.groups()
    if Path(path).is_absolute():
        assert Path(path, "pyproject.toml").is_file() and Path(path).name == "pyacq-dsp", path
    else:
        assert path == "./pyacq-dsp" and "from the root of a pyacq checkout" in rest, result.stderr


def test_install_command_names_directories_of_this_checkout():
    """The install command of missing plugins names their directories in the checkout
    pyacq-core runs from (the editable layout), paths pip installs without an index."""
    from pyacq import demo
    checkout = Path(demo.__file__).resolve().parents[2]
    if not (checkout / "pyacq-dsp" / "pyproject.toml").is_file():
        pytest.skip("pyacq-core is not installed from a checkout here")
    assert demo.install_command(["pyacq-dsp", "pyacq-viewers"]) == (
        f"pip install {checkout / 'pyacq-dsp'} {checkout / 'pyacq-viewers'}")


def test_default_is_offscreen_for_a_while_without_display(monkeypatch):
    """Without DISPLAY/WAYLAND_DISPLAY `pyacq demo` runs offscreen for the default time (so
    `./dev.sh demo` ends by itself in CI); with a display it opens windows; an explicit
    --headless duration wins, and a non-positive one is refused."""
    from pyacq import demo
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert demo.headless_seconds(None) == demo.DEFAULT_HEADLESS_SECONDS
    monkeypatch.setenv("DISPLAY", ":0")
    assert demo.headless_seconds(None) is None
    assert demo.headless_seconds(3) == 3.0
    with pytest.raises(ValueError, match="positive number of seconds"):
        demo.headless_seconds(0)


def test_cli_refuses_bad_headless_duration():
    """`--headless` takes a positive number of seconds; anything else is an argparse error."""
    result = subprocess.run([str(PYACQ), "demo", "--headless", "-2"], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 2
    assert "must be a positive number of seconds" in result.stderr
