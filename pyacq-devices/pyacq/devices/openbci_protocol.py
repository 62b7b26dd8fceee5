"""The OpenBCI Cyton serial packet format, both directions.

The OpenBCI node parses it and the pseudo-terminal board simulator writes it.
A packet is 33 bytes: ``0xA0``, a sample number (uint8, wraps), 8 channels of
24-bit big-endian two's complement, 3 aux values (int16 big-endian; the
accelerometer when the stop byte is 0xC0) and a stop byte 0xC0-0xC6.

Serial lines lose and garble bytes, so :class:`PacketSplitter` re-synchronises
after bad bytes: once in step it accepts packets back to back; after a bad
packet it only trusts a start byte whose packet ends with a valid stop byte
*and* is followed by another start byte.
"""
import numpy as np

PACKET_SIZE = 33
START_BYTE = 0xA0
ACCEL_STOP_BYTE = 0xC0
STOP_BYTES = range(0xC0, 0xC7)
CHANNELS_PER_PACKET = 8
SAMPLE_NUMBER_CYCLE = 256
BAUDRATE = 115200

#: Default ADS1299 gain and the resulting EEG scale.
DEFAULT_GAIN = 24
EEG_UV_PER_COUNT = 4.5 / DEFAULT_GAIN / (2 ** 23 - 1) * 1e6
ACCEL_G_PER_COUNT = 0.002 / 16


def _stop_ok(stop):
    return (stop >= STOP_BYTES.start) & (stop < STOP_BYTES.stop)


class PacketSplitter:
    """Cuts a byte stream into packets, skipping corrupt bytes; keeps partial packets for later."""

    def __init__(self):
        self._pending = np.zeros(0, dtype=np.uint8)
        self._in_step = False
        #: Bytes thrown away since creation (garbage, or packets with a bad stop byte).
        self.skipped_bytes = 0

    def feed(self, data):
        """Append ``data`` (bytes); return the complete packets found, an (n, 33) uint8 array."""
        b = np.concatenate([self._pending, np.frombuffer(data, dtype=np.uint8)])
        n = len(b)
        # Start positions whose packet has a start and a stop byte ("weak"), and those also
        # followed by a start byte ("strong"), computed once for the whole buffer.
        last = n - PACKET_SIZE + 1
        weak = np.zeros(max(last, 0), dtype=bool)
        if last > 0:
            weak = (b[:last] == START_BYTE) & _stop_ok(b[PACKET_SIZE - 1:PACKET_SIZE - 1 + last])
        strong = np.flatnonzero(weak[:max(last - 1, 0)] & (b[PACKET_SIZE:PACKET_SIZE + max(last - 1, 0)]
                                                           == START_BYTE))
        chosen = []
        pos = 0
        while True:
            if self._in_step:
                count = (n - pos) // PACKET_SIZE
                if count == 0:
                    break
                starts = pos + PACKET_SIZE * np.arange(count)
                ok = weak[starts]
                run = count if ok.all() else int(np.argmin(ok))
                chosen.append(starts[:run])
                pos += PACKET_SIZE * run
                if run == count:
                    break
                self._in_step = False
            k = np.searchsorted(strong, pos)
            if k == len(strong):
                resume = max(pos, n - PACKET_SIZE)
                self.skipped_bytes += resume - pos
                pos = resume
                break
            self.skipped_bytes += int(strong[k]) - pos
            pos = int(strong[k])
            self._in_step = True
        self._pending = b[pos:]
        if not chosen:
            return np.zeros((0, PACKET_SIZE), dtype=np.uint8)
        starts = np.concatenate(chosen)
        return b[starts[:, None] + np.arange(PACKET_SIZE)]


