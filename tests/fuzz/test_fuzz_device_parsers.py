"""Fuzz target: the device protocol parsers (RDA / BrainAmp, OpenBCI Cyton, Emotiv EPOC).

Each parser gets arbitrary bytes, and mutated valid streams (bytes flipped, inserted,
deleted, length fields overwritten, streams truncated), cut at arbitrary points; the
OpenBCI node's sample-number unwrapping and Daisy framing get packets in any batches. It
must never fail with anything but its documented error (RDAProtocolError, and
ConnectionError once the peer closed, for RDA; none for the OpenBCI splitter and the
Emotiv decoder, which take any bytes), never allocate more than a small multiple of
the bytes it was given, whatever a length field declares, and decode valid packets to
exactly what the encoder (the simulators' side of each protocol) was given.
"""
import contextlib
import itertools
import os
import socket
import tracemalloc

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pyacq.devices import emotiv_protocol as emotiv
from pyacq.devices import openbci_protocol as openbci
from pyacq.devices import rda_protocol as rda
from pyacq.devices.brainampsocket import READ_SIZE, RDAConnection
from pyacq.devices.hid_reports import HidrawReports

try:
    from Crypto.Cipher import AES
except ImportError:
    AES = None

#: Bytes a parser may allocate beyond ALLOCATION_RATIO times its input: interpreter noise,
#: and the receive buffer of one RDA socket read (whatever size the message declares).
ALLOCATION_SLACK = 128 * 1024 + READ_SIZE
ALLOCATION_RATIO = 8
#: Seconds a read of the RDA test connection may wait (the peer has sent everything before).
RDA_READ_TIMEOUT = 10.0


