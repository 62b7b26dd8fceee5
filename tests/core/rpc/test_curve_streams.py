"""CURVE on tcp streams: a process whose RPC server is protected protects its tcp streams.

The OutputStreams live in real spawned processes (ProcessSpawner under a certificate, as a
protected Host's NodeGroups run); the readers are this process, with the keys it is given.
"""
import time

import numpy as np
import pytest
import zmq
from pyacq.core.rpc import curve
from pyacq.core.rpc.socket_watch import SocketWatch
from pyacq.core.stream import InputStream
from pyacq.core.stream.errors import StreamConnectionError
from zmq.utils.monitor import recv_monitor_message

#: Longest wait for a condition in these tests (seconds); CI machines are loaded.
WAIT = 20.0
HANDSHAKE_FAILED = (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_AUTH)


pytestmark = pytest.mark.usefixtures("empty_keyring")


@pytest.fixture
def protected(spawn, keys):
    """A spawned process whose RPC server requires CURVE; this process presents the client key."""
    curve.set_client_certificate(keys.client)
    return spawn(name="protected-streams", certificate=keys.server, authorized_keys=keys.authorized)


@pytest.fixture
def closing():
    """Collects streams and sockets (local or proxies) to close at the end of the test."""
    opened = []
    yield opened.append
    for thing in reversed(opened):
        thing.close()


def _output(proc, closing, **options):
    """A configured OutputStream in *proc* (a proxy), closed at teardown."""
    out = proc.client._import("pyacq.core.stream").OutputStream(name="signals")
    closing(out)
    out.configure(dtype="float32", shape=(-1, 4), **options)
    return out


def _warnings(proc):
    """Start collecting the curve module's log records in *proc*; return the handler (a proxy)."""
    handler = proc.client._import("logging.handlers").MemoryHandler(1000)
    proc.client._import("logging").getLogger("pyacq.core.rpc.curve").addHandler(handler)
    return handler


def _chunks(n_chunks):
    rng = np.random.default_rng(16)
    return [rng.standard_normal((32, 4)).astype("float32") for _ in range(n_chunks)]


def _send_and_receive(out, inp, chunks):
    """Send *chunks* from the remote *out*; return what *inp* received (index, data) each."""
    received = []
    for chunk in chunks:
        out.send(chunk)
        assert inp.poll(int(WAIT * 1000)), "a chunk did not arrive"
        index, data = inp.recv()
        received.append((index, data.copy()))
    return received


def _assert_bit_exact(received, chunks):
    assert [index for index, _ in received] == [32 * (i + 1) for i in range(len(chunks))]
    for (_, data), chunk in zip(received, chunks):
        assert data.dtype == chunk.dtype and data.tobytes() == chunk.tobytes()


def test_authorized_reader_receives_bit_exact_data_over_curve(protected, keys, closing):
    """A tcp stream of a protected process carries the process's public key in its params;
    a reader presenting an authorized certificate, given the stream (a proxy) or only its
    params, receives every chunk bit-exact over a CURVE connection."""
    out = _output(protected, closing, protocol="tcp")
    params = out.params._get_value()
    assert params["server_key"] == keys.server_public.decode()
    chunks = _chunks(5)
    by_proxy, by_params = InputStream(), InputStream()
    closing(by_proxy)
    closing(by_params)
    by_proxy.connect(out)
    by_params.connect(params)
    for inp in (by_proxy, by_params):
        assert inp.socket.get(zmq.MECHANISM) == zmq.CURVE
    received = []
    for chunk in chunks:
        out.send(chunk)
        for inp in (by_proxy, by_params):
            assert inp.poll(int(WAIT * 1000)), "a chunk did not arrive"
        received.append([inp.recv() for inp in (by_proxy, by_params)])
    for reader in range(2):
        _assert_bit_exact([pair[reader] for pair in received], chunks)
    assert by_proxy.gap_count == by_params.gap_count == 0
    assert out.refused_subscribers._get_value() == 0


