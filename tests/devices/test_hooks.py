"""The pyacq_list_devices hook of pyacq-devices, found through its pyacq.plugins entry point."""
import os
import subprocess
import sys

import pytest
from pyacq.core.plugins import get_plugin_manager, list_devices
from pyacq.devices import hooks
from pyacq.devices.video_capture_devices import find_v4l2_device, list_v4l2_devices


def test_hook_module_is_registered_by_entry_point():
    """The plugin manager loads pyacq.devices.hooks through the 'devices' entry point."""
    assert get_plugin_manager().get_plugin("devices") is hooks


def test_portaudio_devices_are_listed(pulseaudio_server):
    """With the private PulseAudio daemon, ALSA's 'pulse' device is listed for the PyAudio
    node, once to record and once to play, with the configure() keywords selecting it."""
    pytest.importorskip("pyaudio")
    audio = [d for d in list_devices() if d["node_type"] == "PyAudio" and d["name"].startswith("pulse ")]
    assert {d["name"] for d in audio} == {"pulse (ALSA input)", "pulse (ALSA output)"}
    by_direction = {d["name"].split()[-1][:-1]: d for d in audio}
    index = by_direction["input"]["configure"]["input_device_index"]
    assert by_direction["output"]["configure"] == {"output_device_index": index}
    assert by_direction["input"]["channels"] >= 1 and by_direction["input"]["sample_rate"] > 0


def test_cli_shows_the_devices(pulseaudio_server):
    """`pyacq devices` prints the PyAudio devices found by the hook."""
    pytest.importorskip("pyaudio")
    result = subprocess.run([sys.executable, "-m", "pyacq.cli", "devices"], check=False, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "PyAudio: pulse (ALSA input)  configure(input_device_index=" in result.stdout


def test_v4l2_devices_are_read_from_dev_and_sysfs(tmp_path):
    """/dev/videoN nodes are listed in numeric order with their sysfs card names (the path
    when sysfs has none), and a camera is found by card name."""
    dev, sysfs = tmp_path / "dev", tmp_path / "sysfs"
    dev.mkdir()
    for n, name in ((10, "USB Camera"), (2, "Integrated Camera"), (3, None)):
        (dev / f"video{n}").touch()
        if name is not None:
            (sysfs / f"video{n}").mkdir(parents=True)
            (sysfs / f"video{n}" / "name").write_text(name + "\n")
    (dev / "videox").touch()
    devices = list_v4l2_devices(str(dev), str(sysfs))
    assert devices == [
        {"index": 2, "path": str(dev / "video2"), "name": "Integrated Camera"},
        {"index": 3, "path": str(dev / "video3"), "name": str(dev / "video3")},
        {"index": 10, "path": str(dev / "video10"), "name": "USB Camera"},
    ]
    assert find_v4l2_device("USB Camera", devices) == str(dev / "video10")
    assert find_v4l2_device("Missing", devices) is None


def test_serial_ports_come_from_pyserial():
    """Serial ports are pyserial's list, each offered to the OpenBCI node by its path."""
    list_ports = pytest.importorskip("serial.tools.list_ports")
    expected = sorted(port.device for port in list_ports.comports())
    ports = hooks.list_serial_ports()
    assert sorted(p["path"] for p in ports) == expected
    assert all(p["node_type"] == "OpenBCI" and p["configure"] == {"device_handle": p["path"]}
               for p in ports)


def test_light_import_and_no_failure_without_device_libraries():
    """Importing the hook module imports no device library; without PyAudio and pyserial
    the hook still answers (no audio devices, serial ports from /dev)."""
    code = (
        "import sys\n"
        "import pyacq.devices.hooks as hooks\n"
        "heavy = [m for m in ('pyaudio', 'av', 'imageio', 'serial', 'numpy', 'zmq') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "sys.modules['pyaudio'] = None; sys.modules['serial'] = None\n"
        "devices = hooks.pyacq_list_devices()\n"
        "assert not [d for d in devices if d['node_type'] == 'PyAudio'], devices\n"
        "print(sorted(d['path'] for d in devices if d['node_type'] == 'OpenBCI'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    fallback = sorted(os.path.join("/dev", n) for n in os.listdir("/dev") if n.startswith(("ttyUSB", "ttyACM")))
    assert result.stdout.strip() == repr(fallback)
    assert "Traceback" not in result.stderr
