"""Emotiv: the consumer Emotiv EPOC headset, read as encrypted USB HID reports.

Reverse engineering of the protocol by Cody Brocious and Kyle Machulis (emokit).
The dongle emits 32-byte AES-encrypted reports at 128 Hz; the node decrypts
them with the key derived from the dongle's serial number and decodes three
streams: ``signals`` (14 EEG channels), ``impedances`` (contact quality of the
14 electrodes) and ``gyro`` (X, Y). To try it without a headset, see
:class:`pyacq.devices.simulators.EmotivHeadset`.

pycryptodome is needed (``pip install pyacq-devices[crypto]``); hidapi
(``[hid]``) only to find or open the dongle through hidapi.
"""
import itertools
import logging
import os
import threading

import numpy as np
from pyacq.core import Node
from pyacq.core.node_thread import NodeThread

from .emotiv_protocol import (
    BATTERY_FLAG,
    CHANNEL_NAMES,
    GYRO_NAMES,
    QUALITY_CHANNEL,
    REPORT_SIZE,
    SAMPLE_RATE,
    decode_reports,
    key_from_serial,
    lost_reports,
)
from .hid_reports import HidapiReports, HidrawReports

try:
    from Crypto.Cipher import AES
    HAVE_PYCRYPTO = True
except ImportError:
    HAVE_PYCRYPTO = False

logger = logging.getLogger(__name__)

#: USB vendor ids of Emotiv dongles, for finding one through hidapi.
EMOTIV_VENDOR_IDS = (0x21A1, 0x1234)
#: emokit's scale of the 14-bit EEG levels.
MICROVOLTS_PER_LEVEL = 0.51
#: Seconds between two checks of the stop request while waiting for reports.
POLL_INTERVAL = 0.1


def serial_from_sysfs(path):
    """The USB serial number of the HID device behind a ``/dev/hidrawN`` path, or None."""
    name = os.path.basename(os.path.realpath(path))
    try:
        with open(f"/sys/class/hidraw/{name}/device/uevent") as uevent:
            for line in uevent:
                if line.startswith("HID_UNIQ="):
                    return line.split("=", 1)[1].strip() or None
    except OSError:
        return None
    return None


def find_emotiv_device(describe):
    """Open the first Emotiv dongle hidapi can see; return the hid.device."""
    try:
        import hid
    except ImportError:
        raise ImportError(
            f"{describe}: no device_handle was given and finding the dongle needs hidapi "
            "(pip install pyacq-devices[hid]); or pass device_handle='/dev/hidrawN'"
        ) from None
    candidates = [info for info in hid.enumerate() if info["vendor_id"] in EMOTIV_VENDOR_IDS]
    if not candidates:
        raise OSError(f"{describe}: no Emotiv dongle found (USB vendor ids "
                      f"{', '.join(hex(v) for v in EMOTIV_VENDOR_IDS)}); is it plugged in?")
    # The dongle exposes two interfaces; the EEG reports come from the last one.
    device = hid.device()
    device.open_path(candidates[-1]["path"])
    return device


