"""OutputStream / InputStream API: parameters, states, spec checks and bad input."""
import json
import sys

import numpy as np
import pytest
from pyacq.core.stream import (
    InputStream,
    OutputStream,
    StreamConnectionError,
    StreamSpecError,
    StreamStateError,
    all_transfermodes,
    compression_methods,
)
from pyacq.core.stream import subscriber as subscriber_module
from pyacq.core.stream.streamdtype import dtype_from_params, dtype_to_params


def test_documented_registries():
    """The transfer modes and compression methods are listed where the API says."""
    assert {"plaindata", "sharedmem"} <= set(all_transfermodes)
    assert tuple(compression_methods) == ("", "blosc-blosclz", "blosc-lz4")


@pytest.mark.parametrize("dtype", [
    "float32", float, np.dtype(">i2"), "M8[ns]", [("r", "u2"), ("g", "u2"), ("b", "u2")],
    np.dtype([("t", "f8"), ("code", "i4"), ("xy", "f4", (2, 3))], align=True),
    np.dtype({"names": ["a", "b"], "formats": ["u1", "<f8"], "offsets": [0, 8], "itemsize": 24}),
])
def test_dtype_canonical_form_round_trips(dtype):
    """Every dtype spelling maps to one JSON-serialisable form that restores it exactly."""
    form = dtype_to_params(dtype)
    assert json.loads(json.dumps(form)) == form
    assert dtype_from_params(json.loads(json.dumps(form))) == np.dtype(dtype)
    assert np.dtype(form) == np.dtype(dtype)


def test_object_dtype_refused():
    """A dtype holding Python objects cannot be streamed."""
    with pytest.raises(TypeError, match="objects"):
        OutputStream().configure(dtype=object)


@pytest.mark.parametrize("mode", ["plaindata", "sharedmem"])
def test_params_are_plain_serialisable_values(mode, streams):
    """params holds only JSON values, with dtype in canonical form and the metadata given."""
    out = OutputStream()
    streams(out)
    out.configure(transfermode=mode, dtype=float, shape=(-1, 4), buffer_size=64,
                  sample_rate=1000, units="V", scale=0.5, offset=-1, streamtype="analogsignal")
    params = out.params
    assert json.loads(json.dumps(params)) == params
    assert params["dtype"] == "<f8"
    assert params["shape"] == [-1, 4]
    assert (params["sample_rate"], params["units"], params["scale"], params["offset"]) == (
        1000.0, "V", 0.5, -1.0)
    assert params["url"].startswith("tcp://127.0.0.1:")


def test_spec_is_fixed_but_editable_before_configure(streams):
    """spec values apply, may be edited before configure(), and cannot be contradicted."""
    out = OutputStream(spec={"dtype": "int16", "shape": (-1, 2)})
    streams(out)
    out.spec["sample_rate"] = 250.0
    with pytest.raises(StreamSpecError, match="contradicts the node's spec"):
        out.configure(dtype="float32")
    out.configure(dtype=np.int16, protocol="inproc")
    assert out.params["dtype"] == "<i2" and out.params["sample_rate"] == 250.0


@pytest.mark.parametrize("kwargs,error,match", [
    (dict(protocol="udp"), StreamSpecError, "protocol"),
    (dict(transfermode="shared_cuda_buffer"), StreamSpecError, "transfermode"),
    (dict(compression="zip"), StreamSpecError, "compression"),
    (dict(streamtype="sound"), StreamSpecError, "streamtype"),
    (dict(shape=(-1, -1)), StreamSpecError, "shape"),
    (dict(sample_rate=-5), StreamSpecError, "sample_rate"),
    (dict(transfertmode="plaindata"), TypeError, "did you mean 'transfermode'"),
    (dict(sample_rates=100.0), TypeError, "did you mean 'sample_rate'"),
    (dict(nb_channel=object()), StreamSpecError, "nb_channel"),
    (dict(transfermode="sharedmem", shape=(-1, 2)), StreamSpecError, "buffer_size"),
    (dict(transfermode="sharedmem", buffer_size=10), StreamSpecError, "shape"),
    (dict(transfermode="sharedmem", shape=(-1, 2), buffer_size=10, compression="blosc-lz4"),
     StreamSpecError, "compression"),
])
def test_bad_configuration_raises(kwargs, error, match):
    """Each invalid parameter raises an error naming it, and leaves the stream unconfigured."""
    out = OutputStream()
    with pytest.raises(error, match=match):
        out.configure(**kwargs)
    assert not out.configured
    out.close()


