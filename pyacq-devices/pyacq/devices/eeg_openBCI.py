# ruff: noqa: N999  (the documented module name of pyacq 2.0)
"""OpenBCI: the open-source OpenBCI Cyton board (8 channels, + Daisy for 16) over its serial dongle.

Outputs ``chan`` (EEG, float32 µV) and ``aux`` (accelerometer, float32 g).
pyserial is needed (``pip install pyacq-devices[serial]``). To try it without
a board, see :class:`pyacq.devices.simulators.OpenBCIBoard`.
"""
import itertools
import logging
import os
import threading
import time

import numpy as np
from pyacq.core import Node
from pyacq.core.node_thread import NodeThread

from .openbci_protocol import (
    ACCEL_G_PER_COUNT,
    ACCEL_STOP_BYTE,
    BAUDRATE,
    EEG_UV_PER_COUNT,
    DaisyFramer,
    PacketSplitter,
    SampleCounter,
    decode_packets,
)

try:
    import serial
    HAVE_PYSERIAL = True
except ImportError:
    HAVE_PYSERIAL = False

logger = logging.getLogger(__name__)

PACKET_RATE = 250.0
BOARDS = {"cyton": 8, "daisy": 16}
#: Seconds allowed for the board to answer a command.
COMMAND_TIMEOUT = 5.0
#: Serial read timeout: how often the reader checks the stop request.
POLL_INTERVAL = 0.1


