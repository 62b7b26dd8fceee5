"""NumpyDeviceBuffer: plays an array as a live stream, exactly and at the real rate."""
import inspect
import logging
import threading
import time

import numpy as np
import pytest
from process_checks import wait_until
from pyacq.core import InputStream, NodeStateError, RemoteCallException, get_node_type
from pyacq.core.stream import StreamStateError
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


def test_initialize_refuses_the_unconfigured_output():
    """A device whose output was not configured is refused at initialize(), with the fix,
    instead of starting a sending thread that dies at its first chunk."""
    dev = NumpyDeviceBuffer(name="dev")
    dev.configure(nb_channel=2)
    with pytest.raises(NodeStateError, match=r"NumpyDeviceBuffer node 'dev': cannot initialize\(\) with "
                                             r"output 'signals' not configured.*"
                                             r"node.outputs\['signals'\].configure\("):
        dev.initialize()
    assert not dev.initialized()
    dev.close()


def test_sending_thread_failure_makes_the_device_failed(device_and_input, caplog):
    """When the sending thread dies (here: its output closed under it), running() turns False,
    node.error holds the StreamStateError, it is logged once; stop() and close() still work."""
    dev, inp = device_and_input
    dev.configure(nb_channel=2, sample_interval=0.001, chunksize=10)
    dev.output.configure(protocol="inproc", transfermode="plaindata")
    inp.connect(dev.output)
    dev.initialize()
    dev.start()
    assert inp.poll(timeout=10000)
    with caplog.at_level(logging.ERROR):
        dev.output.close()
        assert wait_until(lambda: not dev.running(), 10.0)
    assert dev.failed()
    assert isinstance(dev.error, StreamStateError)
    assert dev.error_message().startswith("thread 'dev-send' failed: StreamStateError")
    assert sum("'dev-send' failed" in r.getMessage() for r in caplog.records) == 1
    dev.stop()
    assert dev.initialized() and not dev.failed()
    dev.close()


def test_configure_typo_lists_the_valid_keywords():
    """A misspelt keyword names NumpyDeviceBuffer.configure(), the close match and every keyword."""
    dev = NumpyDeviceBuffer(name="dev")
    with pytest.raises(TypeError) as info:
        dev.configure(nb_chanel=4)
    message = str(info.value)
    assert "NumpyDeviceBuffer.configure() got unexpected keyword argument 'nb_chanel' (did you " \
           "mean 'nb_channel'?)" in message
    assert "valid keywords: nb_channel=16, sample_interval=0.001, chunksize=256, buffer=None, " \
           "channel_names=None" in message
    assert str(inspect.signature(dev.configure)) == \
        "(*, nb_channel=16, sample_interval=0.001, chunksize=256, buffer=None, channel_names=None)"
    dev.close()


@pytest.mark.parametrize("keyword, value, path, what", [
    ("buffer", lambda: None, "buffer", "a function (<lambda>)"),
    ("buffer", threading.Lock(), "buffer", "a _thread.lock object"),
    ("buffer", np.array([[1.0, "a"]], dtype=object), "buffer", "a numpy array of dtype object"),
    ("channel_names", ["a", threading.Event()], "channel_names[1]", "a threading.Event object"),
], ids=["lambda", "lock", "object-array", "nested"])
def test_remote_configure_refuses_values_without_value_form(spawned_nodegroup, keyword, value, path,
                                                            what):
    """configure() of a node in another process refuses, at the call, an argument that could only
    be lent as a proxy, naming the argument and what it is; values still configure it."""
    dev = spawned_nodegroup.create_node("NumpyDeviceBuffer", name="remote-dev")
    with pytest.raises(RemoteCallException) as info:
        dev.configure(nb_channel=2, **{keyword: value})
    assert info.value.type_str == "TypeError"
    message = str(info.value)
    assert (f"NumpyDeviceBuffer node 'remote-dev': NumpyDeviceBuffer.configure(): argument {path!r} "
            f"is {what}") in message
    assert "the configure parameters of a remote node must be values" in message
    assert not dev.configured()
    dev.configure(nb_channel=2, buffer=np.zeros((100, 2), "float32"), channel_names=["a", "b"])
    assert dev.configured()
    spawned_nodegroup.nodegroup.remove_node(dev)
