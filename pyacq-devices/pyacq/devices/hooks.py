"""pyacq-devices' implementation of the plugin hooks: the devices its nodes can acquire from.

Light on purpose (loaded by every ``pyacq devices`` and plugin-manager start):
device libraries are imported inside the probes, and a probe whose library is
missing or whose devices are absent returns nothing instead of failing.
"""
import glob
import logging
import os

from pyacq.core.plugins import hookimpl
from pyacq.devices.video_capture_devices import list_v4l2_devices

logger = logging.getLogger(__name__)


def list_audio_devices():
    """PortAudio's devices, one entry per direction the device supports (PyAudio node)."""
    try:
        from pyacq.devices.audio_pyaudio import HAVE_PYAUDIO, portaudio_device_specs, pyaudio
    except ImportError:
        return []
    if not HAVE_PYAUDIO:
        return []
    portaudio = pyaudio.PyAudio()
    try:
        specs = portaudio_device_specs(portaudio)
    finally:
        portaudio.terminate()
    devices = []
    for spec in specs:
        for direction, channels_key, keyword in (("input", "maxInputChannels", "input_device_index"),
                                                 ("output", "maxOutputChannels", "output_device_index")):
            if spec[channels_key] > 0:
                devices.append({
                    "node_type": "PyAudio", "name": f"{spec['name']} ({spec['hostApiName']} {direction})",
                    "configure": {keyword: spec["index"]}, "channels": spec[channels_key],
                    "sample_rate": spec["defaultSampleRate"],
                })
    return devices


def list_video_devices():
    """V4L2 cameras (/dev/video*), each usable by WebCamAV and WebCamImageIO."""
    devices = []
    for device in list_v4l2_devices():
        devices.append({"node_type": "WebCamAV", "name": device["name"], "path": device["path"],
                        "configure": {"camera_num": device["index"]}})
        devices.append({"node_type": "WebCamImageIO", "name": device["name"], "path": device["path"],
                        "configure": {"camera_num": device["index"]}})
    return devices


def list_serial_ports():
    """Serial ports an OpenBCI board may be on: pyserial's list when installed, else /dev/tty{USB,ACM}*."""
    try:
        from serial.tools import list_ports
    except ImportError:
        ports = [(path, os.path.basename(path)) for pattern in ("/dev/ttyUSB*", "/dev/ttyACM*")
                 for path in sorted(glob.glob(pattern))]
    else:
        ports = [(port.device, port.description if port.description not in ("", "n/a") else port.name)
                 for port in list_ports.comports()]
    return [{"node_type": "OpenBCI", "name": description, "path": path,
             "configure": {"device_handle": path}} for path, description in ports]


@hookimpl
def pyacq_list_devices():
    """Audio devices (PortAudio), cameras and serial ports; a failing probe is logged and skipped."""
    devices = []
    for probe in (list_audio_devices, list_video_devices, list_serial_ports):
        try:
            devices.extend(probe())
        except Exception:
            logger.exception("pyacq-devices: listing devices with %s failed", probe.__name__)
    return devices
