"""The device simulators speak their protocols to plain clients (no pyacq node involved)."""
import os
import select
import socket
import time

import numpy as np
import pytest
from pyacq.devices.rda_protocol import (
    HEADER,
    MSG_DATA_FLOAT32,
    MSG_START,
    parse_data,
    parse_header,
    parse_start,
)
from pyacq.devices.simulators import EmotivHeadset, OpenBCIBoard, RDAServer


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        assert chunk, "server closed the connection"
        data += chunk
    return data


def test_rda_server_sends_start_then_numbered_blocks():
    """A raw TCP client gets the start message (channels, rate, resolutions), then data blocks
    numbered from 1 carrying signal / resolution and the requested markers."""
    signal = np.arange(40 * 2, dtype="float32").reshape(40, 2)
    with RDAServer(nb_channel=2, sample_rate=500.0, block_points=10, resolutions=[0.5, 2.0],
                   channel_names=["A", "B"], signal=signal, markers=[(12, "Stimulus", "S  4")]) as server, \
            socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        size, msg_type = parse_header(recv_exactly(sock, HEADER.size))
        assert msg_type == MSG_START
        rate, resolutions, names = parse_start(recv_exactly(sock, size - HEADER.size))
        assert (rate, resolutions.tolist(), names) == (500.0, [0.5, 2.0], ["A", "B"])
        for expected_block in (1, 2, 3):
            size, msg_type = parse_header(recv_exactly(sock, HEADER.size))
            assert msg_type == MSG_DATA_FLOAT32
            block, values, markers = parse_data(recv_exactly(sock, size - HEADER.size), msg_type, 2)
            assert block == expected_block
            rows = signal[(block - 1) * 10:block * 10]
            np.testing.assert_array_equal(values, rows / np.array([0.5, 2.0], dtype="float32"))
            assert markers["index"].tolist() == ([2] if block == 2 else [])


def test_openbci_board_answers_commands_on_its_pty():
    """Through pyserial on the pseudo-terminal: 'v' answers text ending in $$$ (naming the Daisy
    when present), 'b' streams 33-byte packets with consecutive sample numbers, 's' stops."""
    serial = pytest.importorskip("serial")
    with OpenBCIBoard(daisy=True) as board, serial.Serial(board.port, 115200, timeout=0.1) as port:
        port.write(b"v")
        answer = b""
        deadline = time.monotonic() + 10
        while not answer.endswith(b"$$$"):
            assert time.monotonic() < deadline
            answer += port.read(port.in_waiting or 1)
        assert b"On Daisy ADS1299" in answer
        port.write(b"b")
        data = b""
        while len(data) < 33 * 10:
            assert time.monotonic() < deadline
            data += port.read(port.in_waiting or 1)
        packets = np.frombuffer(data[:330], dtype=np.uint8).reshape(10, 33)
        assert (packets[:, 0] == 0xA0).all() and (packets[:, 32] == 0xC0).all()
        assert packets[:, 1].tolist() == list(range(1, 11))
        port.write(b"s")
        while board.commands[-1:] != ["s"]:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not board.streaming


def test_emotiv_headset_fifo_carries_encrypted_reports():
    """The headset's FIFO carries 32-byte reports at 128 Hz that decrypt (serial-derived key)
    to counters 0, 1, 2... and are not plain text."""
    AES = pytest.importorskip("Crypto.Cipher.AES")
    from pyacq.devices.emotiv_protocol import key_from_serial

    headset = EmotivHeadset(serial="SN20120229000254")
    fd = os.open(headset.fifo_path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        headset.start()
        started = time.monotonic()
        data = b""
        while len(data) < 32 * 20:
            assert time.monotonic() - started < 10
            if select.select([fd], [], [], 0.5)[0]:
                data += os.read(fd, 4096)
        elapsed = time.monotonic() - started
    finally:
        headset.close()
        os.close(fd)
    assert elapsed >= 19 / 128 * 0.9
    reports = data[:32 * 20]
    assert reports[:32] != headset.plain_report(0).tobytes()
    plain = AES.new(key_from_serial("SN20120229000254"), AES.MODE_ECB).decrypt(reports)
    assert list(plain[::32]) == list(range(20))
