"""Emotiv against generated encrypted reports: channel values, gyro, qualities and counter exact."""
import time

import numpy as np
import pytest
from pyacq.core import get_node_type
from pyacq.devices import Emotiv
from pyacq.devices.emotiv_protocol import CHANNEL_NAMES, decode_reports, key_from_serial
from pyacq.devices.simulators import EmotivHeadset

AES = pytest.importorskip("Crypto.Cipher.AES")

OUTPUTS = ("signals", "impedances", "gyro")


def collect(inputs, n_samples, timeout=20.0):
    """Receive every output until ``signals`` has ``n_samples``; return {name: [(index, data)]}."""
    chunks = {name: [] for name in inputs}
    deadline = time.monotonic() + timeout
    while sum(len(c) for _, c in chunks["signals"]) < n_samples:
        assert time.monotonic() < deadline, "reports did not arrive in time"
        # Drain what each input holds now, then wait a little on one of them: waiting on
        # each in turn would starve the others when chunks come faster than the wait.
        received = False
        for name, inp in inputs.items():
            while inp.poll(timeout=0):
                index, data = inp.recv()
                chunks[name].append((index, np.array(data)))
                received = True
        if not received:
            inputs["signals"].poll(timeout=10)
    return chunks


@pytest.fixture
def emotiv_node(device_nodes):
    """Configure an Emotiv node with ``configure_kw``, connect all outputs, start; clean up."""
    def run(**configure_kw):
        dev = device_nodes.add(Emotiv(name="epoc"))
        dev.configure(**configure_kw)
        inputs = device_nodes.connect(dev, OUTPUTS, protocol="inproc", transfermode="plaindata")
        dev.initialize()
        dev.start()
        return dev, inputs

    return run


def check_values(headset, chunks):
    """Signals and gyro of each chunk equal the headset's tables at the packets its index names."""
    for name, column in (("signals", 0), ("gyro", 2)):
        for index, data in chunks[name]:
            np.testing.assert_array_equal(data, headset.expected(np.arange(index - len(data), index))[column])


def test_registered_by_entry_point():
    """Emotiv is found by name through the pyacq-devices entry point."""
    assert get_node_type("Emotiv") is Emotiv


def test_key_from_serial_matches_the_documented_example():
    """The serial-derived key of SN20120229000254 is the documented one and encrypts as documented."""
    key = key_from_serial("SN20120229000254")
    assert key == b"4\x005T2\x100B4\x005H2\x000P"
    assert AES.new(key, AES.MODE_ECB).encrypt(bytes(16)).hex() == "7d445cf4652734868f6493ffb1c8ee93"


def test_decoding_gives_back_counter_values_quality_and_gyro():
    """Decrypting and decoding generated reports gives the counters (battery packet included),
    14 channel values, quality and gyro that were encoded."""
    headset = EmotivHeadset(battery_level=42)
    try:
        cipher = AES.new(key_from_serial(headset.serial), AES.MODE_ECB)
        packets = np.arange(120, 140)
        encrypted = b"".join(headset.encrypted_report(k) for k in packets)
        reports = np.frombuffer(cipher.decrypt(encrypted), dtype=np.uint8).reshape(-1, 32)
        counters, signals, quality, gyro = decode_reports(reports)
    finally:
        headset.close()
    assert counters.tolist() == [*range(120, 128), 128 + 42, *range(11)]
    exp_signals, exp_quality, exp_gyro = headset.expected(packets)
    np.testing.assert_array_equal(signals, exp_signals)
    np.testing.assert_array_equal(quality, exp_quality)
    np.testing.assert_array_equal(gyro, exp_gyro)


def test_hidraw_path_values_exact_and_counter_gap_counted(emotiv_node):
    """Through a hidraw-like FIFO: 14 channels and gyro exact at 128 Hz; dropped packets (a
    counter jump) are counted and shown as an index jump; a battery packet is a sample."""
    headset = EmotivHeadset(drop_packets=[30, 31, 32, 100], battery_level=80)
    try:
        dev, inputs = emotiv_node(device_handle=headset.fifo_path, serial=headset.serial)
        params = inputs["signals"].params
        assert params["sample_rate"] == 128.0 and params["shape"] == [-1, 14]
        assert [c["name"] for c in params["channel_info"]] == CHANNEL_NAMES
        headset.start()
        chunks = collect(inputs, 180)
        dev.stop()
    finally:
        headset.close()
    check_values(headset, chunks)
    received = np.concatenate([np.arange(i - len(c), i) for i, c in chunks["signals"]])
    assert set(range(180)) - set(received) == {30, 31, 32, 100}
    assert (dev.gap_count, dev.lost_samples) == (2, 4), \
        f"gaps at indexes {sorted(set(range(int(received.max()) + 1)) - set(received))}"
    assert inputs["signals"].gap_count == 2 and inputs["gyro"].gap_count == 2


def test_hidapi_device_with_report_id_and_impedances(emotiv_node):
    """Through a hidapi device whose reads carry a report-id byte: values exact, and each
    impedance column holds the latest quality of its electrode as chosen by the counter."""
    headset = EmotivHeadset(report_id=True)
    try:
        dev, inputs = emotiv_node(device_handle=headset.hid_device())
        assert dev.serial == "SN20120229000254"
        headset.start()
        chunks = collect(inputs, 64)
        dev.stop()
    finally:
        headset.close()
    check_values(headset, chunks)
    index, impedances = chunks["impedances"][-1]
    last_packet = index - 1
    f3 = CHANNEL_NAMES.index("F3")
    latest_f3 = last_packet - (last_packet % 64)  # counters 0 and 64 carry F3
    assert impedances[-1, f3] == headset.expected([latest_f3])[1][0]


def test_bad_configuration_names_the_device(tmp_path):
    """A missing hidraw path, or a path without a readable serial, fail at configure."""
    dev = Emotiv(name="nohead")
    with pytest.raises(FileNotFoundError, match="hidraw7 does not exist"):
        dev.configure(device_handle=str(tmp_path / "hidraw7"))
    plain = tmp_path / "reports"
    plain.write_bytes(b"")
    with pytest.raises(ValueError, match="cannot read the serial number.*pass serial="):
        dev.configure(device_handle=str(plain))
    with pytest.raises(TypeError, match="hidraw path or an opened hidapi device"):
        dev.configure(device_handle=42)
    dev.close()


def test_runs_in_a_spawned_nodegroup_created_by_name(spawned_nodegroup):
    """An Emotiv node created by name in a Manager's spawned NodeGroup reads the headset FIFO
    and streams the exact channel values to a receiver in this process."""
    headset = EmotivHeadset()
    try:
        dev = spawned_nodegroup.create_node("Emotiv", name="remote-epoc")
        dev.configure(device_handle=headset.fifo_path, serial=headset.serial)
        indexes, data, params = spawned_nodegroup.stream(dev, "signals", 64, start_device=headset.start)
    finally:
        headset.close()
    assert params["nb_channel"] == 14 and indexes[0] >= 1
    np.testing.assert_array_equal(data, headset.expected(np.arange(indexes[-1] - len(data), indexes[-1]))[0])


def test_hidraw_reader_closes_once():
    """HidrawReports.close() called twice closes its descriptor once: the second call does
    nothing (it must not close a descriptor the number has been given to since)."""
    from pyacq.devices.emotiv_protocol import REPORT_SIZE
    from pyacq.devices.hid_reports import HidrawReports
    headset = EmotivHeadset()
    try:
        reports = HidrawReports(headset.fifo_path, REPORT_SIZE)
        reports.close()
        reports.close()
    finally:
        headset.close()