@contextlib.contextmanager
def allocation_bounded(input_bytes):
    """Fail if the block allocates more than ALLOCATION_RATIO x input_bytes + ALLOCATION_SLACK."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    limit = ALLOCATION_RATIO * input_bytes + ALLOCATION_SLACK
    assert peak <= limit, f"parsing {input_bytes} bytes allocated {peak} bytes (limit {limit})"


# -- mutations of valid byte streams ------------------------------------------------------

@st.composite
def mutated(draw, data):
    """``data`` with a few bytes flipped, inserted or deleted, a uint32 overwritten, or cut."""
    out = bytearray(data)
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "uint32", "truncate"]))
        position = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[position] ^= draw(st.integers(1, 255))
        elif kind == "insert":
            out[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del out[position:position + draw(st.integers(1, 8))]
        elif kind == "uint32":
            value = draw(st.sampled_from([0, 1, 23, 24, 25, 2 ** 16, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1]))
            out[position:position + 4] = value.to_bytes(4, "little")
        elif kind == "truncate":
            del out[position:]
    return bytes(out)


def cut(data, cuts):
    """``data`` split at the (sorted, in-range) positions ``cuts``."""
    edges = [0, *sorted(min(c, len(data)) for c in cuts), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(edges)]


# -- RDA (BrainAmp) -----------------------------------------------------------------------

latin1_names = st.text(st.characters(codec="latin-1", exclude_characters="\x00"), max_size=12)
rda_start = st.builds(
    lambda rate, resolutions, names: (rate, resolutions, names[:len(resolutions)]),
    st.sampled_from([100.0, 250.0, 500.0, 1000.0, 5000.0]),
    st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=6),
    st.lists(latin1_names, min_size=6, max_size=6))
#: (position, points, channel, type, description): strings within MARKER_DTYPE's field widths.
rda_markers = st.lists(st.tuples(
    st.integers(0, 2 ** 32 - 1), st.integers(0, 2 ** 32 - 1), st.integers(-2 ** 31, 2 ** 31 - 1),
    st.text(st.characters(codec="latin-1", exclude_characters="\x00"), max_size=32),
    st.text(st.characters(codec="latin-1", exclude_characters="\x00"), max_size=64)), max_size=3)


@st.composite
def rda_data(draw, nb_channel):
    """``(msg_type, block, values, markers)`` of one valid data message."""
    msg_type = draw(st.sampled_from([rda.MSG_DATA_FLOAT32, rda.MSG_DATA_INT16]))
    values = draw(hnp.arrays(rda.DATA_DTYPES[msg_type], (draw(st.integers(0, 20)), nb_channel)))
    return msg_type, draw(st.integers(0, 2 ** 32 - 1)), values, draw(rda_markers)


@st.composite
def rda_sessions(draw):
    """A start message then data, keep-alive and stop messages: ``(messages, bytes)``."""
    rate, resolutions, names = draw(rda_start)
    messages = [(rda.MSG_START, (rate, resolutions, names))]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["data", "data", "keepalive", "stop"]))
        if kind == "data":
            content = draw(rda_data(len(names)))
            messages.append((content[0], content))
        else:
            messages.append((rda.MSG_KEEPALIVE if kind == "keepalive" else rda.MSG_STOP, None))
    return messages, b"".join(encode_rda(message) for message in messages)


def encode_rda(message):
    msg_type, content = message
    if msg_type == rda.MSG_START:
        return rda.encode_start(*content)
    if msg_type in rda.DATA_DTYPES:
        _, block, values, markers = content
        return rda.encode_data(block, values, markers, msg_type=msg_type)
    return rda.encode_message(msg_type)


def parse_rda_body(msg_type, body, nb_channel):
    """What the node does with a message body of each type."""
    if msg_type == rda.MSG_START:
        return rda.parse_start(body)
    if msg_type in rda.DATA_DTYPES:
        return rda.parse_data(body, msg_type, nb_channel)
    return None


@given(msg_type=st.sampled_from([rda.MSG_START, rda.MSG_DATA_INT16, rda.MSG_DATA_FLOAT32]),
       body=st.binary(max_size=400), nb_channel=st.integers(1, 8))
@example(msg_type=rda.MSG_DATA_FLOAT32, body=b"\x01\x00", nb_channel=2)  # shorter than its head
@example(msg_type=rda.MSG_DATA_FLOAT32, body=bytes(8) + b"\xff\xff\xff\x7f", nb_channel=2)  # 2**31 markers
@example(msg_type=rda.MSG_START, body=b"\x01\x00\x00\x00" + np.float64("nan").tobytes() + bytes(9),
         nb_channel=1)  # a NaN sampling interval
@example(msg_type=rda.MSG_START, body=b"\x01\x00\x00\x00" + np.float64("inf").tobytes() + bytes(9),
         nb_channel=1)  # an infinite one
@example(msg_type=rda.MSG_START, body=b"\x01\x00\x00\x00" + np.float64(5e-324).tobytes() + bytes(9),
         nb_channel=1)  # a subnormal one: an infinite rate
def test_rda_bodies_decode_or_are_refused(msg_type, body, nb_channel):
    """Any start or data body parses, or raises RDAProtocolError; a start message's rate is a
    positive finite number; memory stays within a few times the body's size."""
    with allocation_bounded(len(body)):
        try:
            parsed = parse_rda_body(msg_type, body, nb_channel)
        except rda.RDAProtocolError:
            return
    if msg_type == rda.MSG_START:
        rate, resolutions, names = parsed
        assert np.isfinite(rate) and rate > 0
        assert len(resolutions) == len(names) > 0


@given(header=st.binary(max_size=30))
@example(header=rda.RDA_GUID + bytes(4))  # 20 bytes: a truncated header
def test_rda_headers_decode_or_are_refused(header):
    """A header of any length decodes to (nSize >= 24, nType) or raises RDAProtocolError."""
    try:
        size, _ = rda.parse_header(header)
    except rda.RDAProtocolError:
        return
    assert size >= rda.HEADER.size and header[:16] == rda.RDA_GUID


