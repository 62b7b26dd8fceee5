"""What one request may cost a server is bounded: decoding cost against the body size, the
request size, and the requests a busy server holds; legitimate large calls still pass, and
the server stays up and answers."""
import functools
import json
import threading
import time

import msgpack
import numpy as np
import pytest
import zmq
from pyacq.core.rpc import RPCClient, RPCServer, protocol
from pyacq.core.rpc.decoding_cost import (
    SCAN_THRESHOLD,
    DecodingCostError,
    allowance,
    check_decoding_cost,
    decoding_cost,
)

MIB = 1 << 20


@functools.cache
def hostile_body(ser_type):
    """A 16 MiB request of empty maps: in msgpack it cost 1.1 GiB to decode before the
    bound (72 times its size), in json (compact) 25 times its size."""
    if ser_type == "msgpack":
        return msgpack.packb({"obj": [{}] * (16 * MIB - 16)})
    return json.dumps({"obj": [{}] * (16 * MIB // 3)}, separators=(",", ":")).encode()


def peak_rss_reset(pid):
    """Reset the peak RSS (VmHWM) of process *pid* to its current RSS; return that RSS."""
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return _status(pid, "VmRSS")


def peak_rss(pid):
    """Peak RSS, in bytes, of process *pid* since the last peak_rss_reset."""
    return _status(pid, "VmHWM")


def _status(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


class RawClient:
    """A bare DEALER socket, as any client (or attacker) may open."""

    def __init__(self, address):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(address)
        #: req_id of every reply received.
        self.seen_req_ids = []

    def request(self, req_id, body, ser_type=b"msgpack", action=b"call_obj", timeout=60.0):
        """Send one request and return its decoded reply (TimeoutError if none comes)."""
        self.sock.send_multipart([b"%d" % req_id, action, b"auto", ser_type, body])
        return self.reply(timeout)

    def reply(self, timeout=60.0):
        if not self.sock.poll(int(timeout * 1000)):
            raise TimeoutError("no reply")
        data = self.sock.recv()
        try:
            reply = msgpack.unpackb(data, raw=False)
        except ValueError:
            reply = json.loads(data)
        self.seen_req_ids.append(reply.get("req_id"))
        return reply

    def ping(self, timeout=30.0):
        """Ping until a ping is answered (a ping sent while ZeroMQ drops this connection
        is lost with it); return the answer."""
        deadline = time.monotonic() + timeout
        req_id = 424242
        while time.monotonic() < deadline:
            self.sock.send_multipart([b"%d" % req_id, b"ping", b"auto", b"msgpack", b""])
            try:
                while True:
                    reply = self.reply(timeout=1.0)
                    if reply.get("req_id") == req_id:
                        return reply["rval"]
            except TimeoutError:
                req_id += 1
        raise TimeoutError(f"no ping answered within {timeout} s")

    def close(self):
        self.sock.close()


@pytest.fixture
def server(spawn):
    """A server in a process of its own (so its RSS is its own), and a raw client to it."""
    proc = spawn(name="bounds-server")
    raw = RawClient(proc.address)
    yield proc, raw
    raw.close()


def error_text(reply):
    assert reply["error"] is not None, f"expected an error reply, got {reply!r}"
    return "".join(reply["error"][1])


# -- the estimate, without a server -------------------------------------------------------

def test_allowance_is_the_documented_ratio():
    """The allowance is 4.5 MiB + 24 bytes per byte for the first 16 MiB, then 2 per byte."""
    assert allowance(0) == 4.5 * MIB
    assert allowance(MIB) == 4.5 * MIB + 24 * MIB
    assert allowance(16 * MIB) == 4.5 * MIB + 24 * 16 * MIB
    assert allowance(116 * MIB) == 4.5 * MIB + 24 * 16 * MIB + 2 * 100 * MIB


@pytest.mark.parametrize("ser_type", ["msgpack", "json"])
def test_costly_bodies_are_refused_quickly_naming_the_figures(ser_type):
    """Bodies that decode to many more bytes than they hold (empty maps: 72x in msgpack,
    25x in json) are refused before decoding, within a few seconds, by an error naming the
    body size, the estimate, the allowance and what to do instead."""
    body = hostile_body(ser_type)
    start = time.perf_counter()
    with pytest.raises(DecodingCostError) as refused:
        check_decoding_cost(ser_type, body)
    elapsed = time.perf_counter() - start
    print(f"{ser_type}: refused {len(body)} bytes in {elapsed:.2f} s")
    assert elapsed < 10
    message = str(refused.value)
    assert f"{len(body)} bytes" in message and "allowance" in message
    assert "24 bytes per byte" in message and "numpy arrays" in message
    assert isinstance(refused.value, ValueError)


LEGITIMATE = {
    "floats": list(np.linspace(0, 1, 2_000_000)),
    "short strings": [f"channel {i}" for i in range(500_000)],
    "records": [{"t": i / 1000, "value": i, "name": "ch"} for i in range(200_000)],
    "big dict": {f"key{i}": i for i in range(300_000)},
    "ints": list(range(1_000_000)),
}


@pytest.mark.parametrize("name", LEGITIMATE)
@pytest.mark.parametrize("ser_type", ["msgpack", "json"])
def test_plain_data_of_legitimate_calls_is_within_the_allowance(ser_type, name):
    """Lists of numbers and strings, records and dicts of several MiB are estimated (the
    estimate errs high) within the allowance, and pass the check."""
    obj = LEGITIMATE[name]
    body = (msgpack.packb(obj) if ser_type == "msgpack"
            else json.dumps(obj, separators=(",", ":")).encode())
    assert len(body) >= SCAN_THRESHOLD
    cost = decoding_cost(ser_type, body)
    print(f"{ser_type} {name}: {len(body)} bytes, estimate {cost / len(body):.1f} x")
    assert cost <= allowance(len(body))
    check_decoding_cost(ser_type, body)


def test_bulk_bytes_cost_about_their_size():
    """Bytes in line (msgpack bin) and a long string (json base64 text) cost about their
    size, whatever their size."""
    for ser_type, body in (("msgpack", msgpack.packb({"data": b"\x80" * (64 * MIB)})),
                           ("json", json.dumps({"data": "A" * (64 * MIB)}).encode())):
        assert decoding_cost(ser_type, body) < 1.1 * len(body)
        check_decoding_cost(ser_type, body)


def test_json_scan_is_linear_on_escapes_and_unterminated_strings():
    """Escaped quotes and an unterminated string do not make the json scan quadratic."""
    body = b'"' + b'\\"' * (4 * MIB)
    start = time.perf_counter()
    decoding_cost("json", body)
    assert time.perf_counter() - start < 5


# -- a live server ------------------------------------------------------------------------

@pytest.mark.parametrize("ser_type", ["msgpack", "json"])
def test_costly_request_gets_error_reply_and_bounded_rss(server, ser_type):
    """A 16 MiB request of empty maps gets an error reply naming the allowance, costs the
    server far less than its decoding would (1.1 GiB peak RSS in msgpack before the bound),
    and the server answers a ping after it."""
    proc, raw = server
    body = hostile_body(ser_type)
    assert raw.ping() == "pong"
    before = peak_rss_reset(proc.pid)
    reply = raw.request(7, body, ser_type=ser_type.encode())
    growth = peak_rss(proc.pid) - before
    print(f"{ser_type}: peak RSS growth {growth / MIB:.0f} MiB for a "
          f"{len(body) / MIB:.0f} MiB request")
    assert reply["req_id"] == 7
    assert "allowance" in error_text(reply)
    assert growth < 4 * len(body), f"peak RSS grew by {growth / MIB:.0f} MiB"
    assert raw.ping() == "pong"


def test_large_array_calls_pass(server):
    """Large arrays still travel: 64 MiB out of band through RPCClient, 32 MiB in line from a
    plain msgpack client (a tagged array dict with bin data), and a list of a million floats
    in line; each result is right."""
    proc, raw = server
    np_remote = proc.client._import("numpy")
    big = np.arange(8 * MIB, dtype="float64")
    assert np_remote.sum(big, _timeout=60) == big.sum()
    in_line = np.arange(8 * MIB, dtype="float32")
    builtins = proc.client._import("builtins")
    module = msgpack.unpackb(proc.client.serializer.dumps(builtins), raw=False)
    body = msgpack.packb({"obj": dict(module, attributes=["len"]), "args": [{
        protocol.TYPE_KEY: "ndarray", "dtype": "<f4", "shape": [in_line.size],
        "data": in_line.tobytes()}], "kwargs": {}})
    reply = raw.request(8, body)
    assert reply["error"] is None and reply["rval"] == in_line.size
    floats = list(np.linspace(0, 1, MIB))
    assert builtins.len(floats, _timeout=60) == MIB


@pytest.mark.parametrize("qt", [False, True], ids=["RPCServer", "QtRPCServer"])
def test_queue_of_requests_to_a_busy_server_keeps_rss_bounded_and_all_are_answered(spawn, qt):
    """256 requests of 1 MiB sent while the server is busy in one slow call wait, past the
    server's receive queue (server.RECEIVE_QUEUE; a QtRPCServer's bridge to its GUI thread
    holds as many more), on the client's side: the server's peak RSS grows by far less than
    the 256 MiB queued (49 -> 290 MiB before), the client neither blocks nor fails, and every
    request is answered, in order."""
    proc = spawn(name="busy-server", qt=qt)
    remote_time = proc.client._import("time")
    builtins = proc.client._import("builtins")
    before = peak_rss_reset(proc.pid)
    slow = remote_time.sleep(3, _sync="async")
    payloads = [bytes([i]) * MIB for i in range(256)]
    start = time.monotonic()
    futures = [builtins.len(payload, _sync="async") for payload in payloads]
    sent_in = time.monotonic() - start
    del payloads
    slow.result(timeout=60)
    results = [future.result(timeout=120) for future in futures]
    growth = peak_rss(proc.pid) - before
    print(f"256 x 1 MiB sent in {sent_in:.2f} s; server peak RSS growth {growth / MIB:.0f} MiB")
    assert results == [MIB] * 256
    assert sent_in < 30
    assert growth < 96 * MIB, f"server peak RSS grew by {growth / MIB:.0f} MiB"
    assert proc.client.ping() == "pong"


def test_client_refuses_a_request_above_the_limit_before_sending(server):
    """RPCClient refuses, with an error naming the size, the limit and the fix, a request
    larger than max_request_size (256 MiB by default, the servers' default); nothing is
    sent and the server answers as before."""
    proc, _ = server
    assert RPCClient.max_request_size == protocol.MAX_REQUEST_SIZE == 256 * MIB
    client = proc.client
    client.max_request_size = 4 * MIB
    try:
        builtins = client._import("builtins")
        for value in (b"x" * (5 * MIB), np.zeros(5 * MIB, dtype="uint8")):
            with pytest.raises(ValueError) as refused:
                builtins.len(value)
            message = str(refused.value)
            assert "more than the 4194304 bytes" in message and "max_request_size" in message
        assert builtins.len(b"x" * MIB) == MIB
    finally:
        del client.max_request_size
    assert client.ping() == "pong"


class SmallLimitServer(RPCServer):
    """A server created with a 1 MiB limit (ZeroMQ's frame limit is set at creation)."""

    max_request_size = MIB


@pytest.fixture
def small_limit_server():
    """A SmallLimitServer serving in a thread of this process; closed at teardown."""
    created = []

    def serve():
        server = SmallLimitServer()
        created.append(server)
        server.run_forever()

    thread = threading.Thread(target=serve, name="small-limit-server")
    thread.start()
    deadline = time.monotonic() + 10
    while not created and time.monotonic() < deadline:
        time.sleep(0.01)
    assert created, "the server did not start within 10 s"
    yield created[0]
    created[0].close()
    thread.join(10)
    assert not thread.is_alive()


def test_default_limit_is_256_mib(server):
    """A server accepts requests of up to 256 MiB by default (it was 1 GiB)."""
    proc, _ = server
    assert RPCServer.max_request_size == protocol.MAX_REQUEST_SIZE == 256 * MIB
    assert proc.client._import("rpc_test_helpers").max_request_size() == 256 * MIB


def test_frames_above_the_limit_are_dropped_unread(small_limit_server):
    """A request just over the server's limit gets an error reply naming it; one frame
    well above it (ZeroMQ MAXMSGSIZE) makes ZeroMQ drop the sender's connection without
    the server reading it (no reply to it ever comes, before the next ping's), and the server
    answers that client's next ping."""
    raw = RawClient(small_limit_server.address)
    try:
        reply = raw.request(9, b"\x00" * (MIB + 100))
        assert "exceeds the server's limit of 1048576" in error_text(reply)
        raw.sock.send_multipart([b"10", b"ping", b"auto", b"msgpack", b"\x00" * (8 * MIB)])
        assert raw.ping() == "pong"
        assert 10 not in raw.seen_req_ids
    finally:
        raw.close()


def test_lowering_the_limit_of_a_running_server_refuses_more(server):
    """max_request_size lowered on a running server makes it refuse larger requests with an
    error reply; restored, they pass again."""
    proc, raw = server
    helpers = proc.client._import("rpc_test_helpers")
    helpers.set_max_request_size(MIB)
    try:
        assert "exceeds the server's limit" in error_text(raw.request(11, b"\x00" * (2 * MIB)))
    finally:
        helpers.set_max_request_size(protocol.MAX_REQUEST_SIZE)
    builtins = proc.client._import("builtins")
    assert builtins.len(b"x" * (2 * MIB)) == 2 * MIB