class OpenBCI(Node):
    """Bridge between pyacq and the OpenBCI 32-bit board (Cyton), with or without Daisy.

    ``configure(device_handle='/dev/ttyUSB0', board='cyton')``; ``board='daisy'``
    gives 16 channels at 125 Hz (the board alternates Cyton and Daisy packets,
    the node joins each pair), ``'cyton'`` 8 channels at 250 Hz.
    ``initialize()`` opens the port and soft-resets the board, so a missing
    port, a silent board or a missing Daisy fail there.

    ``chan`` is in µV (gain 24); ``aux`` carries the three accelerometer axes
    in g from every packet (250 Hz), NaN for packets whose stop byte says the
    aux bytes hold something else. Bytes that break the packet format are
    skipped until the stream is back in step (``skipped_bytes``). A jump of the
    sample number is lost data: logged, counted in ``gap_count`` /
    ``lost_samples`` and shown as a skipped index, never filled in. ``aux``
    need not be configured. A serial error while running makes the node
    ``failed`` (see ``node.error``).
    """

    _output_specs = {
        "chan": dict(streamtype="analogsignal", dtype="float32", shape=(-1, 8), units="uV"),
        "aux": dict(streamtype="analogsignal", dtype="float32", shape=(-1, 3), units="g",
                    sample_rate=PACKET_RATE, nb_channel=3,
                    channel_info=[{"name": f"accel_{axis}"} for axis in "xyz"]),
    }
    _optional_outputs = ("aux",)

    def _configure(self, device_handle="/dev/ttyUSB0", board="cyton"):
        """Choose the serial port and the board, which set the channels and the rate.

        The port is only checked here (an absolute path that does not exist is
        refused); initialize() opens it and talks to the board.

        Parameters
        ----------
        device_handle : str, default '/dev/ttyUSB0'
            Serial port of the OpenBCI USB dongle: a device path on Linux and
            macOS (e.g. ``'/dev/ttyUSB0'``, ``'/dev/tty.usbserial-...'``), a
            port name on Windows (``'COM3'``).
        board : {'cyton', 'daisy'}, default 'cyton'
            ``'cyton'``: 8 channels at 250 Hz. ``'daisy'``: a Cyton with its
            Daisy module, 16 channels at 125 Hz (the board alternates the two
            halves, the node joins each pair); initialize() refuses it when the
            board has no Daisy.
        """
        if not HAVE_PYSERIAL:
            raise ImportError(f"{self._describe()} needs pyserial to talk to the board: "
                              "pip install pyacq-devices[serial]")
        if board not in BOARDS:
            raise ValueError(f"{self._describe()}: unknown board {board!r}; choose 'cyton' or 'daisy'")
        if os.path.isabs(str(device_handle)) and not os.path.exists(device_handle):
            raise FileNotFoundError(f"{self._describe()}: serial port {device_handle} does not exist "
                                    "(is the OpenBCI dongle plugged in?)")
        self.device_handle = device_handle
        self.board = board
        self.nb_channel = BOARDS[board]
        self.sample_rate = PACKET_RATE * 8 / self.nb_channel
        # Named as the board and the OpenBCI GUI number them, from 1 (not pyacq's ch<i> from 0).
        self.channel_info = [{"name": f"ch{i + 1}"} for i in range(self.nb_channel)]
        self.outputs["chan"].spec.update(shape=(-1, self.nb_channel), sample_rate=self.sample_rate,
                                         nb_channel=self.nb_channel, channel_info=self.channel_info)

    # -- talking to the board -------------------------------------------------------

    def _command(self, letter, expect_answer=True):
        """Send a one-letter command; return the board's answer up to ``$$$``."""
        self._serial.write(letter.encode("ascii"))
        self._serial.flush()
        if not expect_answer:
            return ""
        answer = b""
        deadline = time.monotonic() + COMMAND_TIMEOUT
        while not answer.endswith(b"$$$"):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{self._describe()}: no answer to command {letter!r} from an OpenBCI board on "
                    f"{self.device_handle} within {COMMAND_TIMEOUT} s (board off, or not an OpenBCI "
                    f"dongle?); received {answer[-80:]!r}"
                )
            answer += self._serial.read(self._serial.in_waiting or 1)
        return answer.decode("ascii", errors="replace")

    def _initialize(self):
        try:
            self._serial = serial.Serial(self.device_handle, BAUDRATE, timeout=POLL_INTERVAL)
        except (serial.SerialException, OSError) as exc:
            raise OSError(f"{self._describe()}: cannot open serial port {self.device_handle}: {exc}") from None
        try:
            self._command("s", expect_answer=False)
            self._serial.reset_input_buffer()
            reset_answer = self._command("v")
            if self.board == "daisy":
                if "Daisy" not in reset_answer or "no daisy" in self._command("C").lower():
                    raise OSError(f"{self._describe()}: board='daisy' but the board on "
                                  f"{self.device_handle} has no Daisy module")
            elif "Daisy" in reset_answer:
                self._command("c")
        except BaseException:
            self._serial.close()
            raise
        self.gap_count = 0
        self.lost_samples = 0
        self.skipped_bytes = 0

    def _start(self):
        self._serial.reset_input_buffer()
        self._splitter = PacketSplitter()
        self._counter = SampleCounter()
        self._framer = DaisyFramer()
        self._last_position = {"chan": -1, "aux": -1}
        self._stopping = threading.Event()
        self._command("b", expect_answer=False)
        self._thread = NodeThread(self, target=self._read_loop, name=f"{self.name or 'openbci'}-serial")
        self._thread.start()

    def _stop(self):
        self._stopping.set()
        self._thread.join(timeout=10.0)
        self._command("s", expect_answer=False)
        self.skipped_bytes += self._splitter.skipped_bytes

    def _close(self):
        if getattr(self, "_serial", None) is not None:
            self._serial.close()
            self._serial = None

    # -- decoding -------------------------------------------------------------------

    def _read_loop(self):
        while not self._stopping.is_set():
            data = self._serial.read(self._serial.in_waiting or 1)
            if data:
                packets = self._splitter.feed(data)
                if len(packets):
                    self.process_packets(packets)

    def process_packets(self, packets):
        """Scale and send complete packets (an (n, 33) uint8 array)."""
        numbers, counts, aux_counts, stops = decode_packets(packets)
        absolute = self._counter.unwrap(numbers)
        aux = np.where((stops == ACCEL_STOP_BYTE)[:, None], aux_counts * ACCEL_G_PER_COUNT, np.nan)
        self._send_runs("aux", absolute, aux.astype("float32"))
        eeg = (counts * EEG_UV_PER_COUNT).astype("float32")
        if self.board == "cyton":
            self._send_runs("chan", absolute, eeg)
        else:
            # Unwrapped numbers keep the board's parity: odd ones are the Cyton's halves.
            frames, values = self._framer.join(absolute + self._counter.first_number, eeg)
            if len(frames):
                self._send_runs("chan", frames, values)

    def _send_runs(self, name, positions, values):
        """Send rows at 0-based sample ``positions`` of output ``name``, one chunk per gap-free run.

        Gaps of ``chan`` are logged and counted; ``aux`` shows the same loss as index jumps.
        """
        output = self.outputs[name]
        last = self._last_position[name]
        jumps = np.flatnonzero(np.diff(positions, prepend=last) != 1)
        edges = np.unique(np.concatenate([[0], jumps, [len(positions)]]))
        for start, stop in itertools.pairwise(edges):
            lost = int(positions[start] - (positions[start - 1] if start else last) - 1)
            if name == "chan" and lost > 0:
                self.gap_count += 1
                self.lost_samples += lost
                logger.warning("%s: %d samples lost (packet numbers jumped); %d gaps so far",
                               self._describe(), lost, self.gap_count)
            if name == "chan" or output.configured:
                output.send(values[start:stop], index=int(positions[stop - 1]) + 1)
        self._last_position[name] = int(positions[-1])
