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


def test_all_serial_ports_come_from_pyserial():
    """Asked for all ports, the serial ports are pyserial's list, each offered to the OpenBCI
    node by its path."""
    list_ports = pytest.importorskip("serial.tools.list_ports")
    expected = sorted(port.device for port in list_ports.comports())
    ports = hooks.list_serial_ports(all_ports=True)
    assert sorted(p["path"] for p in ports) == expected
    assert all(p["node_type"] == "OpenBCI" and p["configure"] == {"device_handle": p["path"]}
               for p in ports)


def test_only_openbci_dongles_are_offered_by_default(monkeypatch):
    """By default a serial port is offered to the OpenBCI node only when its USB ids are the
    FTDI FT231X dongle's (0403:6015): not a plain UART (ttyS0, no USB ids) nor another USB
    adapter; --all-ports style listing offers all three."""
    list_ports = pytest.importorskip("serial.tools.list_ports")
    from serial.tools.list_ports_common import ListPortInfo

    def port(device, vid=None, pid=None, description="n/a"):
        info = ListPortInfo(device, skip_link_detection=True)
        info.vid, info.pid, info.description = vid, pid, description
        return info

    ports = [port("/dev/ttyS0"), port("/dev/ttyUSB0", 0x0403, 0x6015, "FT231X USB UART"),
             port("/dev/ttyUSB1", 0x067B, 0x2303, "USB-Serial Controller")]
    monkeypatch.setattr(list_ports, "comports", lambda *args, **kwargs: ports)
    assert hooks.list_serial_ports() == [{"node_type": "OpenBCI", "name": "FT231X USB UART",
                                          "path": "/dev/ttyUSB0", "configure": {"device_handle": "/dev/ttyUSB0"}}]
    assert [p["path"] for p in hooks.list_serial_ports(all_ports=True)] == [
        "/dev/ttyS0", "/dev/ttyUSB0", "/dev/ttyUSB1"]


def test_cli_prints_no_probe_noise():
    """`pyacq devices` without a sound server (PortAudio then makes ALSA and JACK print their
    errors to file descriptor 2) writes nothing to stderr."""
    pytest.importorskip("pyaudio")
    env = {k: v for k, v in os.environ.items() if k not in ("PULSE_SERVER", "PULSE_RUNTIME_PATH")}
    env["PULSE_SERVER"] = "unix:/nonexistent/pulse-socket"
    result = subprocess.run([sys.executable, "-m", "pyacq.cli", "devices"], check=False, capture_output=True,
                            text=True, timeout=60, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_c_stderr_goes_to_the_debug_log():
    """What C code writes to file descriptor 2 inside c_stderr_to_debug_log is one DEBUG
    record, not output; stderr works again after the block."""
    code = (
        "import logging, os, sys\n"
        "logging.basicConfig(level=logging.DEBUG, stream=sys.stdout, format='%(levelname)s %(message)s')\n"
        "from pyacq.devices.c_stderr import c_stderr_to_debug_log\n"
        "with c_stderr_to_debug_log('probe'):\n"
        "    os.write(2, b'ALSA lib noise\\n')\n"
        "os.write(2, b'after\\n')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "after\n"
    assert result.stdout == "DEBUG probe wrote to stderr:\nALSA lib noise\n"


def test_cli_says_which_probe_libraries_are_missing():
    """Without PyAudio and pyserial, `pyacq devices` says that audio devices and OpenBCI dongles
    were not looked for, naming each library and the pyacq-devices extra that installs it."""
    code = (
        "import sys\n"
        "sys.modules['pyaudio'] = None; sys.modules['serial'] = None\n"
        "from pyacq.cli import main\n"
        "sys.exit(main(['devices']))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("not looked for, a library is missing:")
    assert lines[start + 1:] == [
        '  audio devices: PyAudio is not installed (extra "audio" of pyacq-devices)',
        '  OpenBCI serial dongles (USB ids): pyserial is not installed (extra "serial" of pyacq-devices)']


def test_light_import_and_no_failure_without_device_libraries():
    """Importing the hook module imports no device library; without PyAudio and pyserial
    the hook still answers: no audio devices, no serial port by default (no USB ids to
    check), every /dev/tty{USB,ACM}* when all ports are asked for."""
    code = (
        "import sys\n"
        "import pyacq.devices.hooks as hooks\n"
        "heavy = [m for m in ('pyaudio', 'av', 'imageio', 'serial', 'numpy', 'zmq') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "sys.modules['pyaudio'] = None; sys.modules['serial'] = None\n"
        "devices = hooks.pyacq_list_devices(all_ports=False)\n"
        "assert not [d for d in devices if d['node_type'] in ('PyAudio', 'OpenBCI')], devices\n"
        "devices = hooks.pyacq_list_devices(all_ports=True)\n"
        "print(sorted(d['path'] for d in devices if d['node_type'] == 'OpenBCI'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    fallback = sorted(os.path.join("/dev", n) for n in os.listdir("/dev") if n.startswith(("ttyUSB", "ttyACM")))
    assert result.stdout.strip() == repr(fallback)
    assert "Traceback" not in result.stderr