@given(start=rda_start, data=st.data())
def test_rda_valid_messages_decode_to_what_was_encoded(start, data):
    """encode_start / encode_data (the simulator's side) and parse_header / parse_start /
    parse_data (the node's) agree: every field comes back as it was given."""
    rate, resolutions, names = start
    message = rda.encode_start(rate, resolutions, names)
    assert rda.parse_header(message[:rda.HEADER.size]) == (len(message), rda.MSG_START)
    parsed_rate, parsed_resolutions, parsed_names = rda.parse_start(message[rda.HEADER.size:])
    assert parsed_rate == pytest.approx(rate, rel=1e-12)
    assert parsed_resolutions.tolist() == resolutions and parsed_names == names
    msg_type, block, values, markers = data.draw(rda_data(len(names)))
    message = rda.encode_data(block, values, markers, msg_type=msg_type)
    assert rda.parse_header(message[:rda.HEADER.size]) == (len(message), msg_type)
    parsed_block, parsed_values, parsed_markers = rda.parse_data(message[rda.HEADER.size:], msg_type,
                                                                 len(names))
    assert parsed_block == block
    assert parsed_values.dtype == values.dtype and parsed_values.tobytes() == values.tobytes()
    assert [(int(m["index"]), int(m["points"]), int(m["channel"]), m["type"].decode("latin-1"),
             m["description"].decode("latin-1")) for m in parsed_markers] == markers


@pytest.fixture(scope="module")
def rda_listener():
    """A listening TCP socket on 127.0.0.1 that the RDA connections of this module reach."""
    listener = socket.create_server(("127.0.0.1", 0))
    yield listener
    listener.close()


def read_rda_stream(listener, pieces):
    """Send ``pieces`` (one send each) to an RDAConnection, close, read every message back.

    Returns ``(messages, error)``: the ``(nType, decoded body)`` read before the first
    error, and that error (the peer closing shows as ConnectionError).
    """
    connection = RDAConnection("127.0.0.1", listener.getsockname()[1], "fuzz")
    peer, _ = listener.accept()
    messages = []
    try:
        peer.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for piece in pieces:
            peer.sendall(piece)
        peer.shutdown(socket.SHUT_WR)
        connection.sock.settimeout(RDA_READ_TIMEOUT)
        nb_channel = 1
        while True:
            try:
                msg_type, body = connection.read_message()
                decoded = parse_rda_body(msg_type, body, nb_channel)
            except (rda.RDAProtocolError, ConnectionError) as exc:
                return messages, exc
            if msg_type == rda.MSG_START:
                nb_channel = len(decoded[2])
            messages.append((msg_type, decoded))
    finally:
        peer.close()
        connection.close()


@given(session=rda_sessions(), cuts=st.lists(st.integers(0, 4000), max_size=6))
def test_rda_stream_split_anywhere_reads_every_message(rda_listener, session, cuts):
    """A valid session sent in arbitrary pieces over TCP reads back message by message as it
    was encoded, then the closed connection raises ConnectionError."""
    messages, data = session
    read, error = read_rda_stream(rda_listener, cut(data, cuts))
    assert isinstance(error, ConnectionError) and "closed the connection" in str(error)
    assert len(read) == len(messages)
    for (msg_type, decoded), (sent_type, content) in zip(read, messages, strict=True):
        assert msg_type == sent_type
        if msg_type == rda.MSG_START:
            assert decoded[1].tolist() == content[1] and decoded[2] == content[2]
        elif msg_type in rda.DATA_DTYPES:
            assert decoded[0] == content[1] and decoded[1].tobytes() == content[2].tobytes()


rda_streams = st.one_of(rda_sessions().flatmap(lambda session: mutated(session[1])), st.binary(max_size=200))


@given(stream=rda_streams, cuts=st.lists(st.integers(0, 4000), max_size=6))
@example(stream=rda.HEADER.pack(rda.RDA_GUID, 2 ** 32 - 1, rda.MSG_DATA_FLOAT32) + bytes(100),
         cuts=[])  # a header declaring a 4 GiB message, then a few bytes
@example(stream=rda.HEADER.pack(rda.RDA_GUID, 0x0101002D, rda.MSG_START) + bytes(21),
         cuts=[])  # 16 MiB declared: one socket read's buffer, not the declared size
