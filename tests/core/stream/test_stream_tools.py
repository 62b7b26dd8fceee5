"""Stream tools: StreamConverter, ChannelSplitter, ChunkResizer, InputPoller and the Qt pollers."""
import sys
import threading
import time

import numpy as np
import pytest
from pyacq.core.node import Node
from pyacq.core.stream import InputStream, OutputStream
from pyacq.core.tools import ChannelSplitter, ChunkResizer, InputPoller, StreamConverter

WAIT = 10.0


def _collect(inp, count):
    """Receive ``count`` chunks (each within WAIT seconds) as (index, data copy) pairs."""
    chunks = []
    for _ in range(count):
        assert inp.poll(int(WAIT * 1000)), f"only {len(chunks)} of {count} chunks arrived"
        index, data = inp.recv(return_data=True)
        chunks.append((index, np.array(data)))
    return chunks


def _signal(start, stop, channels=6):
    return (np.arange(start, stop)[:, None] * 100 + np.arange(channels)).astype("float32")


@pytest.fixture
def source(streams):
    out = OutputStream(name="source")
    streams(out)
    out.configure(protocol="inproc", transfermode="sharedmem", shape=(-1, 6), buffer_size=1000,
                  sample_rate=500.0, units="uV")
    return out


@pytest.fixture
def nodes():
    """Nodes to stop and close at the end of the test."""
    made = []
    yield made.append
    for node in made:
        if node.running():
            node.stop()
        if not node.closed():
            node.close()


def test_stream_converter_sharedmem_to_tcp(source, streams, nodes):
    """StreamConverter re-emits a sharedmem stream over tcp plaindata, same samples,
    same indexes, same metadata; it survives repeated start/stop."""
    conv = StreamConverter(name="conv")
    nodes(conv)
    conv.configure()
    conv.input.connect(source)
    conv.output.configure(protocol="tcp", transfermode="plaindata")
    conv.initialize()
    assert conv.output.params["sample_rate"] == 500.0 and conv.output.params["units"] == "uV"
    sink = InputStream()
    streams(sink)
    sink.connect(conv.output)
    for run in range(3):
        conv.start()
        source.reset_buffer_index()
        for start in range(0, 100, 20):
            source.send(_signal(start, start + 20))
        chunks = _collect(sink, 5)
        conv.stop()
        assert [index for index, _ in chunks] == [20, 40, 60, 80, 100]
        np.testing.assert_array_equal(np.concatenate([d for _, d in chunks]), _signal(0, 100))
    assert sink.gap_count == 0 and sink.restart_count == 3


def test_channel_splitter(source, streams, nodes):
    """ChannelSplitter sends each group of channels, in the order asked, on its own output."""
    splitter = ChannelSplitter(name="split")
    nodes(splitter)
    splitter.configure(output_channels={"a": [0, 2], "b": [5, 1, 3]})
    splitter.input.connect(source)
    for output in splitter.outputs.values():
        output.configure(protocol="inproc")
    splitter.initialize()
    sinks = {}
    for name, output in splitter.outputs.items():
        assert output.params["shape"] == [-1, len(splitter.channels[name])]
        sinks[name] = InputStream()
        streams(sinks[name])
        sinks[name].connect(output)
    splitter.start()
    source.send(_signal(0, 30))
    got = {name: _collect(sink, 1)[0] for name, sink in sinks.items()}
    splitter.stop()
    assert got["a"][0] == got["b"][0] == 30
    np.testing.assert_array_equal(got["a"][1], _signal(0, 30)[:, [0, 2]])
    np.testing.assert_array_equal(got["b"][1], _signal(0, 30)[:, [5, 1, 3]])


def test_channel_splitter_refuses_bad_channels(source, nodes):
    """Channel lists that are empty, not integers, or out of range raise ValueError."""
    splitter = ChannelSplitter()
    nodes(splitter)
    with pytest.raises(ValueError, match="non-empty"):
        splitter.configure(output_channels={})
    with pytest.raises(ValueError, match="channel indexes"):
        splitter.configure(output_channels={"a": [0.5]})
    splitter.configure(output_channels={"a": [0, 6]})
    with pytest.raises(ValueError, match="has 6"):
        splitter.input.connect(source)