def test_missing_blosc_names_the_package(monkeypatch):
    """Asking for compression without blosc installed raises ImportError naming blosc."""
    monkeypatch.setitem(sys.modules, "blosc", None)
    out = OutputStream()
    with pytest.raises(ImportError, match="pip install blosc"):
        out.configure(compression="blosc-lz4")
    out.close()


def test_state_errors(streams):
    """send before configure, configure twice, recv before connect, connect twice and
    use after close each raise StreamStateError."""
    out, inp = OutputStream(name="sig"), InputStream(name="sig_in")
    streams(out)
    streams(inp)
    with pytest.raises(StreamStateError, match="not configured"):
        out.send(np.zeros((1, 1), "float32"))
    with pytest.raises(StreamStateError, match="not configured"):
        assert out.params
    with pytest.raises(StreamStateError, match="not connected"):
        inp.recv()
    out.configure(protocol="inproc")
    with pytest.raises(StreamStateError, match="already configured"):
        out.configure()
    inp.connect(out)
    with pytest.raises(StreamStateError, match="already connected"):
        inp.connect(out)
    inp.close()
    out.close()
    assert not out.configured and not inp.connected
    with pytest.raises(StreamStateError, match="closed"):
        out.send(np.zeros((1, 1), "float32"))
    with pytest.raises(StreamStateError, match="closed"):
        out.configure()


class _DescribedOwner:
    """An owner that names itself in errors, as a node does."""

    def _describe(self):
        return "Probe node 'p'"


@pytest.mark.parametrize("stream_class", [OutputStream, InputStream])
def test_errors_name_the_stream_and_its_owner(stream_class):
    """Both kinds of stream name themselves in errors the same way: kind, then the name if
    there is one, then ``of <owner>`` if the owner describes itself."""
    kind = stream_class.__name__
    owner = _DescribedOwner()
    assert stream_class(node=owner, name="sig")._describe() == f"{kind} 'sig' of Probe node 'p'"
    assert stream_class(node=owner)._describe() == f"{kind} of Probe node 'p'"
    assert stream_class(name="sig")._describe() == f"{kind} 'sig'"
    assert stream_class()._describe() == kind


def test_bad_chunks_raise(streams):
    """Wrong dtype, wrong shape, wrong fixed length, non-arrays and backwards indexes are
    refused before anything is sent."""
    out = OutputStream()
    streams(out)
    out.configure(protocol="inproc", dtype="float32", shape=(10, 3))
    with pytest.raises(TypeError, match="dtype float64 does not match"):
        out.send(np.zeros((10, 3)))
    with pytest.raises(ValueError, match="does not match the stream shape"):
        out.send(np.zeros((10, 4), "float32"))
    with pytest.raises(ValueError, match="fixes 10 samples"):
        out.send(np.zeros((5, 3), "float32"))
    with pytest.raises(TypeError, match="numpy array"):
        out.send([[0.0] * 3] * 10)
    out.send(np.zeros((10, 3), "float32"), index=100)
    with pytest.raises(ValueError, match="goes back"):
        out.send(np.zeros((10, 3), "float32"), index=105)


def test_bytes_are_accepted_as_samples(streams):
    """send() also takes raw bytes, read as samples of the stream's dtype and shape."""
    out, inp = OutputStream(), InputStream()
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", dtype="int16", shape=(-1, 2))
    inp.connect(out)
    out.send(np.arange(6, dtype="int16").tobytes())
    assert inp.poll(10000)
    index, data = inp.recv()
    assert index == 3
    np.testing.assert_array_equal(data, np.arange(6).reshape(3, 2))


@pytest.mark.parametrize("spec,match", [
    ({"dtype": "float64"}, "dtype"),
    ({"shape": (-1, 3)}, "shape"),
    ({"transfermode": "sharedmem"}, "transfermode"),
])
def test_input_refuses_mismatching_output(spec, match, streams):
    """connect() refuses an output whose dtype, shape or transfermode differ from the input spec."""
    out, inp = OutputStream(), InputStream(spec=spec, name="signals")
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", dtype="float32", shape=(-1, 2))
    with pytest.raises(StreamSpecError, match=match):
        inp.connect(out)
    assert not inp.connected


def test_input_accepts_matching_output(streams):
    """A spec with -1 in time matches a fixed chunk length; equal dtypes match in any spelling."""
    out, inp = OutputStream(), InputStream(spec={"dtype": np.float32, "shape": (-1, 2)})
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", dtype="float32", shape=(16, 2))
    inp.connect(out)
    assert inp.params["shape"] == [16, 2]


