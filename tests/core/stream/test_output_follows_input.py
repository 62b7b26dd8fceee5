"""Outputs whose params follow a node's input: OutputStream.follow_spec, and the stream tools
(StreamConverter, ChannelSplitter, ChunkResizer) in both orders of the documented steps."""
import logging

import numpy as np
import pytest
from follow_input_cases import CORE_CASES, ORDERS, run_locally
from pyacq.core import InputStream, Node, OutputStream, StreamConverter
from pyacq.core.stream import StreamSpecError, StreamStateError


@pytest.mark.parametrize("transfermode", ["plaindata", "sharedmem"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", CORE_CASES, ids=str)
def test_stream_tools_follow_their_input_in_both_orders(case, order, transfermode):
    """Whether the output is configured before or after the input connects, the output ends
    initialize() with the input's dtype (float64), shape and sample rate, keeps the protocol and
    transfer mode given to its configure(), and a reader receives the right samples."""
    run_locally(case, order, transfermode)


def _float64_source(streams):
    source = OutputStream(name="source")
    streams(source)
    source.configure(protocol="inproc", dtype="float64", shape=(-1, 3), sample_rate=500.0)
    return source


def test_follow_spec_keeps_the_socket_and_remakes_the_ring_buffer(streams):
    """follow_spec() re-derives the params from the edited spec on the same URL, with the
    protocol and transfer mode given to configure(); a sharedmem stream gets a new ring buffer
    of the new dtype and shape (the old segment is released), which a reader then reads."""
    out = OutputStream(spec=dict(dtype="float32", shape=(-1, 3)), name="out")
    streams(out)
    out.configure(protocol="ipc", transfermode="sharedmem", buffer_size=64)
    before = out.params
    assert out.follow_spec() is False
    out.spec.update(dtype="float64", shape=(-1, 2), sample_rate=250.0)
    assert out.follow_spec() is True
    after = out.params
    assert (after["url"], after["protocol"], after["transfermode"]) == (
        before["url"], "ipc", "sharedmem")
    assert (after["dtype"], after["shape"], after["sample_rate"]) == ("<f8", [-1, 2], 250.0)
    assert after["shm_id"] != before["shm_id"] and after["buffer_size"] == 64
    reader = InputStream()
    streams(reader)
    reader.connect(out)
    chunk = np.arange(10.0).reshape(5, 2)
    out.send(chunk)
    assert reader.poll(5000)
    index, data = reader.recv(return_data=True)
    assert index == 5 and data.dtype == np.float64
    np.testing.assert_array_equal(data, chunk)


def test_follow_spec_refuses_a_contradicting_keyword_until_fixed(streams):
    """A keyword given to configure() that the new spec contradicts raises a StreamSpecError
    naming the stream, the key, the user's value and the spec's value, and how to fix it;
    params and send() refuse until the spec agrees again."""
    out = OutputStream(name="filtered")
    streams(out)
    out.configure(protocol="inproc", dtype="float32")
    out.spec["dtype"] = "float64"
    with pytest.raises(StreamSpecError) as error:
        out.follow_spec()
    message = str(error.value)
    for part in ("OutputStream 'filtered'", "configure(dtype='float32')", "dtype='float64'",
                 "leave dtype out of configure()"):
        assert part in message
    with pytest.raises(StreamSpecError, match="float32"):
        assert out.params
    with pytest.raises(StreamSpecError, match="float32"):
        out.send(np.zeros(3, "float32"))
    out.spec["dtype"] = "float32"
    assert out.follow_spec() is False
    assert out.params["dtype"] == "<f4"


def test_follow_spec_refuses_to_change_params_under_a_connected_reader(streams):
    """Once an InputStream connected with the old params, a change of params is refused
    (StreamStateError naming the changed keys) rather than sending what the reader cannot read."""
    out = OutputStream(name="out")
    streams(out)
    out.configure(protocol="tcp", dtype="float32", shape=(-1, 2))
    reader = InputStream()
    streams(reader)
    reader.connect(out.params)
    out.spec["sample_rate"] = 100.0
    with pytest.raises(StreamStateError, match=r"\['sample_rate'\].*already connected"):
        out.follow_spec()
    with pytest.raises(StreamStateError, match="already connected"):
        assert out.params


def test_an_output_awaiting_its_input_gives_no_params(streams):
    """An output configured before the input it follows connects holds its socket but gives no
    params (a reader connecting then is refused, naming that input); once the input connects
    the reader gets the input's params."""
    source = _float64_source(streams)
    conv = StreamConverter(name="conv")
    conv.configure()
    conv.output.configure(protocol="inproc", transfermode="plaindata")
    reader = InputStream()
    streams(reader)
    try:
        with pytest.raises(StreamStateError, match="follow the node's input 'in', which is not connected"):
            reader.connect(conv.output)
        with pytest.raises(StreamStateError, match="input 'in'"):
            conv.output.send(np.zeros((1, 3), "float32"))
        conv.input.connect(source)
        reader.connect(conv.output)
        assert (reader.params["dtype"], reader.params["sample_rate"]) == ("<f8", 500.0)
    finally:
        conv.close()


def test_initialize_refuses_an_output_setting_that_contradicts_the_input(streams, caplog):
    """Output configured with dtype='float32' before a float64 input connects: the connection is
    made (a warning is logged), and initialize() raises naming the node, the output, both
    values and the fix; the node stays configured."""
    source = _float64_source(streams)
    conv = StreamConverter(name="conv")
    conv.configure()
    try:
        conv.output.configure(protocol="inproc", dtype="float32")
        with caplog.at_level(logging.WARNING, logger="pyacq.core.node"):
            conv.input.connect(source)
        assert conv.input.connected
        assert any("dtype='float32'" in record.getMessage() for record in caplog.records)
        with pytest.raises(StreamSpecError) as error:
            conv.initialize()
        message = str(error.value)
        for part in ("OutputStream 'out' of StreamConverter node 'conv'", "configure(dtype='float32')",
                     "dtype='<f8'", "connected input", "leave dtype out of configure()"):
            assert part in message
        assert conv.configured() and not conv.initialized()
    finally:
        conv.close()


class _Gain(Node):
    """A plugin's node: its output follows its input through two declarations only."""

    _input_specs = {"in": {}}
    _output_specs = {"out": {}}
    _output_follows = {"out": ("in",)}

    def update_output_specs(self):
        if self.input.connected:
            self.output.spec.update(dtype=self.input.params["dtype"], shape=self.input.params["shape"])


@pytest.mark.parametrize("order", ORDERS)
def test_a_node_declaring_what_its_output_follows_gets_it_in_both_orders(streams, order):
    """Any Node subclass that declares _output_follows and writes update_output_specs() ends
    initialize() with its output's params from the input, whichever step came first."""
    source = _float64_source(streams)
    node = _Gain(name="gain")
    node.configure()
    try:
        if order == "output_first":
            node.output.configure(protocol="inproc")
            node.input.connect(source)
        else:
            node.input.connect(source)
            node.output.configure(protocol="inproc")
        node.initialize()
        assert (node.output.params["dtype"], node.output.params["shape"]) == ("<f8", [-1, 3])
    finally:
        node.close()


def test_initialize_refuses_an_output_whose_followed_input_is_not_connected():
    """initialize() with a configured output whose input never connected raises, naming the
    node, the output and the input."""
    node = _Gain(name="gain")
    node.configure()
    try:
        node.output.configure(protocol="inproc")
        with pytest.raises(RuntimeError, match="Gain node 'gain': output 'out' follows the node's "
                                               "input 'in', which is not connected"):
            node.initialize()
    finally:
        node.close()


def test_a_sender_refusing_the_derived_params_is_reported_at_initialize(streams):
    """A sharedmem output configured before its input, without buffer_size: the ring buffer
    cannot be made once the input connects, and initialize() says so, naming the output."""
    source = _float64_source(streams)
    conv = StreamConverter(name="conv")
    conv.configure()
    try:
        conv.output.configure(protocol="inproc", transfermode="sharedmem")
        conv.input.connect(source)
        with pytest.raises(StreamSpecError, match="OutputStream 'out' of StreamConverter node 'conv'.*"
                                                  "needs buffer_size"):
            conv.initialize()
    finally:
        conv.close()
