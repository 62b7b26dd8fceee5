"""The `pyacq` console script: nodes, devices, --version."""
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

PYACQ = Path(sys.executable).with_name("pyacq")


def pyacq_command(*args, extra_path=()):
    env = dict(os.environ)
    if extra_path:
        env["PYTHONPATH"] = os.pathsep.join([*map(str, extra_path), env.get("PYTHONPATH", "")])
    return subprocess.run([str(PYACQ), *args], capture_output=True, text=True, timeout=60, env=env, check=False)


@pytest.fixture(autouse=True)
def needs_console_script():
    assert PYACQ.exists(), f"the pyacq console script is not installed next to {sys.executable}"


def test_version():
    """`pyacq --version` prints the installed pyacq-core version."""
    result = pyacq_command("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"pyacq {version('pyacq-core')}"


def test_nodes_lists_installed_types_with_distribution():
    """`pyacq nodes` lists every installed node type with its distribution and class."""
    result = pyacq_command("nodes")
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()[1:]}
    assert rows["SineGenerator"] == ["pyacq-sine-example", "pyacq_sine:SineGenerator"]


def test_nodes_lists_broken_plugin_without_importing_it(site_dir, write_dist):
    """`pyacq nodes` reads metadata only: a plugin that cannot import is still listed."""
    write_dist(site_dir, "broken-plugin", {"pyacq.nodes": {"BrokenNode": "broken_nodes:BrokenNode"}},
               {"broken_nodes": "raise ImportError('missing libfoo')\n"})
    result = pyacq_command("nodes", extra_path=[site_dir])
    assert result.returncode == 0, result.stderr
    assert any(line.split()[:3] == ["BrokenNode", "broken-plugin", "broken_nodes:BrokenNode"]
            for line in result.stdout.splitlines())


def test_devices_lists_what_plugins_report(site_dir, write_dist):
    """`pyacq devices` prints the devices of every plugin's pyacq_list_devices hook;
    a plugin whose probe fails is reported on stderr and the others still list."""
    write_dist(site_dir, "cam-plugin", {"pyacq.plugins": {"cams": "cam_hooks"}}, {"cam_hooks": """
        from pyacq.core.plugins import hookimpl

        @hookimpl
        def pyacq_list_devices():
            return [{"node_type": "WebCamAV", "name": "Lab camera", "configure": {"camera_num": 2}}]
    """})
    write_dist(site_dir, "flaky-plugin", {"pyacq.plugins": {"flaky": "flaky_hooks"}}, {"flaky_hooks": """
        from pyacq.core.plugins import hookimpl

        @hookimpl
        def pyacq_list_devices():
            raise OSError("usb bus busy")
    """})
    write_dist(site_dir, "broken-hooks", {"pyacq.plugins": {"broken": "broken_hooks"}},
               {"broken_hooks": "raise ImportError('no libusb')\n"})
    result = pyacq_command("devices", extra_path=[site_dir])
    assert result.returncode == 0, result.stderr
    assert "WebCamAV: Lab camera  configure(camera_num=2)" in result.stdout
    assert "'flaky'" in result.stderr and "usb bus busy" in result.stderr
    assert "broken-hooks" in result.stderr and "no libusb" in result.stderr


def test_no_command_prints_help():
    """`pyacq` without a command prints the usage and fails."""
    result = pyacq_command()
    assert result.returncode == 2
    assert "nodes" in result.stdout and "devices" in result.stdout


def test_unknown_command_is_refused():
    """An unknown command is refused with argparse's error naming it."""
    result = pyacq_command("frobnicate")
    assert result.returncode == 2
    assert "frobnicate" in result.stderr


def test_host_serves_until_interrupted():
    """`pyacq host tcp://IP:PORT` prints where it serves, and exits cleanly on Ctrl-C."""
    import signal
    proc = subprocess.Popen([str(PYACQ), "host", "tcp://127.0.0.1:*", "--name", "bench"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("pyacq host bench serving at tcp://127.0.0.1:"), line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()
        proc.stderr.close()


def test_host_refuses_an_unusable_address():
    """`pyacq host` refuses an address Managers could not reach, and says why."""
    result = pyacq_command("host", "tcp://0.0.0.0:5678")
    assert result.returncode == 2
    assert "give the IP of the interface to serve on" in result.stderr
