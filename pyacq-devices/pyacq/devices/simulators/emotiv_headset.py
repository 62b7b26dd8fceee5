"""A simulated Emotiv EPOC dongle: known values encoded and encrypted into HID reports at 128 Hz.

Try a pipeline without a headset (pycryptodome needed)::

    from pyacq.devices import Emotiv
    from pyacq.devices.simulators import EmotivHeadset

    headset = EmotivHeadset()                   # serial 'SN20120229000254'
    dev = Emotiv()
    dev.configure(device_handle=headset.fifo_path, serial=headset.serial)
    # or: dev.configure(device_handle=headset.hid_device())
    ...  # configure the outputs, dev.initialize(), dev.start()
    headset.start()                             # reports begin to flow
    ...
    headset.close()

Reports go to a FIFO (read by the node like a ``/dev/hidrawN`` node) and to
every device returned by :meth:`hid_device`, which has the interface of an
opened hidapi ``hid.device``. Packet ``k`` carries row ``k % n`` of the
``signals`` / ``quality`` / ``gyro`` tables; with ``battery_level`` set, every
129th packet is a battery packet. ``drop_packets`` lists packet numbers never
sent (a counter jump the node must report); ``report_id=True`` prefixes each
hidapi report with a report-id byte, as on some platforms.
"""
import os
import queue
import shutil
import tempfile
import threading
import time

import numpy as np

from ..emotiv_protocol import (
    BATTERY_FLAG,
    CHANNEL_NAMES,
    COUNTER_CYCLE,
    SAMPLE_RATE,
    encode_reports,
    key_from_serial,
)

_O1 = CHANNEL_NAMES.index("O1")


def default_tables(n=512, seed=0):
    """Slow sines around mid-scale for the EEG, random qualities and small gyro values."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None] / SAMPLE_RATE
    signals = (8192 + 400 * np.sin(2 * np.pi * (1 + np.arange(14)) * t)).astype(np.int64)
    signals += rng.integers(-20, 21, size=signals.shape)
    quality = consistent_quality(signals, rng.integers(0, 1 << 14, size=n))
    gyro = rng.integers(-30, 31, size=(n, 2))
    return signals, quality, gyro


def consistent_quality(signals, quality):
    """``quality`` with bits 3-4 replaced by O1's bits 0-1, which share the same report bits."""
    o1 = np.asarray(signals)[:, _O1]
    return (np.asarray(quality) & ~(0b11 << 3)) | ((o1 & 0b11) << 3)


class SimulatedHidDevice:
    """The reading half of hidapi's ``hid.device`` interface, fed by an EmotivHeadset."""

    def __init__(self, serial, report_id):
        self.serial = serial
        self.report_id = report_id
        self.reports = queue.Queue(maxsize=1024)
        self.closed = False

    def read(self, max_length, timeout_ms=0):
        """One report as a list of ints, or [] after ``timeout_ms`` (0: wait forever) without one."""
        try:
            report = self.reports.get(timeout=timeout_ms / 1000 if timeout_ms > 0 else None)
        except queue.Empty:
            return []
        if self.report_id:
            report = b"\x00" + report
        return list(report[:max_length])

    def get_serial_number_string(self):
        """The headset's serial, as hidapi gives it: the Emotiv node derives its decryption key from it."""
        return self.serial

    def close(self):
        """Mark the device closed: the headset stops queueing reports for it."""
        self.closed = True


