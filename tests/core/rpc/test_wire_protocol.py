"""The wire format seen from outside: a zmq+json client, malformed input, fuzzing."""
import json
import os
import random
import subprocess
import sys
import textwrap
import time

import msgpack
import pytest
import zmq
from pyacq.core.rpc import protocol

CUSTOM_CLIENT = textwrap.dedent('''
    import json, sys, zmq

    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.IDENTITY, b"my_custom_client")
    sock.setsockopt(zmq.RCVTIMEO, 20000)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(sys.argv[1])
    next_id = [0]

    def send(action, opts=None, return_type="auto"):
        req_id = next_id[0]
        next_id[0] += 1
        opts_str = b"" if opts is None else json.dumps(opts).encode()
        sock.send_multipart([str(req_id).encode(), action.encode(), return_type.encode(),
                             b"json", opts_str])
        msg = json.loads(sock.recv().decode())
        assert msg["action"] == "return" and msg["req_id"] == req_id, msg
        if msg["error"] is not None:
            raise RuntimeError("remote: " + "".join(msg["error"][1]))
        return msg["rval"]

    def call_method(obj, name, *args, **kwds):
        func = dict(obj, attributes=(name,))
        return send("call_obj", {"obj": func, "args": args, "kwargs": kwds})

    def get_attr(obj, name):
        return send("get_obj", {"obj": dict(obj, attributes=(name,))})

    results = {"ping": send("ping")}
    calc = send("get_item", {"name": "calc"})
    results["calc_type"] = calc["___type_name___"]
    results["add"] = call_method(calc, "add", 2, b=40)
    results["params"] = get_attr(calc, "params")
    results["array"] = get_attr(calc, "array")
    try:
        call_method(calc, "fail", "from json")
    except RuntimeError as exc:
        results["error"] = str(exc)
    results["pyacq_imported"] = any(m.startswith("pyacq") for m in sys.modules)
    print(json.dumps(results))
    sock.close()
''')


def test_custom_json_client_without_pyacq(child):
    """A client using only zmq + json pings, gets a named object and calls its methods."""
    child.client["calc"] = child.client._import("rpc_test_helpers").Calculator(
        _return_type="proxy")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", CUSTOM_CLIENT, child.address], env=env,
                         capture_output=True, timeout=60, check=True)
    results = json.loads(out.stdout)
    assert results["ping"] == "pong"
    assert results["calc_type"] == "proxy"
    assert results["add"] == 42
    assert results["params"] == {"dtype": "float32", "shape": [2, 3], "rate": 1000.0}
    assert results["array"]["___type_name___"] == "ndarray"
    assert results["array"]["dtype"] == "float32" and results["array"]["shape"] == [2, 3]
    assert "ValueError: from json" in results["error"]
    assert results["pyacq_imported"] is False


class RawClient:
    """A bare DEALER socket talking to an RPC server."""

    def __init__(self, address):
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(address)

    def send(self, frames):
        self.sock.send_multipart(frames)

    def reply(self, timeout=20.0):
        if not self.sock.poll(int(timeout * 1000)):
            raise TimeoutError("no reply")
        data = self.sock.recv()
        try:
            return msgpack.unpackb(data, raw=False)
        except ValueError:
            return json.loads(data)  # a reply to a request sent with ser_type json

    def drain(self):
        while self.sock.poll(0):
            self.sock.recv()

    def ping(self, req_id=987654, timeout=20.0):
        """Ping and wait for that ping's reply, skipping replies to earlier requests."""
        self.send([str(req_id).encode(), b"ping", b"auto", b"msgpack", b""])
        deadline = time.monotonic() + timeout
        while True:
            msg = self.reply(max(0.01, deadline - time.monotonic()))
            if msg.get("req_id") == req_id:
                return msg["rval"]

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(child):
    client = RawClient(child.address)
    yield client
    client.close()


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


@pytest.mark.parametrize("frames, problem", [
    ([b"1", b"ping", b"auto", b"msgpack"], "expected 5 frames"),
    ([b"1", b"ping", b"auto", b"msgpack", b"", b"extra"], "expected 5 frames"),
    ([b"2", b"explode", b"auto", b"msgpack", b""], "unknown action"),
    ([b"3", b"call_obj", b"auto", b"msgpack", b"\xc1\xc1garbage"], ""),
    ([b"4", b"get_item", b"auto", b"msgpack", pack([1, 2])], "must be a dict"),
    ([b"5", b"ping", b"sideways", b"msgpack", b""], "unknown return_type"),
    ([b"6", b"call_obj", b"auto", b"msgpack", pack({"obj": {
        "___type_name___": "proxy", "rpc_addr": "", "obj_id": 1, "ref_id": 1,
        "type_str": "", "attributes": []}})], ""),
    ([b"7", b"call_obj", b"auto", b"msgpack", pack({})], "needs option 'obj'"),
    ([b"8", b"import", b"auto", b"msgpack", pack({"module": 5})], "string"),
    ([b"9", b"delete", b"auto", b"msgpack", pack({"obj_id": 10 ** 6, "ref_id": 1})],
     "unknown object reference"),
])
def test_malformed_requests_get_error_replies(raw, frames, problem):
    """Malformed requests that name a req_id and serializer are answered with an error."""
    raw.send(frames)
    msg = raw.reply()
    assert msg["action"] == "return" and msg["req_id"] == int(frames[0])
    assert msg["rval"] is None and isinstance(msg["error"], list)
    assert problem in "".join(msg["error"][1])
    assert raw.ping() == "pong"