def test_rda_mutated_streams_fail_only_with_protocol_errors(rda_listener, stream, cuts):
    """A mutated session sent in arbitrary pieces reads up to a RDAProtocolError or the
    ConnectionError of the closed connection, nothing else; however large the sizes
    declared, memory stays within a few times the bytes sent."""
    with allocation_bounded(len(stream)):
        _, error = read_rda_stream(rda_listener, cut(stream, cuts))
    assert isinstance(error, (rda.RDAProtocolError, ConnectionError))


# -- OpenBCI Cyton ------------------------------------------------------------------------

@st.composite
def openbci_packets(draw, min_size=0):
    """``(sample_numbers, eeg_counts, aux_counts, stop_bytes)`` of valid packets."""
    n = draw(st.integers(min_size, 12))
    numbers = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 255)))
    eeg = draw(hnp.arrays(np.int64, (n, 8), elements=st.integers(-(1 << 23), (1 << 23) - 1)))
    aux = draw(hnp.arrays(np.int16, (n, 3)))
    stops = draw(hnp.arrays(np.uint8, n, elements=st.integers(0xC0, 0xC6)))
    return numbers, eeg, aux, stops


def split_packets(pieces):
    """Feed ``pieces`` to one PacketSplitter: ``(packets (n, 33), splitter)``."""
    splitter = openbci.PacketSplitter()
    found = [splitter.feed(piece) for piece in pieces]
    return np.concatenate([np.zeros((0, openbci.PACKET_SIZE), np.uint8), *found]), splitter


@given(packets=openbci_packets(min_size=2), cuts=st.lists(st.integers(0, 500), max_size=8))
def test_openbci_valid_stream_split_anywhere_gives_every_packet(packets, cuts):
    """Back-to-back packets (two or more) fed in arbitrary pieces come out complete, in
    order, none skipped, and decode to the values they were encoded from."""
    encoded = openbci.encode_packets(*packets)
    found, splitter = split_packets(cut(encoded.tobytes(), cuts))
    assert found.tobytes() == encoded.tobytes()
    assert splitter.skipped_bytes == 0
    numbers, eeg, aux, stops = openbci.decode_packets(found)
    assert numbers.tolist() == packets[0].tolist() and eeg.tolist() == packets[1].tolist()
    assert aux.tolist() == packets[2].tolist() and stops.tolist() == packets[3].tolist()


openbci_streams = st.one_of(
    st.binary(max_size=300),
    openbci_packets().map(lambda p: openbci.encode_packets(*p).tobytes()).flatmap(mutated))


@given(stream=openbci_streams, cuts=st.lists(st.integers(0, 500), max_size=8))
def test_openbci_any_stream_split_anywhere_is_accounted_for(stream, cuts):
    """Any bytes, in any pieces: every packet given out has a start and a stop byte, every
    byte is a packet's, skipped (counted) or pending (at most one packet's worth), the
    pieces do not change what comes out, and memory stays within a few times the input."""
    with allocation_bounded(len(stream)):
        found, splitter = split_packets(cut(stream, cuts))
    assert found.shape[1:] == (openbci.PACKET_SIZE,)
    assert np.all(found[:, 0] == openbci.START_BYTE)
    assert np.all((found[:, -1] >= 0xC0) & (found[:, -1] <= 0xC6))
    pending = len(splitter._pending)
    assert pending <= openbci.PACKET_SIZE
    assert found.size + splitter.skipped_bytes + pending == len(stream)
    whole, whole_splitter = split_packets([stream])
    assert whole.tobytes() == found.tobytes()
    assert whole_splitter.skipped_bytes == splitter.skipped_bytes


