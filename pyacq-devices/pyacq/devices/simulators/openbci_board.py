"""A simulated OpenBCI Cyton board (optionally with Daisy) on a pseudo-terminal.

Try a pipeline without a board (pyserial needed, POSIX only)::

    from pyacq.devices import OpenBCI
    from pyacq.devices.simulators import OpenBCIBoard

    with OpenBCIBoard(daisy=True) as board:
        dev = OpenBCI()
        dev.configure(device_handle=board.port, board="daisy")
        ...  # configure dev.outputs['chan'] / ['aux'], initialize, start

The board answers the serial commands ``v`` (soft reset, text ending in
``$$$``), ``b`` / ``s`` (start / stop streaming), ``C`` / ``c`` (16 / 8
channels) and streams 33-byte packets at 250 packets/s from frame 0 on every
``b``. Frame ``f`` carries row ``f % n`` of ``counts`` (n, 8 or 16), 24-bit
signed ADC counts; with the Daisy in use each frame is two packets, Cyton
channels with odd sample number ``2f + 1`` then Daisy channels with ``2f + 2``
(mod 256). Packet ``k`` (in sending order) carries row ``k % n`` of ``aux``.

Faults: ``drop_packets`` (packet numbers never sent), ``corrupt_packets``
(sent with a bad stop byte), ``junk_after`` (packet numbers followed by
:data:`JUNK` bytes, start bytes included).
"""
import os
import select
import threading
import time
import tty

import numpy as np

from ..openbci_protocol import ACCEL_STOP_BYTE, PACKET_SIZE, encode_packets

#: Garbage inserted by ``junk_after``: start bytes and a valid stop byte, to tempt the parser.
JUNK = bytes([0xA0, 0x07, 0xC0, 0xA0, 0x55, 0x00, 0xC3])
PACKET_RATE = 250.0
#: Bytes the board keeps for a reader that does not read before dropping (like the dongle's FIFO).
_MAX_BACKLOG = 64 * 1024
_POLL_INTERVAL = 0.02