class Emotiv(Node):
    """Simple Emotiv EPOC node: EEG, electrode contact quality and gyroscope.

    ``configure(device_handle=None, serial=None)``: ``device_handle`` is a
    hidraw path (``'/dev/hidraw1'``; a FIFO of reports also works), an opened
    hidapi device, or None to open the first Emotiv dongle hidapi finds.
    ``serial`` (e.g. ``'SN20120229000254'``) gives the decryption key; by
    default it is read from the device (sysfs or hidapi).

    All three outputs run at 128 Hz with the same indexes. ``signals`` are the
    raw 14-bit levels (int64; ``params['scale']`` = 0.51 µV per level, after
    emokit); ``impedances`` hold each electrode's latest contact-quality level
    (reports carry one electrode at a time; -1 until one is known); ``gyro``
    is centred on 0. A counter jump is lost data: logged, counted in
    ``gap_count`` / ``lost_samples``, and shown as a skipped index.
    ``impedances`` and ``gyro`` need not be configured. A device error while
    running makes the node ``failed`` (see ``node.error``).
    """

    _output_specs = {
        "signals": dict(streamtype="analogsignal", dtype="int64", shape=(-1, 14), sample_rate=SAMPLE_RATE,
                        nb_channel=14, channel_info=[{"name": n} for n in CHANNEL_NAMES],
                        scale=MICROVOLTS_PER_LEVEL, units="uV"),
        "impedances": dict(streamtype="analogsignal", dtype="int64", shape=(-1, 14),
                           sample_rate=SAMPLE_RATE, nb_channel=14,
                           channel_info=[{"name": n} for n in CHANNEL_NAMES]),
        "gyro": dict(streamtype="analogsignal", dtype="int64", shape=(-1, 2), sample_rate=SAMPLE_RATE,
                     nb_channel=2, channel_info=[{"name": n} for n in GYRO_NAMES]),
    }
    _optional_outputs = ("impedances", "gyro")

    def _configure(self, device_handle=None, serial=None):
        """Choose the headset's dongle and learn the key that decrypts its reports.

        Nothing is read from the headset here; initialize() opens the device
        (or finds the dongle) and reads it once started.

        Parameters
        ----------
        device_handle : str, os.PathLike or hid.device, optional
            The dongle's EEG interface: a hidraw path (``'/dev/hidraw1'``,
            Linux; it must exist), which is read without hidapi, or an opened
            hidapi device; a FIFO that carries 32-byte reports works as a
            path, for tests. By default initialize() opens the first Emotiv
            dongle hidapi finds (``pip install pyacq-devices[hid]``).
        serial : str, optional
            The dongle's USB serial number (``'SN...'``), from which the AES
            key is derived. By default it is read from sysfs (a hidraw path)
            or through hidapi; give it when that fails (a FIFO, a restricted
            sysfs): a device whose serial cannot be read is refused.
        """
        if not HAVE_PYCRYPTO:
            raise ImportError(f"{self._describe()} needs pycryptodome to decrypt the headset's reports: "
                              "pip install pyacq-devices[crypto]")
        if isinstance(device_handle, (str, os.PathLike)):
            if not os.path.exists(device_handle):
                raise FileNotFoundError(f"{self._describe()}: Emotiv device {device_handle!s} does not "
                                        "exist (see /dev/hidraw*)")
            serial = serial or serial_from_sysfs(device_handle)
        elif device_handle is not None and not callable(getattr(device_handle, "read", None)):
            raise TypeError(f"{self._describe()}: device_handle must be a hidraw path or an opened "
                            f"hidapi device, got {type(device_handle).__name__}")
        self.device_handle = device_handle
        self.serial = serial
        if serial is None and device_handle is not None and not isinstance(device_handle, (str, os.PathLike)):
            self.serial = device_handle.get_serial_number_string()
        if self.serial is None and device_handle is not None:
            raise ValueError(f"{self._describe()}: cannot read the serial number of {device_handle!s}; "
                             "pass serial='SN...' (it gives the decryption key)")
        if self.serial is not None:
            self._key = key_from_serial(self.serial)

    def _initialize(self):
        handle = self.device_handle
        if isinstance(handle, (str, os.PathLike)):
            try:
                self._source = HidrawReports(handle, REPORT_SIZE)
            except OSError as exc:
                raise OSError(f"{self._describe()}: cannot open Emotiv device {handle!s}: {exc}") from None
        else:
            device = handle if handle is not None else find_emotiv_device(self._describe())
            if self.serial is None:
                self.serial = device.get_serial_number_string()
                self._key = key_from_serial(self.serial)
            self._source = HidapiReports(device, REPORT_SIZE)
        self._cipher = AES.new(self._key, AES.MODE_ECB)
        self.gap_count = 0
        self.lost_samples = 0

    def _start(self):
        self._head = 0
        self._last_counter = None
        self._quality = np.full(14, -1, dtype=np.int64)
        self._stopping = threading.Event()
        self._thread = NodeThread(self, target=self._read_loop, name=f"{self.name or 'emotiv'}-hid")
        self._thread.start()

    def _stop(self):
        self._stopping.set()
        self._thread.join(timeout=10.0)

    def _close(self):
        if getattr(self, "_source", None) is not None:
            self._source.close()
            self._source = None

    def _read_loop(self):
        while not self._stopping.is_set():
            data = self._source.read(POLL_INTERVAL)
            if data:
                self.process_reports(data)

    def process_reports(self, encrypted):
        """Decrypt, decode and send whole reports (bytes, a multiple of 32)."""
        reports = np.frombuffer(self._cipher.decrypt(encrypted), dtype=np.uint8).reshape(-1, REPORT_SIZE)
        counters, signals, quality, gyro = decode_reports(reports)
        lost, self._last_counter = lost_reports(self._last_counter, counters)
        impedances = self._hold_quality(counters, quality)
        for start, stop, index in self._runs(lost):
            for name, values in (("signals", signals), ("impedances", impedances), ("gyro", gyro)):
                if self.outputs[name].configured:
                    self.outputs[name].send(values[start:stop], index=index)

    def _runs(self, lost):
        """Split a batch where reports were lost: ``(start, stop, index)`` of each run."""
        edges = np.unique(np.concatenate([[0], np.flatnonzero(lost), [len(lost)]])).tolist()
        runs = []
        for start, stop in itertools.pairwise(edges):
            if lost[start]:
                self.gap_count += 1
                self.lost_samples += int(lost[start])
                logger.warning("%s: %d reports lost before sample index %d; %d gaps so far",
                               self._describe(), lost[start], self._head + lost[start], self.gap_count)
                self._head += int(lost[start])
            if stop > start:
                self._head += stop - start
                runs.append((start, stop, self._head))
        return runs

    def _hold_quality(self, counters, quality):
        """Each report's view of all 14 contact qualities: the latest value of each electrode."""
        n = len(counters)
        channel = np.where(counters < BATTERY_FLAG, QUALITY_CHANNEL[counters % 64], -1)
        rows = np.flatnonzero(channel >= 0)
        updated = np.full((n, 14), -1, dtype=np.int64)
        updated[rows, channel[rows]] = np.arange(n)[rows]
        latest = np.maximum.accumulate(updated, axis=0)
        held = np.where(latest >= 0, quality[np.maximum(latest, 0)], self._quality[None, :])
        self._quality = held[-1].copy()
        return held