@given(packets=hnp.arrays(np.uint8, st.tuples(st.integers(0, 10), st.just(openbci.PACKET_SIZE))))
def test_openbci_any_packet_decodes_within_range(packets):
    """decode_packets takes any 33-byte rows: 24-bit signed counts, int16 aux, byte fields."""
    numbers, eeg, aux, stops = openbci.decode_packets(packets)
    assert eeg.shape == (len(packets), 8) and aux.shape == (len(packets), 3)
    assert np.all((eeg >= -(1 << 23)) & (eeg < 1 << 23))
    assert np.all((numbers >= 0) & (numbers < 256)) and stops.tolist() == packets[:, 32].tolist()


def batch_bounds(n, cuts):
    """``(start, stop)`` of the non-empty consecutive batches ``n`` items cut at ``cuts`` make."""
    inner = sorted({min(c, n) for c in cuts} - {0, n})
    return list(itertools.pairwise([0, *inner, n]))


@given(first=st.integers(0, 255), steps=st.lists(st.integers(1, 256) | st.just(1), min_size=1, max_size=60),
       cuts=st.lists(st.integers(0, 60), max_size=6))
def test_openbci_sample_numbers_unwrap_across_any_batches(first, steps, cuts):
    """The 8-bit sample numbers of packets sent with any jumps (up to a whole cycle) unwrap to
    the count of packets the board sent since the first one, however the packets are batched."""
    sent = np.cumsum([0, *steps[1:]])
    numbers = (first + sent) % openbci.SAMPLE_NUMBER_CYCLE
    counter = openbci.SampleCounter()
    counts = np.concatenate([counter.unwrap(numbers[a:b]) for a, b in batch_bounds(len(numbers), cuts)])
    assert counts.tolist() == sent.tolist() and counter.first_number == first


@given(start=st.integers(0, 9), steps=st.lists(st.sampled_from([1, 1, 1, 2, 3]), max_size=60),
       cuts=st.lists(st.integers(0, 60), max_size=6))
def test_openbci_daisy_frames_join_halves_across_any_batches(start, steps, cuts):
    """Each Cyton packet (odd number) joined with the Daisy packet right after it makes one
    frame, numbered from the first Cyton packet; a frame missing a half is left out; the
    batches the packets come in change nothing."""
    numbers = start + np.cumsum([0, *steps])
    eeg = np.repeat(numbers[:, None], 8, axis=1) * 10 + np.arange(8)
    present = set(numbers.tolist())
    odd = [n for n in numbers.tolist() if n % 2]
    expected = [n for n in odd if n + 1 in present]
    framer = openbci.DaisyFramer()
    joined = [framer.join(numbers[a:b], eeg[a:b]) for a, b in batch_bounds(len(numbers), cuts)]
    frames = np.concatenate([frames for frames, _ in joined])
    values = np.concatenate([values for _, values in joined])
    base = (odd[0] - 1) // 2 if odd else 0
    assert frames.tolist() == [(n - 1) // 2 - base for n in expected]
    assert values.tolist() == [[n * 10 + c for c in range(8)] + [(n + 1) * 10 + c for c in range(8)]
                               for n in expected]


# -- Emotiv EPOC --------------------------------------------------------------------------

SERIAL = "SN20120229000254"


@st.composite
def emotiv_values(draw):
    """``(counters, signals, quality, gyro)`` a report can carry (O1's low bits = quality's 3-4)."""
    n = draw(st.integers(0, 10))
    counters = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 255)))
    signals = draw(hnp.arrays(np.int64, (n, 14), elements=st.integers(0, 2 ** 14 - 1)))
    quality = draw(hnp.arrays(np.int64, n, elements=st.integers(0, 2 ** 14 - 1)))
    o1 = emotiv.CHANNEL_NAMES.index("O1")
    signals[:, o1] = (signals[:, o1] & ~0b11) | ((quality >> 3) & 0b11)
    gyro = np.stack([draw(hnp.arrays(np.int64, n, elements=st.integers(-106, 149))),
                     draw(hnp.arrays(np.int64, n, elements=st.integers(-105, 150)))], axis=-1)
    return counters, signals, quality, gyro.reshape(n, 2)