def test_unauthorized_subscribers_receive_nothing_and_are_logged(protected, keys, closing):
    """A reader whose key is not authorized is refused at connect() with an error naming the
    stream's address and its key; raw subscribers presenting that key, or no CURVE at all,
    receive nothing while an authorized reader receives every chunk; the publisher logs each
    refused kind once, naming the stream, its address and the refused key, and counts the
    refusals."""
    handler = _warnings(protected)
    out = _output(protected, closing, protocol="tcp")
    params = out.params._get_value()
    url = params["url"]
    reader = InputStream()
    closing(reader)
    reader.connect(out)

    curve.set_client_certificate(keys.intruder)
    start = time.monotonic()
    with pytest.raises(StreamConnectionError, match="refused this process's CURVE key") as info:
        InputStream().connect(params)
    refused_after = time.monotonic() - start
    print(f"unauthorized reader refused after {refused_after * 1000:.1f} ms")
    assert refused_after < 5.0
    assert url in str(info.value) and keys.intruder_public.decode() in str(info.value)
    curve.set_client_certificate(None)
    with pytest.raises(StreamConnectionError, match="no client certificate"):
        InputStream().connect(params)

    intruder_public, intruder_secret = curve.load_secret_certificate(keys.intruder)
    raw_subscribers = []
    for with_curve in (True, False):
        sock = zmq.Context.instance().socket(zmq.SUB)
        sock.setsockopt(zmq.LINGER, 0)
        closing(sock)
        sock.setsockopt(zmq.SUBSCRIBE, b"")
        if with_curve:
            sock.curve_serverkey = params["server_key"].encode()
            sock.curve_publickey, sock.curve_secretkey = intruder_public, intruder_secret
        watch = SocketWatch(sock, HANDSHAKE_FAILED)
        sock.connect(url)
        assert watch.poll(int(WAIT * 1000)), "the raw subscriber's handshake neither failed nor ended"
        assert recv_monitor_message(watch.reader)["event"] & HANDSHAKE_FAILED
        watch.stop()
        raw_subscribers.append(sock)

    chunks = _chunks(5)
    _assert_bit_exact(_send_and_receive(out, reader, chunks), chunks)
    for sock in raw_subscribers:
        assert not sock.poll(300), "an unauthorized subscriber received a chunk"
    assert out.refused_subscribers._get_value() >= 3
    messages = [record.getMessage() for record in handler.buffer]
    stream = f"OutputStream 'signals' at {url}"
    keyed = [m for m in messages if stream in m and keys.intruder_public.decode() in m]
    assert len(keyed) == 1 and "not authorized" in keyed[0], messages
    keyless = [m for m in messages if stream in m and "presented no CURVE key" in m]
    assert len(keyless) == 1, messages


def test_streams_stay_plain_where_curve_is_not_asked(protected, spawn, closing):
    """An unprotected process's tcp stream, and a protected process's ipc stream and sharedmem
    stream (over tcp), have no server_key and reach a reader that has no certificate at all,
    over a plain connection."""
    plain_out = _output(spawn(name="plain-streams"), closing, protocol="tcp")
    ipc_out = _output(protected, closing, protocol="ipc")
    sharedmem_out = _output(protected, closing, protocol="tcp", transfermode="sharedmem",
                            buffer_size=1024)
    curve.set_client_certificate(None)
    chunks = _chunks(3)
    for out in (plain_out, ipc_out, sharedmem_out):
        params = out.params._get_value()
        assert "server_key" not in params
        inp = InputStream()
        closing(inp)
        inp.connect(out)
        assert inp.socket.get(zmq.MECHANISM) == zmq.NULL
        received = []
        for chunk in chunks:
            out.send(chunk)
            assert inp.poll(int(WAIT * 1000)), f"a chunk of {params['url']} did not arrive"
            index, data = inp.recv(return_data=True)
            received.append((index, np.array(data)))
        _assert_bit_exact(received, chunks)
        assert out.refused_subscribers._get_value() == 0


def test_server_key_is_not_a_configure_option(protected, closing):
    """configure(server_key=...) is refused: the key comes from the process's certificate."""
    out = protected.client._import("pyacq.core.stream").OutputStream(name="signals")
    closing(out)
    with pytest.raises(Exception, match="sets itself"):
        out.configure(protocol="tcp", server_key="x" * 40)


def test_reader_expecting_another_key_fails_at_once(protected, spawn, keys, closing):
    """A reader whose params name another server_key than the stream's (or a key for a plain
    stream) fails at connect() with an error naming the address and the key it expected, well
    within its timeout, and receives nothing."""
    curve_params = _output(protected, closing, protocol="tcp").params._get_value()
    plain_params = _output(spawn(name="plain-streams"), closing, protocol="tcp").params._get_value()
    for params in (curve_params, plain_params):
        forged = dict(params, server_key=keys.intruder_public.decode())
        start = time.monotonic()
        with pytest.raises(StreamConnectionError, match="is not the stream's") as info:
            InputStream().connect(forged)
        elapsed = time.monotonic() - start
        print(f"{params['url']}: wrong key refused after {elapsed * 1000:.1f} ms")
        assert elapsed < 10.0
        assert params["url"] in str(info.value) and keys.intruder_public.decode() in str(info.value)
    with pytest.raises(StreamConnectionError, match="not a CURVE key"):
        InputStream().connect(dict(curve_params, server_key="/etc/passwd"))
