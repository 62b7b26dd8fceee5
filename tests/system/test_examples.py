"""The scripts of examples/ run as a user runs them, headless, and do what they print.

Each script runs in its own interpreter with ``--duration 3``: Qt offscreen,
audio from a private PulseAudio daemon whose default source is a 440 Hz sine,
video from ffmpeg's lavfi test source. The runs go four at a time (they spend
most of their 3 s waiting); every process a run starts carries a marker in its
environment, so that any process it leaves behind is found even once it has
been re-parented.
"""
import os
import re
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from process_checks import assert_no_leftovers_since, leftovers, processes_tagged, wait_until

pytest.importorskip("PyQt5")
pytest.importorskip("pyqtgraph")

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
LAVFI = ["--camera", "testsrc=size=320x240:rate=30", "--format", "lavfi"]
RUN_TIMEOUT = 120.0
MARKER_VARIABLE = "PYACQ_EXAMPLE_TEST_MARKER"

#: run name -> (script, arguments)
RUNS = {
    "camera_remote": ("local_and_remote_nodes.py", ["--layout", "camera-remote", *LAVFI]),
    "all_local": ("local_and_remote_nodes.py", ["--layout", "all-local", *LAVFI]),
    "all_remote": ("local_and_remote_nodes.py", ["--layout", "all-remote", *LAVFI]),
    "noise_generator": ("noise_generator.py", []),
    "first_pipeline": ("first_pipeline.py", []),
    "receive_in_a_script": ("receive_in_a_script.py", []),
    "processing_node": ("processing_node.py", []),
    "webcam_viewer": ("webcam_viewer.py", LAVFI),
    "pyaudio_oscope_remote": ("pyaudio_oscope_remote.py", []),
    "pyaudio_wavelet_spectrogram": ("pyaudio_wavelet_spectrogram.py", []),
    "pyaudio_triggered_oscope": ("pyaudio_triggered_oscope.py", []),
    "pyaudio_oscope_local": ("pyaudio_oscope_local.py", []),
    "stream_monitor": ("stream_monitor.py", []),
    # Its --duration bounds the wait for each reply (the last --duration given wins): a loaded
    # machine may take more than 3 s to spawn the NodeGroup it asks for.
    "custom_rpc_client": ("custom_rpc_client.py", ["--duration", "60"]),
}


def run_example(name, env, cwd):
    """Run one example with ``--duration 3``; return (exit code, output, marker, seconds)."""
    script, arguments = RUNS[name]
    marker = f"{uuid.uuid4().hex}-{name}"
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, str(EXAMPLES_DIR / script), "--duration", "3", *arguments],
                            env={**env, MARKER_VARIABLE: marker}, cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        output, _ = proc.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        output, _ = proc.communicate(timeout=30)
        output += f"\n[killed after {RUN_TIMEOUT} s]"
    return proc.returncode, output, marker, time.monotonic() - started


@pytest.fixture(scope="module")
def example_runs(files_before_runs, pulseaudio_server, tmp_path_factory):
    """{run name: (exit code, output, marker, seconds)} of every run of RUNS; at teardown, any
    process a run left behind is killed (the tests report it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(pulseaudio_server, QT_QPA_PLATFORM="offscreen", PYTHONUNBUFFERED="1")
    cwd = tmp_path_factory.mktemp("examples")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(run_example, name, env, cwd) for name in RUNS}
        results = {name: future.result() for name, future in futures.items()}
    yield results
    for _, _, marker, _ in results.values():
        for pid in processes_tagged(MARKER_VARIABLE, marker):
            os.kill(pid, 9)


@pytest.fixture(scope="module")
def files_before_runs():
    """pyacq's shared memory and temporary files present before the examples ran."""
    return leftovers()


def finished(example_runs, name):
    """The output of run *name*, once checked that it exited with 0 and left no process."""
    code, output, marker, _ = example_runs[name]
    assert code == 0, f"{name} exited with {code}:\n{output}"
    assert wait_until(lambda: not processes_tagged(MARKER_VARIABLE, marker), 30.0), \
        f"{name} left processes running: {processes_tagged(MARKER_VARIABLE, marker)}\n{output}"
    return output


def number(output, label):
    """The number printed after ``label:`` (the last one if printed several times)."""
    values = re.findall(rf"^{re.escape(label)}: (-?\d+(?:\.\d+)?)", output, re.MULTILINE)
    assert values, f"{label!r} not printed:\n{output}"
    return float(values[-1])


def process_layout(output):
    """(this process, camera's, viewer's) pids printed by local_and_remote_nodes.py."""
    match = re.search(r"this process: (\d+); camera in: (\d+); viewer in: (\d+)", output)
    assert match, f"process layout not printed:\n{output}"
    return tuple(int(v) for v in match.groups())


@pytest.mark.parametrize("layout, camera_here, viewer_here", [
    ("camera_remote", False, True), ("all_local", True, True), ("all_remote", False, False)])