def test_recv_data_keywords(streams):
    """recv() accepts return_data= and its alias with_data=; contradicting them is an error."""
    out, inp = OutputStream(), InputStream()
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", transfermode="sharedmem", shape=(-1, 1), buffer_size=32)
    inp.connect(out)
    for _ in range(3):
        out.send(np.ones((2, 1), "float32"))
    assert inp.poll(10000)
    assert inp.recv() == (2, None)
    assert inp.recv(with_data=True)[1].shape == (2, 1)
    assert inp.recv(return_data=True)[1].shape == (2, 1)
    out.send(np.ones((2, 1), "float32"))
    with pytest.raises(TypeError, match="aliases"):
        inp.recv(return_data=True, with_data=False)


def test_connect_to_closed_or_absent_output(streams, monkeypatch):
    """Connecting to a closed inproc stream or to an address nobody serves fails clearly."""
    out = OutputStream()
    out.configure(protocol="inproc")
    params = out.params
    out.close()
    inp = InputStream()
    streams(inp)
    with pytest.raises(StreamConnectionError, match="not open in this process"):
        inp.connect(params)

    monkeypatch.setattr(subscriber_module, "CONNECT_TIMEOUT", 0.3)
    tcp = OutputStream()
    tcp.configure(protocol="tcp")
    params = tcp.params
    tcp.close()
    with pytest.raises(StreamConnectionError, match="no OutputStream answered"):
        inp.connect(params)
    assert not inp.connected


@pytest.mark.parametrize("mode", ["plaindata", "sharedmem"])
def test_set_buffer_and_reads(mode, streams):
    """set_buffer() keeps received chunks readable by absolute index (get_data, input[a:b]);
    a sharedmem input reuses the shared buffer when it fits."""
    out, inp = OutputStream(), InputStream()
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", transfermode=mode, dtype="int32", shape=(-1, 2),
                  buffer_size=50, double=True)
    inp.connect(out)
    if mode == "plaindata":
        with pytest.raises(StreamStateError, match="set_buffer"):
            inp.get_data(0, 0)
    inp.set_buffer(size=40, double=True)
    if mode == "sharedmem":
        assert inp.buffer is inp.receiver.buffer
    samples = np.arange(60, dtype="int32").reshape(30, 2)
    for i in range(0, 30, 5):
        out.send(samples[i:i + 5])
    for _ in range(6):
        assert inp.poll(10000)
        inp.recv()
    np.testing.assert_array_equal(inp.get_data(10, 30), samples[10:30])
    np.testing.assert_array_equal(inp[25:30], samples[25:])
    np.testing.assert_array_equal(inp[-3:, 1], samples[-3:, 1])


def test_empty_queue_discards_pending_chunks(streams):
    """empty_queue() drops every waiting chunk, so the next recv() gets fresh data."""
    out, inp = OutputStream(), InputStream()
    streams(out)
    streams(inp)
    out.configure(protocol="inproc", shape=(-1, 1))
    inp.connect(out)
    for _ in range(5):
        out.send(np.zeros((4, 1), "float32"))
    assert inp.poll(10000)
    inp.empty_queue()
    assert not inp.poll(0)
    out.send(np.ones((4, 1), "float32"))
    assert inp.poll(10000)
    index, data = inp.recv()
    assert index == 24 and data[0, 0] == 1
    assert inp.gap_count == 0


def test_extra_configure_keywords_reach_the_readers(streams):
    """Keywords configure() does not know (pyacq 2.0 scripts pass nb_channel=16) are kept in
    params, as plain data, and a connected InputStream reads them there; last_index follows
    the chunks sent and InputStream.socket is the socket a zmq.Poller can watch."""
    import zmq
    out, inp = OutputStream(), InputStream()
    streams(out)
    streams(inp)
    out.configure(protocol="tcp", shape=(-1, 16), nb_channel=16,
                  channel_names=("Fp1", "Fp2"), gain=np.float32(0.5))
    assert out.params["nb_channel"] == 16 and out.params["channel_names"] == ["Fp1", "Fp2"]
    assert inp.socket is None
    inp.connect(out)
    assert inp.params["nb_channel"] == 16 and inp.params["gain"] == 0.5
    assert out.last_index == 0
    out.send(np.zeros((10, 16), "float32"))
    assert out.last_index == 10
    poller = zmq.Poller()
    poller.register(inp.socket, zmq.POLLIN)
    assert dict(poller.poll(5000)).get(inp.socket) == zmq.POLLIN
    assert inp.recv()[0] == 10
