"""The video capture devices of this machine, found without any video library.

On Linux every V4L2 device is a ``/dev/videoN`` node whose card name is in
``/sys/class/video4linux/videoN/name``; the camera nodes use this to open a
camera by name, and the ``pyacq_list_devices`` hook to list cameras quickly.
"""
import glob
import os
import re

V4L2_SYSFS = "/sys/class/video4linux"


def list_v4l2_devices(dev_dir="/dev", sysfs_dir=V4L2_SYSFS):
    """Return ``[{'index': N, 'path': '/dev/videoN', 'name': card name}, ...]`` sorted by N.

    A device whose sysfs entry cannot be read is listed under its path.
    """
    devices = []
    for path in glob.glob(os.path.join(dev_dir, "video*")):
        match = re.fullmatch(r"video(\d+)", os.path.basename(path))
        if match is None:
            continue
        try:
            with open(os.path.join(sysfs_dir, match.group(0), "name")) as name_file:
                name = name_file.read().strip()
        except OSError:
            name = path
        devices.append({"index": int(match.group(1)), "path": path, "name": name})
    return sorted(devices, key=lambda device: device["index"])


def find_v4l2_device(name, devices=None):
    """Return the path of the V4L2 device whose card name is ``name``; None when there is none."""
    for device in list_v4l2_devices() if devices is None else devices:
        if device["name"] == name:
            return device["path"]
    return None