def test_chunk_resizer_sends_only_full_chunks(source, streams, nodes, caplog):
    """ChunkResizer emits chunks of exactly chunksize samples whose indexes are absolute (its
    output shape says so); the remainder waits for the next chunk, and what cannot be
    completed (before an input gap, at stop) is discarded, counted and logged."""
    resizer = ChunkResizer(name="resize")
    nodes(resizer)
    with pytest.raises(ValueError, match="chunksize"):
        resizer.configure(chunksize=0)
    resizer.configure(chunksize=16)
    resizer.input.connect(source)
    resizer.output.configure(protocol="inproc")
    assert resizer.output.params["shape"] == [16, 6]
    resizer.initialize()
    sink = InputStream()
    streams(sink)
    sink.connect(resizer.output)
    resizer.start()
    for start, stop in [(0, 5), (5, 40), (40, 41), (41, 64), (64, 70)]:
        source.send(_signal(start, stop))
    source.send(_signal(100, 130), index=130)
    chunks = _collect(sink, 5)
    with caplog.at_level("INFO", logger="pyacq.core.streamtools.chunkresizer"):
        resizer.stop()
    assert [(index, len(data)) for index, data in chunks] == [
        (16, 16), (32, 16), (48, 16), (64, 16), (116, 16)]
    for index, data in chunks:
        np.testing.assert_array_equal(data, _signal(index - len(data), index))
    assert not sink.poll(timeout=200), "a partial chunk was sent"
    assert sink.gap_count == 1 and sink.lost_samples == 36
    assert resizer.discarded_samples == 6 + 14
    assert any("14 samples up to index 130" in r.getMessage() and "stop" in r.getMessage()
               for r in caplog.records)


def test_chunk_resizer_defaults_to_100_samples(source, nodes):
    """configure() without chunksize cuts chunks of 100 samples, as pyacq 2.0 did."""
    resizer = ChunkResizer(name="resize100")
    nodes(resizer)
    resizer.configure()
    resizer.input.connect(source)
    resizer.output.configure(protocol="inproc")
    assert resizer.chunksize == 100 and resizer.output.params["shape"] == [100, 6]


def test_input_poller_stops_promptly(streams):
    """InputPoller hands every chunk to its callback and stops within its poll timeout."""
    out, inp = OutputStream(), InputStream()
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", shape=(-1, 1))
    inp.connect(out)
    received, done = [], threading.Event()

    def callback(index, data):
        received.append(index)
        if len(received) == 3:
            done.set()

    poller = InputPoller(inp, callback, timeout=50)
    poller.start()
    for _ in range(3):
        out.send(np.zeros((2, 1), "float32"))
    assert done.wait(WAIT)
    stopped_at = time.monotonic()
    poller.stop()
    poller.join(timeout=WAIT)
    assert not poller.is_alive() and time.monotonic() - stopped_at < 5
    assert received == [2, 4, 6]


def test_input_poller_needs_somewhere_to_hand_chunks(streams):
    """An InputPoller without a callback whose class does not override process_data is refused
    at creation (TypeError naming the input and both fixes), as is a callback that cannot be
    called; a subclass overriding process_data needs no callback and gets every chunk."""
    out, inp = OutputStream(), InputStream(name="signals")
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", shape=(-1, 1))
    inp.connect(out)
    with pytest.raises(TypeError, match="InputPoller of InputStream 'signals': no callback given and "
                                        "process_data not overridden; pass callback=.* or override"):
        InputPoller(inp)
    with pytest.raises(TypeError, match="InputPoller of InputStream 'signals': callback must be callable"):
        InputPoller(inp, callback="print")

    class Recorder(InputPoller):
        def __init__(self, input_stream):
            super().__init__(input_stream, timeout=50)
            self.indexes, self.done = [], threading.Event()

        def process_data(self, index, data):
            self.indexes.append(index)
            self.done.set()

    poller = Recorder(inp)
    poller.start()
    out.send(np.zeros((2, 1), "float32"))
    try:
        assert poller.done.wait(WAIT)
    finally:
        poller.stop()
        poller.join(timeout=WAIT)
    assert poller.indexes == [2] and not poller.is_alive()


class _Sink(Node):
    _input_specs = {"signals": dict(dtype="float32")}