def default_counts(n_frames=500, nb_channel=8, seed=0):
    """Sines of distinct frequencies (a few hundred µV) plus noise, as ADC counts of both signs."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_frames)[:, None] / PACKET_RATE
    counts = 20000 * np.sin(2 * np.pi * (2 + np.arange(nb_channel)) * t)
    return (counts + rng.integers(-500, 500, size=counts.shape)).astype(np.int64)


class OpenBCIBoard:
    """Serve the OpenBCI serial protocol on a pseudo-terminal; the node opens ``board.port``.

    Use it in a ``with`` block (or call ``close()``), which stops its thread and
    closes the terminal.

    Parameters
    ----------
    daisy : bool, optional
        Emulate a Cyton with the Daisy module: 16 channels, two packets per frame.
        Default False (8 channels).
    counts : array_like, optional
        ``(n, 8)`` or, with ``daisy``, ``(n, 16)`` 24-bit ADC counts; frame ``f``
        carries row ``f % n``. Default: sines of distinct frequencies plus noise.
    aux : array_like, optional
        ``(n, 3)`` accelerometer values; packet ``k`` carries row ``k % n``.
        Default ``[[100, -200, 8000]]``.
    drop_packets : iterable of int, optional
        Packet numbers (in sending order, from 0 at each ``b``) never sent. Default: none.
    corrupt_packets : iterable of int, optional
        Packet numbers sent with a bad stop byte. Default: none.
    junk_after : iterable of int, optional
        Packet numbers followed by :data:`JUNK` bytes. Default: none.
    packet_rate : float, optional
        Packets per second while streaming. Default 250, the board's own rate.
    """

    def __init__(self, daisy=False, counts=None, aux=None, drop_packets=(), corrupt_packets=(),
                 junk_after=(), packet_rate=PACKET_RATE):
        self.daisy = daisy
        nb_channel = 16 if daisy else 8
        self.counts = default_counts(nb_channel=nb_channel) if counts is None else np.asarray(counts)
        if self.counts.ndim != 2 or self.counts.shape[1] not in (8, 16) or (
                self.counts.shape[1] == 16 and not daisy):
            raise ValueError(f"OpenBCIBoard: counts must have shape (n, {nb_channel}), "
                             f"got {self.counts.shape}")
        self.aux = (np.array([[100, -200, 8000]]) if aux is None else np.asarray(aux)).astype(np.int64)
        self.drop_packets = set(drop_packets)
        self.corrupt_packets = set(corrupt_packets)
        self.junk_after = set(junk_after)
        self.packet_rate = packet_rate
        self.sixteen_channels = daisy
        self.streaming = False
        self.commands = []
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._out = bytearray()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="openbci-board")
        self._thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- what the board sends ---------------------------------------------------------

    def packet(self, k):
        """The bytes of packet ``k`` of a stream (before faults), following the current channel mode.

        Parameters
        ----------
        k : int
            The packet's number in sending order, from 0.
        """
        two = self.sixteen_channels
        frame, half = (k // 2, k % 2) if two else (k, 0)
        row = self.counts[frame % len(self.counts)]
        eeg = row[8 * half:8 * half + 8] if two else row[:8]
        number = (2 * frame + 1 + half) if two else frame
        return encode_packets([number], eeg[None, :], self.aux[k % len(self.aux)][None, :],
                              ACCEL_STOP_BYTE)[0].tobytes()

    def _wire_bytes(self, k):
        if k in self.drop_packets:
            return b""
        data = self.packet(k)
        if k in self.corrupt_packets:
            data = data[:PACKET_SIZE - 1] + b"\x00"
        if k in self.junk_after:
            data += JUNK
        return data

    def _reset_text(self):
        lines = ["OpenBCI V3 8-16 channel", "On Board ADS1299 Device ID: 0x3E"]
        if self.daisy:
            lines.append("On Daisy ADS1299 Device ID: 0x3E")
        lines += ["LIS3DH Device ID: 0x33", "Firmware: v3.1.2", "$$$"]
        return "\n".join(lines).encode("ascii")

    def _answer(self, command):
        self.commands.append(command)
        if command == "v":
            self.streaming = False
            self.sixteen_channels = self.daisy
            self._out.clear()
            return self._reset_text()
        if command == "b":
            self.streaming = True
            self._started = time.monotonic()
            self._next_packet = 0
        elif command == "s":
            self.streaming = False
        elif command == "C":
            if not self.daisy:
                return b"no daisy to attach!8$$$"
            self.sixteen_channels = True
            return b"16$$$"
        elif command == "c":
            self.sixteen_channels = False
            return b"daisy removed$$$" if self.daisy else b"no daisy to remove!$$$"
        return b""

    # -- the board's loop -----------------------------------------------------------

    def _run(self):
        while not self._stopping.is_set():
            want_write = [self._master] if self._out else []
            try:
                readable, writable, _ = select.select([self._master], want_write, [], _POLL_INTERVAL)
            except (OSError, ValueError):
                return
            if readable:
                try:
                    received = os.read(self._master, 1024)
                except (BlockingIOError, OSError):
                    received = b""
                for command in received.decode("ascii", errors="replace"):
                    self._out += self._answer(command)
            if self.streaming:
                due = int((time.monotonic() - self._started) * self.packet_rate)
                while self._next_packet < due:
                    self._out += self._wire_bytes(self._next_packet)
                    self._next_packet += 1
                if len(self._out) > _MAX_BACKLOG:
                    del self._out[:len(self._out) - _MAX_BACKLOG]
            if self._out and (writable or not want_write):
                try:
                    written = os.write(self._master, self._out)
                    del self._out[:written]
                except BlockingIOError:
                    pass

    def close(self):
        """Stop the board and close the pseudo-terminal."""
        self._stopping.set()
        self._thread.join(timeout=5.0)
        os.close(self._master)
        os.close(self._slave)
