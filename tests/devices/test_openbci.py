"""OpenBCI against the pseudo-terminal board: exact scaled values, Daisy, resync, counted gaps."""
import time

import numpy as np
import pytest
from pyacq.core import get_node_type
from pyacq.devices import OpenBCI
from pyacq.devices.openbci_protocol import (
    ACCEL_G_PER_COUNT,
    EEG_UV_PER_COUNT,
    PacketSplitter,
    decode_packets,
    encode_packets,
)
from pyacq.devices.simulators import OpenBCIBoard

pytest.importorskip("serial")


def random_counts(n_frames, nb_channel, seed=1):
    """Full-range 24-bit counts, about half of them negative."""
    return np.random.default_rng(seed).integers(-(1 << 23), 1 << 23, size=(n_frames, nb_channel))


def microvolts(counts):
    return (counts * EEG_UV_PER_COUNT).astype("float32")


def collect(inp, n_samples, timeout=20.0, other=None):
    """Receive chunks from ``inp`` until ``n_samples`` arrived; drain ``other`` meanwhile."""
    chunks = []
    deadline = time.monotonic() + timeout
    while sum(len(c) for _, c in chunks) < n_samples:
        assert time.monotonic() < deadline, "samples did not arrive in time"
        if inp.poll(timeout=50):
            index, data = inp.recv()
            chunks.append((index, np.array(data)))
        while other is not None and other.poll(timeout=0):
            index, data = other.recv()
            other.chunks.append((index, np.array(data)))
    return chunks