def test_node_streams_lifecycle(source, streams, nodes):
    """Node streams call the node's hooks, and Node.start() resets output indexes."""
    sink = _Sink(name="sink")
    nodes(sink)
    calls = []
    sink.after_input_connect = calls.append
    sink.configure()
    sink.input.connect(source)
    assert calls == ["signals"]
    conv = StreamConverter(name="conv")
    nodes(conv)
    conv.configure()
    conv.input.connect(source)
    conv.output.configure(protocol="inproc")
    conv.initialize()
    reader = InputStream()
    streams(reader)
    reader.connect(conv.output)
    conv.start()
    source.send(_signal(0, 4))
    source.send(_signal(4, 8))
    assert [index for index, _ in _collect(reader, 2)] == [4, 8]
    conv.stop()
    conv.start()
    source.reset_buffer_index()
    source.send(_signal(0, 4))
    assert _collect(reader, 1)[0][0] == 4
    assert reader.restart_count == 2 and reader.gap_count == 0


@pytest.fixture
def qapp():
    pytest.importorskip("PyQt5")
    import pyqtgraph as pg
    return pg.mkQApp()


def _process_until(qapp, condition):
    deadline = time.monotonic() + WAIT
    while not condition() and time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.001)
    return condition()


def test_thread_poll_input_emits_new_data(qapp, streams):
    """ThreadPollInput emits new_data(index, data) in the Qt thread for each chunk,
    and stop() + wait() end it."""
    from pyacq.core.tools import ThreadPollInput
    out, inp = OutputStream(), InputStream()
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", shape=(-1, 2))
    inp.connect(out)
    poller = ThreadPollInput(inp, timeout=50, return_data=True)
    received = []
    poller.new_data.connect(lambda index, data: received.append((index, data.shape)))
    poller.start()
    for _ in range(3):
        out.send(np.zeros((5, 2), "float32"))
    assert _process_until(qapp, lambda: len(received) == 3)
    poller.stop()
    assert poller.wait(int(WAIT * 1000))
    assert received == [(5, (5, 2)), (10, (5, 2)), (15, (5, 2))]
    big = 2**40
    out.send(np.zeros((1, 2), "float32"), index=big)
    poller.start()
    assert _process_until(qapp, lambda: len(received) == 4)
    poller.stop()
    assert poller.wait(int(WAIT * 1000))
    assert received[-1][0] == big


class _Viewer(Node):
    _input_specs = {"signals": {}}


def test_thread_poll_input_failure_reaches_the_node(qapp, streams):
    """An exception in a ThreadPollInput's processData makes the node owning the input 'failed',
    naming the poller and the input."""
    from pyacq.core.tools import ThreadPollInput

    class Refusing(ThreadPollInput):
        def processData(self, index, data):
            raise ValueError("cannot draw this chunk")

    out = OutputStream()
    streams(out)
    out.configure(protocol="inproc", shape=(-1, 2))
    node = _Viewer(name="viewer")
    node.configure()
    node.input.connect(out)
    node.initialize()
    node.start()
    poller = Refusing(node.input, timeout=50, return_data=True)
    poller.start()
    out.send(np.zeros((5, 2), "float32"))
    assert poller.wait(int(WAIT * 1000))
    assert node.failed() and not node.running()
    assert node.error_message() == ("thread \"Refusing of input 'signals'\" failed: ValueError: "
                                    "cannot draw this chunk")
    node.stop()
    node.close()


def test_thread_poll_output_watches_an_output(qapp, streams):
    """ThreadPollOutput emits new_data for what an OutputStream sends."""
    from pyacq.core.tools import ThreadPollOutput
    out = OutputStream()
    streams(out)
    out.configure(protocol="inproc", shape=(-1, 2))
    poller = ThreadPollOutput(out, timeout=50)
    received = []
    poller.new_data.connect(lambda index, data: received.append(index))
    poller.start()
    out.send(np.zeros((3, 2), "float32"))
    assert _process_until(qapp, lambda: received == [3])
    poller.stop()
    assert poller.wait(int(WAIT * 1000))
    assert not poller.input_stream.connected


def test_tools_import_without_qt():
    """pyacq.core.stream and pyacq.core.tools import without loading Qt."""
    import subprocess
    code = ("import sys, pyacq.core.stream, pyacq.core.tools; "
            "assert not [m for m in sys.modules if m.startswith(('PyQt', 'pyqtgraph'))]")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60,
                   env={"PYTHONPATH": ":".join(sys.path)})