def test_unknown_object_id_on_this_server(child, raw):
    """A proxy naming this server but an unknown object id gets an error reply."""
    bad = {"___type_name___": "proxy", "rpc_addr": child.address, "obj_id": 10 ** 9,
           "ref_id": 3, "type_str": "", "attributes": []}
    raw.send([b"11", b"get_obj", b"auto", b"msgpack", pack({"obj": bad})])
    msg = raw.reply()
    assert "unknown object reference" in "".join(msg["error"][1])


@pytest.mark.parametrize("ser_type", ["msgpack", "json"])
def test_server_key_naming_a_file_reveals_nothing(child, raw, tmp_path, ser_type):
    """A request holding a proxy whose server_key is the path of a file (holding a
    ``public-key`` line, as certificates do) gets the same error reply as when that file is
    missing: the reply holds neither the line's key nor a hint that the file exists, and the
    server learns no key."""
    import zmq
    path = tmp_path / "planted.key"
    planted = zmq.curve_keypair()[0].decode()
    path.write_text(f'curve\n    public-key = "{planted}"\n')
    foreign = "tcp://127.0.0.1:9"
    proxy = {"___type_name___": "proxy", "rpc_addr": foreign, "obj_id": 1, "ref_id": 1,
             "type_str": "", "attributes": [], "server_key": str(path)}
    body = pack({"obj": proxy}) if ser_type == "msgpack" else json.dumps({"obj": proxy}).encode()
    replies = []
    for exists in (True, False):
        if not exists:
            path.unlink()
        raw.send([b"14", b"get_obj", b"auto", ser_type.encode(), body])
        replies.append(raw.reply())
    assert replies[0] == replies[1]
    text = "".join(replies[0]["error"][1])
    assert "malformed proxy" in text and "server_key must be a CURVE public key" in text
    for hint in (planted, "public-key", "exist", "No such file", "certificate"):
        assert hint not in text
    assert child.client._import("pyacq.core.rpc.curve").server_key(foreign) is None
    assert raw.ping() == "pong"


@pytest.mark.parametrize("frames", [
    [b"only-one"],
    [b"notanint", b"ping", b"auto", b"msgpack", b""],
    [b"12", b"ping", b"auto", b"pickle", b""],
    [b"-1", b"explode", b"auto", b"msgpack", b""],
])
def test_unanswerable_requests_are_dropped(raw, frames):
    """Requests without a usable req_id or serializer get no reply; the server lives on."""
    raw.send(frames)
    assert raw.ping() == "pong"
    raw.drain()


def test_oversize_request_is_refused(child, raw):
    """A request above the server's size limit gets an error reply."""
    child.client._import("rpc_test_helpers").set_max_request_size(10000)
    try:
        raw.send([b"13", b"ping", b"auto", b"msgpack", b"\x00" * 20000])
        assert "exceeds the server's limit" in "".join(raw.reply()["error"][1])
    finally:
        child.client._import("rpc_test_helpers").set_max_request_size(protocol.MAX_REQUEST_SIZE)
    assert raw.ping() == "pong"


def test_fuzzed_messages_never_kill_the_server(child, raw):
    """Thousands of random and mutated messages; the server still answers a ping after."""
    child.client["calc"] = child.client._import("rpc_test_helpers").Calculator(
        _return_type="proxy")
    calc_ref = msgpack.unpackb(child.client._serializer.dumps(child.client["calc"]), raw=False)
    templates = [
        [b"1", b"ping", b"auto", b"msgpack", b""],
        [b"2", b"get_item", b"auto", b"msgpack", pack({"name": "calc"})],
        [b"3", b"call_obj", b"auto", b"msgpack", pack({
            "obj": dict(calc_ref, attributes=["add"]), "args": [1, 2], "kwargs": {}})],
        [b"4", b"get_obj", b"value", b"json", json.dumps({
            "obj": dict(calc_ref, attributes=["params"])}).encode()],
        [b"-1", b"call_obj", b"proxy", b"msgpack", pack({
            "obj": dict(calc_ref, attributes=["accumulate"]), "args": [1]})],
    ]
    rng = random.Random(1234)
    deadline = time.monotonic() + 30
    sent = 0
    while sent < 3000 and time.monotonic() < deadline:
        frames = [bytearray(f) for f in rng.choice(templates)]
        kind = rng.random()
        if kind < 0.15:
            frames = [rng.randbytes(rng.randint(0, 40)) for _ in range(rng.randint(1, 7))]
        elif kind < 0.3:
            del frames[rng.randrange(len(frames))]
        else:
            for _ in range(rng.randint(1, 4)):
                frame = frames[rng.randrange(len(frames))]
                if frame:
                    frame[rng.randrange(len(frame))] = rng.randrange(256)
        if any(bytes(f) == b"close" for f in frames):
            continue
        raw.send([bytes(f) for f in frames])
        sent += 1
        if sent % 200 == 0:
            raw.drain()
    assert sent >= 1000
    assert raw.ping(timeout=30) == "pong"
    assert child.client.ping() == "pong"
    assert child.poll() is None