class EmotivHeadset:
    """Generates the encrypted reports of an Emotiv dongle from known value tables.

    ``signals`` (n, 14) are 14-bit levels in the node's channel order,
    ``quality`` (n,) contact-quality levels (bits 3-4 must equal O1's bits 0-1,
    see :func:`consistent_quality`), ``gyro`` (n, 2) centred values.

    Parameters
    ----------
    serial : str, optional
        The dongle's serial number, from which the AES key is derived (the node
        must be given the same). Default ``'SN20120229000254'``.
    signals : array_like, optional
        ``(n, 14)`` 14-bit levels, in the node's channel order. Default: a known
        table of distinct values.
    quality : array_like, optional
        ``(n,)`` contact-quality levels. Default: a table made consistent with
        ``signals``.
    gyro : array_like, optional
        ``(n, 2)`` centred gyroscope values. Default: a known table.
    battery_level : int, optional
        Send a battery packet with this level every 129th packet. Default None:
        no battery packet.
    drop_packets : iterable of int, optional
        Packet numbers never sent (a counter jump the node must report). Default: none.
    sample_rate : float, optional
        Packets per second, in Hz. Default: the headset's 128.
    report_id : bool, optional
        Prefix each hidapi report with a report-id byte, as on some platforms.
        Default False.
    """

    def __init__(self, serial="SN20120229000254", signals=None, quality=None, gyro=None,
                 battery_level=None, drop_packets=(), sample_rate=SAMPLE_RATE, report_id=False):
        from Crypto.Cipher import AES

        defaults = default_tables()
        self.signals = defaults[0] if signals is None else np.asarray(signals, dtype=np.int64)
        n = len(self.signals)
        self.quality = (consistent_quality(self.signals, defaults[1][np.arange(n) % len(defaults[1])])
                        if quality is None else np.asarray(quality, dtype=np.int64))
        self.gyro = defaults[2][np.arange(n) % len(defaults[2])] if gyro is None else np.asarray(gyro)
        self.serial = serial
        self.battery_level = battery_level
        self.drop_packets = set(drop_packets)
        self.sample_rate = sample_rate
        self.report_id = report_id
        self._plain = encode_reports(np.zeros(n, dtype=np.int64), self.signals, self.quality, self.gyro)
        self._cipher = AES.new(key_from_serial(serial), AES.MODE_ECB)
        self._tmpdir = tempfile.mkdtemp(prefix="pyacq-emotiv-")
        self.fifo_path = os.path.join(self._tmpdir, "hidraw")
        os.mkfifo(self.fifo_path)
        # Read-write so that opening never waits for a reader and no report is
        # written to a pipe without reader (which would raise).
        self._fifo = os.open(self.fifo_path, os.O_RDWR | os.O_NONBLOCK)
        self._devices = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = None
        self.sent = 0

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def counter(self, packet):
        """The counter byte of packet number ``packet``.

        Parameters
        ----------
        packet : int
            The packet's number in sending order, from 0.
        """
        if self.battery_level is None:
            return packet % COUNTER_CYCLE
        position = packet % (COUNTER_CYCLE + 1)
        return BATTERY_FLAG + self.battery_level if position == COUNTER_CYCLE else position

    def plain_report(self, packet):
        """The decrypted report of packet number ``packet`` (32 uint8).

        Parameters
        ----------
        packet : int
            The packet's number in sending order, from 0.
        """
        report = self._plain[packet % len(self._plain)].copy()
        report[0] = self.counter(packet)
        return report

    def encrypted_report(self, packet):
        """The report of packet number ``packet`` as the dongle sends it.

        Parameters
        ----------
        packet : int
            The packet's number in sending order, from 0.
        """
        return self._cipher.encrypt(self.plain_report(packet).tobytes())

    def expected(self, packets):
        """``(signals, quality, gyro)`` rows carried by the given packet numbers.

        Parameters
        ----------
        packets : array_like of int
            Packet numbers, for example those a node received.
        """
        rows = np.asarray(packets) % len(self.signals)
        return self.signals[rows], self.quality[rows], self.gyro[rows]

    def hid_device(self):
        """A new hidapi-like device receiving every report sent from now on."""
        device = SimulatedHidDevice(self.serial, self.report_id)
        with self._lock:
            self._devices.append(device)
        return device

    def start(self):
        """Start sending reports at the real rate, from packet 0."""
        if self._thread is not None:
            raise RuntimeError("EmotivHeadset is already streaming")
        self._thread = threading.Thread(target=self._stream, daemon=True, name="emotiv-headset")
        self._thread.start()

    def _stream(self):
        started = time.monotonic()
        packet = 0
        while not self._stopping.wait(max(0.0, started + (packet + 1) / self.sample_rate
                                          - time.monotonic())):
            if packet not in self.drop_packets:
                self._emit(self.encrypted_report(packet))
            packet += 1
            self.sent = packet

    def _emit(self, report):
        try:
            os.write(self._fifo, report)
        except BlockingIOError:
            pass  # nobody reads the FIFO and it is full: the dongle's queue overflows
        with self._lock:
            devices = [d for d in self._devices if not d.closed]
        for device in devices:
            try:
                device.reports.put_nowait(report)
            except queue.Full:
                pass

    def close(self):
        """Stop streaming and remove the FIFO."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        os.close(self._fifo)
        shutil.rmtree(self._tmpdir, ignore_errors=True)
