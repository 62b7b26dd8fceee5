"""pyacq-devices' implementation of the plugin hooks: the devices its nodes can acquire from.

Light on purpose (loaded by every ``pyacq devices`` and plugin-manager start):
device libraries are imported inside the probes, and a probe whose library is
missing or whose devices are absent returns nothing instead of failing
(``pyacq_missing_probe_libraries`` says which libraries are missing).
"""
import glob
import importlib.util
import logging
import os

from pyacq.core.plugins import hookimpl
from pyacq.devices.c_stderr import c_stderr_to_debug_log
from pyacq.devices.video_capture_devices import list_v4l2_devices

logger = logging.getLogger(__name__)

#: USB (vendor id, product id) of the serial dongles OpenBCI boards talk through: FTDI's
#: FT231X, the dongle of the Cyton and Ganglion boards.
OPENBCI_DONGLE_USB_IDS = {(0x0403, 0x6015)}

#: Import name, distribution and pyacq-devices extra of each probe's library, and what it probes.
PROBE_LIBRARIES = (
    ("pyaudio", "PyAudio", "audio", "audio devices"),
    ("serial", "pyserial", "serial", "OpenBCI serial dongles (USB ids)"),
)


def list_audio_devices():
    """PortAudio's devices, one entry per direction the device supports (PyAudio node)."""
    try:
        from pyacq.devices.audio_pyaudio import HAVE_PYAUDIO, portaudio_device_specs, pyaudio
    except ImportError:
        return []
    if not HAVE_PYAUDIO:
        return []
    # Without a sound card or server, ALSA and JACK print pages of errors while PortAudio looks.
    with c_stderr_to_debug_log("PortAudio's device probe"):
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


def list_serial_ports(all_ports=False):
    """Serial ports an OpenBCI board may be on.

    By default only ports whose USB ids are those of an OpenBCI dongle (pyserial
    reads them; a plain UART such as ttyS0 has none). With *all_ports*, every
    port pyserial lists, or without pyserial every /dev/tty{USB,ACM}*.
    """
    try:
        from serial.tools import list_ports
    except ImportError:
        if not all_ports:
            return []
        ports = [(path, os.path.basename(path)) for pattern in ("/dev/ttyUSB*", "/dev/ttyACM*")
                 for path in sorted(glob.glob(pattern))]
    else:
        ports = [(port.device, port.description if port.description not in ("", "n/a") else port.name)
                 for port in list_ports.comports()
                 if all_ports or (port.vid, port.pid) in OPENBCI_DONGLE_USB_IDS]
    return [{"node_type": "OpenBCI", "name": description, "path": path,
             "configure": {"device_handle": path}} for path, description in ports]


@hookimpl
def pyacq_list_devices(all_ports):
    """Audio devices (PortAudio), cameras and serial ports; a failing probe is logged and skipped."""
    devices = []
    for probe, arguments in ((list_audio_devices, {}), (list_video_devices, {}),
                             (list_serial_ports, {"all_ports": all_ports})):
        try:
            devices.extend(probe(**arguments))
        except Exception:
            logger.exception("pyacq-devices: listing devices with %s failed", probe.__name__)
    return devices


@hookimpl
def pyacq_missing_probe_libraries():
    """The probe libraries (PyAudio, pyserial) that are not installed, with the extra to install."""
    return [f'{what}: {distribution} is not installed (extra "{extra}" of pyacq-devices)'
            for module, distribution, extra, what in PROBE_LIBRARIES
            if importlib.util.find_spec(module) is None]