class SampleCounter:
    """Turns the board's 8-bit sample numbers into a count that does not wrap.

    The first packet since creation counts 0; each next packet counts one more
    than the previous plus the packets missing between them (a sample number
    equal to the previous one means 255 were lost: a jump of a whole cycle).
    """

    def __init__(self):
        #: Sample number of the first packet (its parity tells Cyton from Daisy), or None.
        self.first_number = None
        self._last_number = None
        self._last_count = -1

    def unwrap(self, numbers):
        """Counts (int64 array) of the packets whose sample numbers are ``numbers`` (not empty)."""
        if self.first_number is None:
            self.first_number = int(numbers[0])
            self._last_number = self.first_number - 1
        steps = (np.diff(numbers, prepend=self._last_number) - 1) % SAMPLE_NUMBER_CYCLE + 1
        counts = self._last_count + np.cumsum(steps)
        self._last_number, self._last_count = int(numbers[-1]), int(counts[-1])
        return counts


class DaisyFramer:
    """Joins each Cyton packet (odd sample number) with the Daisy packet that follows it.

    A frame missing either half is lost, never completed with zeros. Frames are
    numbered from the first Cyton packet seen (frame 0); a Cyton packet that ends
    a batch waits for the next one, so batches may be cut anywhere.
    """

    def __init__(self):
        self._pending_half = None
        self._frame_base = None

    def join(self, numbers, eeg):
        """``(frames, values (n, 16))`` of the frames complete in ``numbers`` (unwrapped sample
        numbers that keep the board's parity, increasing, not empty) and their ``eeg`` rows."""
        if self._pending_half is not None:
            numbers = np.concatenate([[self._pending_half[0]], numbers])
            eeg = np.concatenate([self._pending_half[1][None, :], eeg])
            self._pending_half = None
        cyton = numbers % 2 == 1
        if cyton[-1]:
            self._pending_half = (numbers[-1], eeg[-1])
        if self._frame_base is None and cyton.any():
            self._frame_base = int(numbers[np.argmax(cyton)] - 1) // 2
        pairs = np.flatnonzero(cyton[:-1] & (numbers[1:] == numbers[:-1] + 1))
        if not len(pairs):
            return np.zeros(0, dtype=np.int64), np.zeros((0, 2 * eeg.shape[1]), dtype=eeg.dtype)
        frames = (numbers[pairs] - 1) // 2 - self._frame_base
        return frames, np.hstack([eeg[pairs], eeg[pairs + 1]])


def decode_packets(packets):
    """Return ``(sample_numbers, eeg_counts (n, 8) int32, aux_counts (n, 3) int16, stop_bytes)``."""
    raw = packets[:, 2:26].reshape(-1, CHANNELS_PER_PACKET, 3).astype(np.int32)
    counts = (raw[:, :, 0] << 16) | (raw[:, :, 1] << 8) | raw[:, :, 2]
    counts -= (counts & 0x800000) << 1
    aux = np.ascontiguousarray(packets[:, 26:32]).view(">i2").astype(np.int16)
    return packets[:, 1].astype(np.int64), counts, aux, packets[:, 32]


def encode_packets(sample_numbers, eeg_counts, aux_counts, stop_bytes=ACCEL_STOP_BYTE):
    """Build packets, an (n, 33) uint8 array, from values in ``decode_packets``' form."""
    counts = np.asarray(eeg_counts, dtype=np.int64)
    if np.any((counts < -(1 << 23)) | (counts >= 1 << 23)):
        raise ValueError("OpenBCI channel counts must fit in 24-bit two's complement")
    n = len(counts)
    packets = np.zeros((n, PACKET_SIZE), dtype=np.uint8)
    packets[:, 0] = START_BYTE
    packets[:, 1] = np.asarray(sample_numbers) % SAMPLE_NUMBER_CYCLE
    unsigned = counts & 0xFFFFFF
    channel_bytes = np.stack([unsigned >> 16, unsigned >> 8, unsigned], axis=-1) & 0xFF
    packets[:, 2:26] = channel_bytes.reshape(n, 24)
    packets[:, 26:32] = np.asarray(aux_counts, dtype=">i2").reshape(n, 3).view(np.uint8).reshape(n, 6)
    packets[:, 32] = stop_bytes
    return packets
