"""The Emotiv EPOC report format (as reverse-engineered by the emokit project), both directions.

The Emotiv node decodes reports and the headset simulator encodes them, from
the same tables. A report is 32 bytes, AES-128-ECB encrypted (two independent
blocks) with a key derived from the dongle's serial number. Decrypted, byte 0
is a counter (0-127; 128 and above mark a battery packet), each EEG channel is
a 14-bit value spread over 14 bit positions, the contact quality of one
electrode (chosen by the counter) sits in bits 99-112, and bytes 29-30 hold
the gyroscope.

Decoding works on whole batches of reports at once with numpy.
"""
import numpy as np

REPORT_SIZE = 32
SAMPLE_RATE = 128.0
BITS_PER_VALUE = 14
COUNTER_CYCLE = 128
BATTERY_FLAG = 128

#: Bit positions of each channel's value, least significant bit first.
SENSOR_BITS = {
    "F3": [10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7],
    "FC5": [28, 29, 30, 31, 16, 17, 18, 19, 20, 21, 22, 23, 8, 9],
    "AF3": [46, 47, 32, 33, 34, 35, 36, 37, 38, 39, 24, 25, 26, 27],
    "F7": [48, 49, 50, 51, 52, 53, 54, 55, 40, 41, 42, 43, 44, 45],
    "T7": [66, 67, 68, 69, 70, 71, 56, 57, 58, 59, 60, 61, 62, 63],
    "P7": [84, 85, 86, 87, 72, 73, 74, 75, 76, 77, 78, 79, 64, 65],
    "O1": [102, 103, 88, 89, 90, 91, 92, 93, 94, 95, 80, 81, 82, 83],
    "O2": [140, 141, 142, 143, 128, 129, 130, 131, 132, 133, 134, 135, 120, 121],
    "P8": [158, 159, 144, 145, 146, 147, 148, 149, 150, 151, 136, 137, 138, 139],
    "T8": [160, 161, 162, 163, 164, 165, 166, 167, 152, 153, 154, 155, 156, 157],
    "F8": [178, 179, 180, 181, 182, 183, 168, 169, 170, 171, 172, 173, 174, 175],
    "AF4": [196, 197, 198, 199, 184, 185, 186, 187, 188, 189, 190, 191, 176, 177],
    "FC6": [214, 215, 200, 201, 202, 203, 204, 205, 206, 207, 192, 193, 194, 195],
    "F4": [216, 217, 218, 219, 220, 221, 222, 223, 208, 209, 210, 211, 212, 213],
}
QUALITY_BITS = list(range(99, 113))

#: Channel order of the ``signals`` and ``impedances`` outputs.
CHANNEL_NAMES = ["F3", "F4", "P7", "FC6", "F7", "F8", "T7", "P8", "FC5", "AF4", "T8", "O2", "O1", "AF3"]
GYRO_NAMES = ["X", "Y"]

#: Electrode whose contact quality a report carries, by ``counter % 64``; counters
#: whose remainder is 16 or more carry none.
QUALITY_ELECTRODES = ["F3", "FC5", "AF3", "F7", "T7", "P7", "O1", "O2", "P8", "T8", "F8", "AF4",
                      "FC6", "F4", "F8", "AF4"]

GYRO_BYTES = (29, 30)
GYRO_OFFSETS = np.array([106, 105])

_SIGNAL_TABLE = np.array([SENSOR_BITS[name] for name in CHANNEL_NAMES])
_QUALITY_TABLE = np.array(QUALITY_BITS)
_WEIGHTS = 1 << np.arange(BITS_PER_VALUE)
#: For counter % 64: index in CHANNEL_NAMES of the electrode it reports, or -1.
QUALITY_CHANNEL = np.full(64, -1)
QUALITY_CHANNEL[:len(QUALITY_ELECTRODES)] = [CHANNEL_NAMES.index(n) for n in QUALITY_ELECTRODES]


def key_from_serial(serial):
    """The AES-128 key of a dongle, from its serial number (e.g. ``'SN20120229000254'``)."""
    if isinstance(serial, str):
        serial = serial.encode("ascii")
    if len(serial) < 4:
        raise ValueError(f"Emotiv serial number {serial!r} is too short (expected e.g. SN20120229000254)")
    s = [serial[-i:len(serial) - i + 1] for i in range(1, 5)]
    return b"".join([s[0], b"\x00", s[1], b"T", s[2], b"\x10", s[3], b"B",
                     s[0], b"\x00", s[1], b"H", s[2], b"\x00", s[3], b"P"])


def decode_reports(reports):
    """Decode decrypted reports, an (n, 32) uint8 array.

    Returns ``counters`` (n,), ``signals`` (n, 14) in CHANNEL_NAMES order,
    ``quality`` (n,) (contact quality of the electrode given by the counter)
    and ``gyro`` (n, 2), all int64.
    """
    bits = np.unpackbits(reports[:, 1:], axis=1, bitorder="little")
    signals = bits[:, _SIGNAL_TABLE] @ _WEIGHTS
    quality = bits[:, _QUALITY_TABLE] @ _WEIGHTS
    gyro = reports[:, GYRO_BYTES].astype(np.int64) - GYRO_OFFSETS
    return reports[:, 0].astype(np.int64), signals, quality, gyro


def encode_reports(counters, signals, quality, gyro):
    """Build decrypted reports, (n, 32) uint8, from the values ``decode_reports`` returns.

    O1's two low bits share positions 102-103 with quality bits 3-4; a report
    can only carry values that agree there, so this raises ValueError otherwise.
    """
    signals = np.asarray(signals, dtype=np.int64)
    quality = np.asarray(quality, dtype=np.int64)
    n = len(signals)
    if np.any((signals < 0) | (signals >= 1 << BITS_PER_VALUE)) or np.any(
            (quality < 0) | (quality >= 1 << BITS_PER_VALUE)):
        raise ValueError("Emotiv channel and quality values must fit in 14 bits (0..16383)")
    o1 = signals[:, CHANNEL_NAMES.index("O1")]
    if np.any((o1 & 0b11) != ((quality >> 3) & 0b11)):
        raise ValueError("quality bits 3-4 must equal O1's bits 0-1 (they share bits 102-103)")
    bits = np.zeros((n, (REPORT_SIZE - 1) * 8), dtype=np.uint8)
    shifts = np.arange(BITS_PER_VALUE)
    bits[:, _SIGNAL_TABLE] = (signals[:, :, None] >> shifts) & 1
    bits[:, _QUALITY_TABLE] = (quality[:, None] >> shifts) & 1
    reports = np.zeros((n, REPORT_SIZE), dtype=np.uint8)
    reports[:, 1:] = np.packbits(bits, axis=1, bitorder="little")
    reports[:, 0] = counters
    reports[:, GYRO_BYTES] = np.asarray(gyro, dtype=np.int64) + GYRO_OFFSETS
    return reports


def lost_reports(previous_counter, counters):
    """Reports lost before each of ``counters`` (int64 array; battery packets count as present).

    Battery packets (counter >= 128) carry no sequence number: the count runs
    between the data counters around them, modulo 128. ``previous_counter`` is
    the last data counter seen before this batch, or None.
    """
    data = counters < BATTERY_FLAG
    positions = np.flatnonzero(data)
    lost = np.zeros(len(counters), dtype=np.int64)
    if not len(positions):
        return lost, previous_counter
    values = counters[positions]
    before = np.concatenate([[values[0] - 1 if previous_counter is None else previous_counter],
                             values[:-1]])
    lost[positions] = (values - before - 1) % COUNTER_CYCLE
    return lost, int(values[-1])