def test_local_and_remote_nodes(example_runs, files_before_runs, layout, camera_here, viewer_here):
    """Each layout puts the camera and the viewer in the processes it names, and the viewer
    shows lavfi frames (30 frames/s for 3 s) wherever it lives."""
    output = finished(example_runs, layout)
    main, camera, viewer = process_layout(output)
    assert (camera == main, viewer == main) == (camera_here, viewer_here), output
    if not camera_here and not viewer_here:
        assert camera == viewer, "all-remote puts both nodes in one NodeGroup process"
    assert number(output, "frames shown") >= 10, output


def test_noise_generator(example_runs, files_before_runs):
    """The custom node streams about 1000 samples/s for 3 s, and the oscilloscope receives
    them: at most the last timer tick's samples may still be in flight when it stops."""
    output = finished(example_runs, "noise_generator")
    sent, displayed = number(output, "samples sent"), number(output, "samples displayed")
    assert sent >= 1500, output
    assert sent - 500 <= displayed <= sent, output


def test_first_pipeline(example_runs, files_before_runs):
    """Device, filter and oscilloscope in one process: about 1000 samples/s for 3 s pass
    through the filter into the viewer, and the viewer saw no gap."""
    output = finished(example_runs, "first_pipeline")
    assert number(output, "samples filtered and drawn") >= 1500, output
    assert number(output, "gaps seen by the viewer") == 0, output


def test_receive_in_a_script(example_runs, files_before_runs):
    """A plain script reads a remote device's 1 kHz stream for 3 s through an InputStream,
    with no gap."""
    output = finished(example_runs, "receive_in_a_script")
    assert number(output, "samples received") >= 2000, output
    assert "gaps: 0, samples lost: 0" in output, output


def test_processing_node(example_runs, files_before_runs):
    """The example ProcessingNode carries its filter state across chunks: its output equals
    the computation on the whole signal (float32 rounding), and no chunk failed."""
    output = finished(example_runs, "processing_node")
    assert number(output, "samples processed") >= 2000, output
    difference = re.search(r"at once: (\S+)", output)
    assert difference and float(difference.group(1)) < 1e-5, output
    assert number(output, "chunks that failed") == 0, output


def test_webcam_viewer(example_runs, files_before_runs):
    """The camera NodeGroup opens the 320x240 lavfi source and the local viewer shows its frames."""
    output = finished(example_runs, "webcam_viewer")
    assert "video: [240, 320, 3] at 30 frames/s" in output, output
    assert number(output, "frames shown") >= 10, output


@pytest.mark.parametrize("name", ["pyaudio_oscope_local", "pyaudio_oscope_remote"])
def test_pyaudio_oscilloscopes(example_runs, files_before_runs, name):
    """The oscilloscope receives the sound server's stream (44100 samples/s; at least 1 s of
    it in 3 s) and draws it."""
    output = finished(example_runs, name)
    assert number(output, "samples received") >= 44100, output
    assert number(output, "frames drawn") >= 1, output


def test_pyaudio_oscope_remote_uses_a_child_process(example_runs, files_before_runs):
    """The PyAudio node of the remote oscilloscope lives in another process than the viewer."""
    output = finished(example_runs, "pyaudio_oscope_remote")
    match = re.search(r"this process: (\d+), PyAudio node in process: (\d+)", output)
    assert match and match.group(1) != match.group(2), output


def test_pyaudio_wavelet_spectrogram(example_runs, files_before_runs):
    """The spectrogram computed in a worker process peaks at the 440 Hz of the sine source
    (the frequency step is 20 Hz)."""
    output = finished(example_runs, "pyaudio_wavelet_spectrogram")
    assert abs(number(output, "peak frequency") - 440) <= 40, output


def test_pyaudio_triggered_oscope(example_runs, files_before_runs):
    """Every rising crossing of the 440 Hz tone starts a sweep: hundreds in 3 s."""
    output = finished(example_runs, "pyaudio_triggered_oscope")
    assert number(output, "sweeps stacked") >= 200, output


def test_stream_monitor(example_runs, files_before_runs):
    """The monitor receives the 50-sample chunks sent twice a second, loses none, and prints
    one line per chunk with its index, shape and dtype."""
    output = finished(example_runs, "stream_monitor")
    match = re.search(r"chunks received: (\d+), samples: (\d+), lost: (\d+)", output)
    assert match, output
    chunks, samples, lost = map(int, match.groups())
    assert chunks >= 3 and samples == 50 * chunks and lost == 0, output
    assert "chunk up to index 50: shape (50, 7), dtype float64" in output, output


def test_custom_rpc_client(example_runs, files_before_runs):
    """The zmq + json client gets the NodeGroup it asked the Manager for and lists the node
    types of that process."""
    output = finished(example_runs, "custom_rpc_client")
    types = re.search(r"^node types: (.*)$", output, re.MULTILINE)
    assert types, output
    assert {"NumpyDeviceBuffer", "PyAudio", "QOscilloscope"} <= set(types.group(1).split(", ")), output


def test_examples_leave_no_file_behind(example_runs, files_before_runs):
    """No shared memory segment, ipc socket or NodeGroup directory outlives the examples."""
    assert_no_leftovers_since(files_before_runs)
