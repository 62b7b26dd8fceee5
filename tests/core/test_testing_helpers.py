"""pyacq.testing, the helpers plugin authors test their nodes with, does what it documents."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from process_checks import assert_gone
from pyacq.devices import NumpyDeviceBuffer
from pyacq.testing import read_samples


@pytest.fixture
def local_device():
    """A NumpyDeviceBuffer replaying a known (n, 3) ramp over inproc, initialized, closed at the end."""
    buffer = np.arange(3000, dtype="float32").reshape(1000, 3)
    device = NumpyDeviceBuffer(name="ramp")
    device.configure(nb_channel=3, sample_interval=0.001, chunksize=40, buffer=buffer)
    device.output.configure(protocol="inproc", transfermode="plaindata")
    device.initialize()
    yield device, buffer
    if device.running():
        device.stop()
    device.close()


def test_read_samples_returns_the_next_samples_in_order(local_device):
    """read_samples() connects, returns exactly the number of samples asked for, contiguous and
    equal to what the device sent (its buffer from the start index on), with that index."""
    device, buffer = local_device

    device.start()
    start, data = read_samples(device.output, 150, timeout=10)
    assert data.shape == (150, 3)
    rows = (start + np.arange(150)) % len(buffer)
    np.testing.assert_array_equal(data, buffer[rows])


def test_read_samples_names_the_stream_when_samples_do_not_come(local_device):
    """A source that sends nothing makes read_samples() raise TimeoutError after its timeout,
    naming the stream's address and how many samples came."""
    device, _ = local_device
    with pytest.raises(TimeoutError, match=r"0 of 10 samples arrived from inproc://"):
        read_samples(device.output, 10, timeout=0.3)


def _run_plugin_tests(tmp_path, body):
    """Run a plugin's test file using the pyacq_manager fixture in a fresh pytest; return it."""
    test_file = tmp_path / "test_plugin.py"
    test_file.write_text(textwrap.dedent(body))
    # A project of its own, as a plugin's is: without it, a temporary directory inside this
    # checkout (nox puts TMPDIR there) would take pyacq's own pytest configuration.
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "pyacq.testing.fixtures",
                           "-p", "no:cacheprovider", str(test_file)],
                          check=False, cwd=tmp_path, capture_output=True, text=True, timeout=300)


def test_the_manager_fixture_runs_a_remote_node_and_cleans_up(tmp_path):
    """A plugin's test can use the pyacq_manager fixture (enabled as a pytest plugin) to create
    a node by name in a NodeGroup and read its output; it passes, leaving no process."""
    result = _run_plugin_tests(tmp_path, """
        from pyacq.testing import read_samples

        def test_remote_device(pyacq_manager):
            nodegroup = pyacq_manager.create_nodegroup(name="plugin-under-test", qt=False)
            device = nodegroup.create_node("NumpyDeviceBuffer", name="dev")
            device.configure(nb_channel=2, sample_interval=0.001, chunksize=20)
            device.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
            device.initialize()
            device.start()
            start, data = read_samples(device.output, 100)
            assert data.shape == (100, 2)
            device.stop()
            device.close()
    """)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_running_manager_fails_a_test_that_leaves_a_process_or_a_file(tmp_path):
    """running_manager() (the fixture's body) fails, at its exit, a test that leaves a process
    it started running, or a pyacq shared-memory file behind, listing them (after its
    timeout, short here)."""
    pid_file, segment_file = tmp_path / "pid", tmp_path / "segment"
    result = _run_plugin_tests(tmp_path, f"""
        import os, subprocess, sys
        from pyacq.testing import running_manager

        def test_leaks_a_process():
            with running_manager(timeout=0.5):
                proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
                open({str(pid_file)!r}, "w").write(str(proc.pid))

        def test_leaks_a_file():
            with running_manager(timeout=0.5):
                segment = f"/dev/shm/pyacq-{{os.getpid()}}-testing-leak"
                open({str(segment_file)!r}, "w").write(segment)
                open(segment, "w").close()
    """)
    segment = segment_file.read_text() if segment_file.exists() else "(not made)"
    try:
        assert result.returncode != 0, result.stdout
        assert "processes still running" in result.stdout, result.stdout
        assert f"files left behind: ['{segment}']" in result.stdout, result.stdout
    finally:
        if pid_file.exists():
            pid = int(pid_file.read_text())
            os.kill(pid, 9)
            assert_gone(pid)
        if os.path.exists(segment):
            os.unlink(segment)