@given(values=emotiv_values())
def test_emotiv_valid_reports_decode_to_what_was_encoded(values):
    """encode_reports (the headset simulator's side) and decode_reports (the node's) agree."""
    decoded = emotiv.decode_reports(emotiv.encode_reports(*values))
    for got, sent in zip(decoded, values, strict=True):
        assert got.tolist() == sent.tolist()


@given(reports=hnp.arrays(np.uint8, st.tuples(st.integers(0, 10), st.just(emotiv.REPORT_SIZE))))
def test_emotiv_any_report_decodes_within_range(reports):
    """decode_reports takes any 32-byte rows: 14-bit channels and quality, byte-wide gyro."""
    counters, signals, quality, gyro = emotiv.decode_reports(reports)
    assert signals.shape == (len(reports), 14) and gyro.shape == (len(reports), 2)
    assert np.all((signals >= 0) & (signals < 2 ** 14)) and np.all((quality >= 0) & (quality < 2 ** 14))
    assert np.all((gyro >= -106) & (gyro <= 150)) and counters.tolist() == reports[:, 0].tolist()


@given(previous=st.none() | st.integers(0, 127),
       counters=hnp.arrays(np.int64, st.integers(0, 20), elements=st.integers(0, 255)))
def test_emotiv_lost_reports_are_counted_between_data_counters(previous, counters):
    """lost_reports: battery packets (counter >= 128) lose nothing and carry no count; each
    data report counts the reports missing since the previous data counter, modulo 128."""
    lost, last = emotiv.lost_reports(previous, counters)
    data_counters = [int(c) for c in counters if c < 128]
    assert lost[counters >= 128].tolist() == [0] * int(np.sum(counters >= 128))
    before = previous if previous is not None else (data_counters[0] - 1 if data_counters else None)
    for counter, missing in zip(data_counters, lost[counters < 128].tolist(), strict=True):
        assert missing == (counter - before - 1) % 128
        before = counter
    assert last == (data_counters[-1] if data_counters else previous)


@given(serial=st.text(max_size=20) | st.binary(max_size=20))
def test_emotiv_key_from_any_serial_or_value_error(serial):
    """key_from_serial gives a 16-byte AES key, or ValueError for a serial it cannot use."""
    try:
        key = emotiv.key_from_serial(serial)
    except ValueError:
        return
    assert len(key) == 16


@pytest.fixture(scope="module")
def report_fifo(tmp_path_factory):
    """A FIFO the Emotiv HID layer reads like a hidraw node (its path)."""
    path = tmp_path_factory.mktemp("emotiv") / "reports.fifo"
    os.mkfifo(path)
    yield path
    path.unlink()


@pytest.mark.skipif(AES is None, reason="needs pycryptodome (the Emotiv node's decryption)")
@given(values=emotiv_values(), cuts=st.lists(st.integers(0, 400), max_size=8), tail=st.binary(max_size=31))
def test_emotiv_reports_split_anywhere_decrypt_and_decode(report_fifo, values, cuts, tail):
    """Encrypted reports written to the HID layer's FIFO in arbitrary pieces are read as whole
    reports only (a partial report waits, a trailing fragment is never given out), and
    decrypt and decode to the values encoded."""
    cipher = AES.new(emotiv.key_from_serial(SERIAL), AES.MODE_ECB)
    encrypted = cipher.encrypt(emotiv.encode_reports(*values).tobytes())
    source = HidrawReports(str(report_fifo), emotiv.REPORT_SIZE)
    writer = os.open(report_fifo, os.O_WRONLY | os.O_NONBLOCK)
    received = b""
    try:
        for piece in cut(encrypted + tail, cuts):
            os.write(writer, piece)
            chunk = source.read(0)
            assert len(chunk) % emotiv.REPORT_SIZE == 0
            received += chunk
    finally:
        os.close(writer)
        source.close()
    assert received == encrypted
    reports = np.frombuffer(cipher.decrypt(received), dtype=np.uint8).reshape(-1, emotiv.REPORT_SIZE)
    for got, sent in zip(emotiv.decode_reports(reports), values, strict=True):
        assert got.tolist() == sent.tolist()