def wait_for(condition, timeout=10.0):
    """Wait until ``condition()`` is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def node_on_board(device_nodes):
    """Start an OpenBCI node on a simulated board; stop and close everything afterwards."""
    def run(board, board_type):
        dev = device_nodes.add(OpenBCI(name="obci"))
        dev.configure(device_handle=board.port, board=board_type)
        inputs = device_nodes.connect(dev, ("chan", "aux"), protocol="inproc", transfermode="plaindata")
        for inp in inputs.values():
            inp.chunks = []
        dev.initialize()
        dev.start()
        return dev, inputs

    return run


def check_chunks(chunks, counts):
    """Every chunk holds exactly the scaled counts of the frames its index says."""
    for index, data in chunks:
        np.testing.assert_array_equal(data, microvolts(counts[np.arange(index - len(data), index)
                                                              % len(counts)]))


def test_registered_by_entry_point():
    """OpenBCI is found by name through the pyacq-devices entry point."""
    assert get_node_type("OpenBCI") is OpenBCI


def test_cyton_values_exact_including_negative(node_on_board):
    """8 channels at 250 Hz, µV = count x 4.5 / 24 / (2^23 - 1) x 1e6 exactly, negative counts
    included; aux gives the accelerometer in g; the board was reset and started."""
    counts = random_counts(300, 8)
    aux = np.array([[16, -32, 8000], [-1, 0, 1]])
    with OpenBCIBoard(counts=counts, aux=aux) as board:
        dev, inputs = node_on_board(board, "cyton")
        assert inputs["chan"].params["sample_rate"] == 250.0
        assert inputs["chan"].params["shape"] == [-1, 8]
        chunks = collect(inputs["chan"], 300, other=inputs["aux"])
        dev.stop()
        wait_for(lambda: board.commands[-1:] == ["s"])
        assert board.commands == ["s", "v", "b", "s"]
    assert chunks[0][0] >= 1 and sum(len(c) for _, c in chunks) >= 300
    data = np.concatenate([c for _, c in chunks])
    assert (data < 0).any() and (data > 0).any()
    check_chunks(chunks, counts)
    for index, values in inputs["aux"].chunks:
        expected = aux[np.arange(index - len(values), index) % 2] * ACCEL_G_PER_COUNT
        np.testing.assert_array_equal(values, expected.astype("float32"))
    assert dev.gap_count == 0 and inputs["chan"].gap_count == 0


def test_daisy_sixteen_channels_at_125_hz(node_on_board):
    """With a Daisy, Cyton (odd sample numbers) and Daisy packets are joined into 16 channels
    at 125 Hz, values exact; the node asked the board for 16 channels."""
    counts = random_counts(200, 16, seed=2)
    with OpenBCIBoard(daisy=True, counts=counts) as board:
        dev, inputs = node_on_board(board, "daisy")
        params = inputs["chan"].params
        assert params["sample_rate"] == 125.0 and params["nb_channel"] == 16
        assert params["shape"] == [-1, 16]
        chunks = collect(inputs["chan"], 150)
        dev.stop()
        assert "C" in board.commands
    check_chunks(chunks, counts)
    assert dev.gap_count == 0


def test_resync_after_corrupt_bytes_and_counted_gaps(node_on_board):
    """Dropped packets, a packet with a bad stop byte, and junk bytes between packets: the node
    resynchronises, never emits a sample it did not receive, and counts each gap exactly."""
    counts = random_counts(400, 8, seed=3)
    with OpenBCIBoard(counts=counts, drop_packets=[20, 21, 90], corrupt_packets=[50],
                      junk_after=[70, 71]) as board:
        dev, inputs = node_on_board(board, "cyton")
        chunks = collect(inputs["chan"], 150)
        dev.stop()
    check_chunks(chunks, counts)
    received = np.concatenate([np.arange(i - len(c), i) for i, c in chunks])
    assert not set(received[received < 150]) & {20, 21, 50, 90}
    assert set(range(150)) - set(received) == {20, 21, 50, 90}
    assert dev.gap_count == 3 and dev.lost_samples == 4
    assert inputs["chan"].gap_count == 3 and inputs["chan"].lost_samples == 4
    assert dev.skipped_bytes == 33 + 2 * 7


def test_daisy_lost_half_drops_the_whole_frame(node_on_board):
    """A lost Daisy packet loses its frame (a counted gap), never a half-zero sample."""
    counts = random_counts(200, 16, seed=4)
    with OpenBCIBoard(daisy=True, counts=counts, drop_packets=[41], corrupt_packets=[60]) as board:
        dev, inputs = node_on_board(board, "daisy")
        chunks = collect(inputs["chan"], 80)
        dev.stop()
    check_chunks(chunks, counts)
    received = np.concatenate([np.arange(i - len(c), i) for i, c in chunks])
    assert set(range(80)) - set(received) == {20, 30}
    assert dev.gap_count == 2 and dev.lost_samples == 2


def test_splitter_handles_byte_by_byte_reads():
    """Packets fed one byte at a time, with garbage in front, come out whole and in order."""
    counts = random_counts(10, 8, seed=5)
    packets = encode_packets(np.arange(10), counts, np.zeros((10, 3)))
    stream = b"\x00\xa0\x13" + packets.tobytes()
    splitter = PacketSplitter()
    found = [splitter.feed(stream[i:i + 1]) for i in range(len(stream))]
    numbers, decoded, _, _ = decode_packets(np.concatenate(found))
    np.testing.assert_array_equal(numbers, np.arange(10))
    np.testing.assert_array_equal(decoded, counts)
    assert splitter.skipped_bytes == 3


def test_missing_port_fails_at_configure(tmp_path):
    """A serial port path that does not exist raises FileNotFoundError naming it at configure."""
    dev = OpenBCI(name="nothing")
    port = str(tmp_path / "ttyUSB9")
    with pytest.raises(FileNotFoundError, match="ttyUSB9 does not exist"):
        dev.configure(device_handle=port)
    with pytest.raises(ValueError, match="unknown board 'ganglion'"):
        dev.configure(device_handle=port, board="ganglion")
    dev.close()


def test_daisy_requested_without_daisy_fails_at_initialize():
    """board='daisy' on a board without a Daisy module fails at initialize, naming the problem."""
    with OpenBCIBoard(daisy=False) as board:
        dev = OpenBCI(name="nodaisy")
        dev.configure(device_handle=board.port, board="daisy")
        dev.outputs["chan"].configure(protocol="inproc", transfermode="plaindata")
        with pytest.raises(OSError, match="has no Daisy module"):
            dev.initialize()
        dev.close()


def test_runs_in_a_spawned_nodegroup_created_by_name(spawned_nodegroup):
    """An OpenBCI node created by name in a Manager's spawned NodeGroup reads the pty board and
    streams exactly scaled values, at 250 Hz, to a receiver in this process."""
    counts = random_counts(300, 8)
    with OpenBCIBoard(counts=counts) as board:
        dev = spawned_nodegroup.create_node("OpenBCI", name="remote-obci")
        dev.configure(device_handle=board.port, board="cyton")
        indexes, data, params = spawned_nodegroup.stream(dev, "chan", 100)
    assert indexes[0] >= 1 and params["sample_rate"] == 250.0
    last = indexes[-1]
    np.testing.assert_array_equal(data, microvolts(counts[np.arange(last - len(data), last) % len(counts)]))
