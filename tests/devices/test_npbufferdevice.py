"""NumpyDeviceBuffer: plays an array as a live stream, exactly and at the real rate."""
import time

import numpy as np
import pytest
from pyacq.core import InputStream, get_node_type
from pyacq.devices import NumpyDeviceBuffer


@pytest.fixture
def device_and_input(device_nodes):
    return device_nodes.add(NumpyDeviceBuffer(name="dev")), device_nodes.add(InputStream())


def test_registered_by_entry_point():
    """NumpyDeviceBuffer is found by name through the pyacq-devices entry point."""
    assert get_node_type("NumpyDeviceBuffer") is NumpyDeviceBuffer


def test_buffer_is_looped_exactly(device_and_input, receive_chunks):
    """Chunks replay the buffer in order, wrapping around its end, with exact indexes."""
    dev, inp = device_and_input
    buffer = np.arange(70 * 3, dtype="float64").reshape(70, 3)
    dev.configure(nb_channel=3, sample_interval=0.0005, chunksize=16, buffer=buffer,
                  channel_names=["a", "b", "c"])
    assert [c["name"] for c in dev.channel_info] == ["a", "b", "c"]
    dev.output.configure(protocol="inproc", transfermode="plaindata")
    inp.connect(dev.output)
    assert np.dtype(inp.params["dtype"]) == np.float64
    assert inp.params["nb_channel"] == 3
    assert inp.params["channel_info"] == [{"name": "a"}, {"name": "b"}, {"name": "c"}]
    assert inp.params["sample_rate"] == 2000.0
    dev.initialize()
    dev.start()
    indexes, data, _ = receive_chunks(inp, 16 * 20)
    dev.stop()
    assert indexes[:20] == [16 * (k + 1) for k in range(20)]
    expected = buffer[np.arange(16 * 20) % 70]
    np.testing.assert_array_equal(data[:16 * 20], expected)
    assert inp.gap_count == 0


def test_restart_begins_at_index_zero(device_and_input, receive_chunks):
    """stop() then start() streams again from index 0 (a new epoch, not a gap)."""
    dev, inp = device_and_input
    dev.configure(nb_channel=2, sample_interval=0.001, chunksize=10)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    inp.connect(dev.output)
    dev.initialize()
    for _ in range(2):
        dev.start()
        indexes, _, _ = receive_chunks(inp, 30)
        dev.stop()
        assert indexes[0] == 10
        inp.empty_queue()
    assert inp.gap_count == 0


def test_generated_signal_and_rate(device_and_input):
    """Without a buffer, a float32 multi-sine signal streams; 10 s deliver the expected
    number of samples within 0.5 % (pacing on a monotonic clock, no drift)."""
    dev, inp = device_and_input
    rate, chunksize = 1000.0, 20
    dev.configure(nb_channel=4, sample_interval=1 / rate, chunksize=chunksize)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    inp.connect(dev.output)
    dev.initialize()
    started = time.monotonic()
    dev.start()
    received = 0
    while time.monotonic() - started < 10.0:
        if inp.poll(timeout=50):
            _, chunk = inp.recv(return_data=True)
            assert chunk.dtype == np.float32 and chunk.shape == (chunksize, 4)
            received += len(chunk)
    elapsed = time.monotonic() - started
    dev.stop()
    expected = elapsed * rate
    assert abs(received - expected) <= 0.005 * expected, (received, expected)
    assert inp.gap_count == 0


def test_bad_configuration_is_refused():
    """A buffer of the wrong shape, or channel names of the wrong length, raise ValueError."""
    dev = NumpyDeviceBuffer(name="bad")
    with pytest.raises(ValueError, match=r"buffer must have shape \(n_samples, 4\), got \(10, 3\)"):
        dev.configure(nb_channel=4, buffer=np.zeros((10, 3)))
    with pytest.raises(ValueError, match="2 channel_names for 4 channels"):
        dev.configure(nb_channel=4, channel_names=["x", "y"])
    with pytest.raises(ValueError, match="sample_interval must be > 0"):
        dev.configure(sample_interval=0)
    dev.close()
