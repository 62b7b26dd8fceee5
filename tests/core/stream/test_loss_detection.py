"""Loss is never silent: gaps, overruns and restarts are counted and logged;
nothing sent after connect() returned is lost."""
import logging
import threading

import numpy as np
import pytest
from pyacq.core.stream import BufferOverrunError, InputStream, OutputStream


def _pair(streams, **config):
    out, inp = OutputStream(), InputStream(name="probe")
    streams(out)
    streams(inp)
    out.configure(**config)
    inp.connect(out)
    return out, inp


def _recv(inp, **kwargs):
    assert inp.poll(10000), "no chunk within 10 s"
    return inp.recv(**kwargs)


@pytest.mark.parametrize("mode", ["plaindata", "sharedmem"])
def test_index_gap_is_counted_and_logged(mode, streams, caplog):
    """A chunk that starts after the previous one ended increments gap_count and
    lost_samples and logs a warning naming the missing indexes."""
    out, inp = _pair(streams, protocol="inproc", transfermode=mode, shape=(-1, 1), buffer_size=100)
    chunk = np.zeros((5, 1), "float32")
    out.send(chunk)
    out.send(chunk, index=30)
    out.send(chunk)
    with caplog.at_level(logging.WARNING, logger="pyacq.core.stream.inputstream"):
        assert [_recv(inp)[0] for _ in range(3)] == [5, 30, 35]
    assert (inp.gap_count, inp.lost_samples) == (1, 20)
    assert "20 samples lost (indexes 5 to 25" in caplog.text


def test_lapped_sharedmem_reader_gets_overrun_error(streams):
    """A sharedmem reader asking for a chunk the writer already overwrote gets
    BufferOverrunError (counted), never torn data, and can go on reading."""
    out, inp = _pair(streams, protocol="inproc", transfermode="sharedmem", shape=(-1, 2),
                     buffer_size=100, dtype="int64")
    for i in range(5):
        out.send(np.full((40, 2), i, "int64"))
    with pytest.raises(BufferOverrunError, match="overwritten"):
        _recv(inp, return_data=True)
    assert inp.overrun_count == 1
    for _ in range(2):
        with pytest.raises(BufferOverrunError):
            _recv(inp, return_data=True)
    index, data = _recv(inp, return_data=True)
    assert index == 160 and (data == 3).all()
    assert inp.gap_count == 0


def test_restart_is_not_a_gap(streams):
    """reset_buffer_index() on the output restarts readers at 0: restart_count, no gap,
    and an attached buffer starts over."""
    out, inp = _pair(streams, protocol="inproc", shape=(-1, 1))
    inp.set_buffer(size=20)
    out.send(np.ones((8, 1), "float32"))
    out.reset_buffer_index()
    out.send(np.full((4, 1), 2, "float32"))
    assert [_recv(inp)[0] for _ in range(2)] == [8, 4]
    assert (inp.restart_count, inp.gap_count) == (1, 0)
    np.testing.assert_array_equal(inp[0:4], np.full((4, 1), 2))


@pytest.mark.parametrize("as_params", [False, True], ids=["output", "params"])
@pytest.mark.parametrize("protocol", ["tcp", "ipc", "inproc"])
def test_first_chunk_after_connect_arrives(protocol, as_params, streams):
    """A chunk sent right after connect() returns is received (no slow-joiner loss),
    whether connect() got the OutputStream or only its params."""
    out = OutputStream()
    streams(out)
    out.configure(protocol=protocol, shape=(-1, 1))
    for attempt in range(10):
        inp = InputStream()
        streams(inp)
        inp.connect(out.params if as_params else out)
        out.send(np.full((1, 1), attempt, "float32"))
        _, data = _recv(inp)
        assert data[0, 0] == attempt
        inp.close()


@pytest.mark.parametrize("mode", ["plaindata", "sharedmem"])
def test_connect_while_streaming_loses_nothing(mode, streams):
    """An input connected while another thread streams receives every chunk from its
    first one on, with consecutive indexes and no gap counted."""
    out = OutputStream()
    streams(out)
    out.configure(protocol="tcp", transfermode=mode, shape=(-1, 4), buffer_size=100000)
    stop = threading.Event()

    def produce():
        while not stop.is_set():
            out.send(np.zeros((10, 4), "float32"))

    producer = threading.Thread(target=produce)
    producer.start()
    try:
        inp = InputStream()
        streams(inp)
        inp.connect(out)
        indexes = [_recv(inp)[0] for _ in range(200)]
    finally:
        stop.set()
        producer.join(timeout=10)
    assert not producer.is_alive()
    assert np.all(np.diff(indexes) == 10)
    assert inp.gap_count == 0
