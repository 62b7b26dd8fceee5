"""Fuzz target: a live RPC server, in a process of its own, receiving arbitrary frame lists.

Each example is a batch of messages sent from a raw DEALER socket: random frames,
documented requests with random fields and options (msgpack and json, proxies, tagged
dicts, out-of-band frames), and mutated valid requests. After each batch a well-formed
ping must be answered: no message may kill, stop or wedge the server. The server's
``max_request_size`` is lowered to 64 KiB so that size refusals are exercised too.

The messages never ask for what an authorized client may legitimately do to a server
(close it, import modules, call functions other than a few harmless ones): that is what
RPC is for, not a decoding fault.
"""
import json
import time

import msgpack
import pytest
import zmq
from hypothesis import given
from hypothesis import strategies as st
from process_checks import assert_gone
from pyacq.core.rpc import ProcessSpawner, protocol

#: Functions of the server's ``builtins`` that calls may name (harmless for any argument).
HARMLESS = ["len", "abs", "repr", "isinstance", "not_a_builtin", ""]
ACTIONS = [action for action in protocol.ACTIONS if action not in ("close", "import")]
REFUSED_ACTIONS = (b"close", b"import")
PING_TIMEOUT = 30.0
RESEND_S = 0.1
#: Each message of a batch is also sent this many times with random bytes changed: cheap
#: variants, which drawing every message from the strategies would make slow.
MUTANTS = 4
#: The server's request size limit during the fuzzing (its default is 256 MiB).
FUZZ_REQUEST_SIZE = 1 << 16

#: What the target sent in this process (reported when the module ends).
sent = {"messages": 0, "batches": 0}


class Target:
    """The server process, a raw client to it, and a proxy wire dict for its builtins."""

    def __init__(self):
        self.proc = ProcessSpawner(name="fuzzed-server")
        self.address = self.proc.address
        server = self.proc.client._import("pyacq.core.rpc.server").RPCServer.get_server()
        builtins = self.proc.client._import("builtins")
        builtins.setattr(server, "max_request_size", FUZZ_REQUEST_SIZE)
        self.builtins_ref = msgpack.unpackb(self.proc.client.serializer.dumps(builtins), raw=False)
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.RECONNECT_IVL, 10)  # after a drop for an oversized frame
        self.sock.connect(self.address)
        self.ping_id = 10 ** 15

    def send(self, frames):
        """Send *frames* as one message, made to ask for neither closing nor importing."""
        if len(frames) > 1 and frames[1] in REFUSED_ACTIONS:
            frames = [frames[0], b"ping", *frames[2:]]
        self.sock.send_multipart(frames)

    def ping(self):
        """Send a ping and wait for its reply, skipping the replies to the batch; resend it
        every RESEND_S if no ping was answered meanwhile (a frame above the size limit makes
        ZeroMQ drop the connection, and a ping queued on it is lost with it)."""
        deadline = time.monotonic() + PING_TIMEOUT
        first = self.ping_id + 1
        while time.monotonic() < deadline:
            self.ping_id += 1
            self.send([b"%d" % self.ping_id, b"ping", b"auto", b"msgpack", b""])
            resend = time.monotonic() + RESEND_S
            while time.monotonic() < min(resend, deadline):
                if not self.sock.poll(10):
                    continue
                try:
                    reply = msgpack.unpackb(self.sock.recv(), raw=False)
                except ValueError:
                    continue  # a json reply, to a json request of the batch
                if isinstance(reply, dict) and first <= _int(reply.get("req_id")) <= self.ping_id:
                    return reply["rval"]
        raise AssertionError(f"the fuzzed server at {self.address} did not answer a ping "
                             f"within {PING_TIMEOUT} s")

    def close(self):
        self.sock.close()
        pid = self.proc.pid
        self.proc.close()
        assert_gone(pid)


def _int(value):
    return value if type(value) is int else -1


@pytest.fixture(scope="module")
def target():
    """One fuzzed server for the module (it must survive every batch)."""
    fuzzed = Target()
    yield fuzzed
    try:
        assert fuzzed.ping() == "pong"
    finally:
        fuzzed.close()
        print(f"\nfuzzed RPC server: {sent['messages']} messages in {sent['batches']} batches, "
              "answered a ping after each")


# -- what a batch holds --------------------------------------------------------------

text = st.text(max_size=12)
leaves = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 63, 2 ** 64 - 1),
                   st.floats(allow_nan=False), text, st.binary(max_size=24))


def tagged(type_name, fields):
    """Dicts tagged *type_name*, with any subset of *fields* (strategies by field name)."""
    return st.fixed_dictionaries({protocol.TYPE_KEY: st.just(type_name)}, optional=fields)


def tagged_values(address):
    """Tagged dicts of every type name, with fields valid or not; proxies name this server
    (a proxy to another address would make the server call out, which is not decoding)."""
    return st.one_of(
        tagged("ndarray", {"dtype": st.one_of(st.sampled_from(["<f4", "<i8", "|b1", "V8", "<U3",
                                                               "[('a', '<f4')]", "object", "O"]),
                                              leaves),
                           "shape": st.lists(st.integers(-2, 2 ** 40), max_size=3),
                           "data": st.one_of(st.binary(max_size=64), text),
                           "frame": st.integers(-1, 3)}),
        tagged("bytes", {"data": st.one_of(text, st.binary(max_size=16))}),
        tagged("datetime", {"data": text}), tagged("date", {"data": text}),
        tagged("none", {}), st.fixed_dictionaries({protocol.TYPE_KEY: text, "data": leaves}),
        tagged("proxy", {"rpc_addr": st.just(address), "obj_id": leaves,
                         "ref_id": leaves, "type_str": text,
                         "attributes": st.lists(text, max_size=2),
                         "server_key": st.one_of(text, st.just("/etc/hostname"))}),
    )


def values(address):
    """Nested lists and dicts of leaves and tagged dicts."""
    return st.recursive(st.one_of(leaves, tagged_values(address)),
                        lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                st.dictionaries(text, inner, max_size=4)),
                        max_leaves=10)


def serialized(ser_type, value):
    """*value* in the format *ser_type* names (msgpack for an unknown one)."""
    if ser_type == b"json":
        try:
            return json.dumps(value).encode()
        except (TypeError, ValueError):
            return b"{"
    return msgpack.packb(value, use_bin_type=True)


@st.composite
def documented_requests(draw, target, value, call):
    """Five frames (or more) with each field drawn from valid and invalid values; *value*
    draws option values, *call* the options of a call."""
    req_id = draw(st.one_of(st.integers(-3, 2 ** 40).map(lambda i: b"%d" % i),
                            st.binary(max_size=8)))
    action = draw(st.one_of(st.sampled_from(ACTIONS).map(str.encode),
                            st.binary(max_size=10)))
    return_type = draw(st.one_of(st.sampled_from(protocol.RETURN_TYPES).map(str.encode),
                                 st.binary(max_size=6)))
    ser_type = draw(st.sampled_from([b"msgpack", b"json", b"pickle", b""]))
    opts = draw(st.one_of(call, st.dictionaries(text, value, max_size=4), value))
    body_kind = draw(st.integers(0, 19))
    if body_kind == 0:  # above the limit: an error reply
        body = b"\x00" * (FUZZ_REQUEST_SIZE + draw(st.integers(1, 2 ** 14)))
    elif body_kind < 14:
        body = serialized(ser_type, opts)
    else:
        body = draw(st.binary(max_size=64))
    frames = [req_id, action, return_type, ser_type, body]
    if draw(st.booleans()):
        frames += [protocol.EXTENSION] + draw(st.lists(st.binary(max_size=64), max_size=3))
    return frames


random_frames = st.lists(st.binary(max_size=64), min_size=1, max_size=8)


@st.composite
def mutated_requests(draw, target):
    """A valid request (ping, get_item, a call of len) with frames replaced, dropped,
    duplicated or their bytes changed."""
    call = {"obj": dict(target.builtins_ref, attributes=["len"]), "args": [[1, 2, 3]],
            "kwargs": {}}
    template = draw(st.sampled_from([
        [b"1", b"ping", b"auto", b"msgpack", b""],
        [b"2", b"get_item", b"auto", b"msgpack", msgpack.packb({"name": "self"})],
        [b"3", b"call_obj", b"auto", b"msgpack", msgpack.packb(call)],
        [b"4", b"call_obj", b"value", b"json", json.dumps(call).encode()],
        [b"-1", b"call_obj", b"proxy", b"msgpack", msgpack.packb(call), protocol.EXTENSION],
    ]))
    frames = list(template)
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "drop", "duplicate", "flip", "cut"]))
        at = draw(st.integers(0, len(frames))) % max(len(frames), 1)
        if kind == "replace" and frames:
            frames[at] = draw(st.binary(max_size=32))
        elif kind == "drop" and frames:
            del frames[at]
        elif kind == "duplicate" and frames:
            frames.insert(at, frames[at])
        elif kind == "flip" and frames and frames[at]:
            data = bytearray(frames[at])
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
            frames[at] = bytes(data)
        elif kind == "cut" and frames:
            frames[at] = frames[at][:draw(st.integers(0, len(frames[at])))]
    return frames or [b""]


def batches(target):
    """Lists of messages of every kind (strategies built once: building them per draw
    costs most of an example's time)."""
    value = values(target.address)
    call = st.fixed_dictionaries(
        {"obj": st.builds(lambda attrs: dict(target.builtins_ref, attributes=attrs),
                          st.lists(st.sampled_from(HARMLESS), max_size=2))},
        optional={"args": st.one_of(st.lists(value, max_size=3), value),
                  "kwargs": st.one_of(st.dictionaries(text, value, max_size=2), value),
                  "name": st.one_of(text, value), "value": value,
                  "obj_id": leaves, "ref_id": leaves})
    message = st.one_of(random_frames, documented_requests(target, value, call),
                        mutated_requests(target))
    return st.lists(message, min_size=1, max_size=16)


# -- the target ----------------------------------------------------------------------

def variant(frames, rng):
    """*frames* with one frame's bytes changed at random (flipped, cut or extended)."""
    frames = list(frames)
    at = rng.randrange(len(frames))
    data = bytearray(frames[at])
    kind = rng.randrange(3)
    if kind == 0 and data:
        data[rng.randrange(len(data))] = rng.randrange(256)
    elif kind == 1:
        del data[rng.randrange(len(data) + 1):]
    else:
        data += rng.randbytes(rng.randrange(1, 9))
    frames[at] = bytes(data)
    return frames


def test_server_survives_arbitrary_frame_lists(target):
    """After any batch of arbitrary, malformed, oversized or mutated messages (each also sent
    as MUTANTS variants with random bytes changed), the server still answers a well-formed
    ping."""

    @given(batch=batches(target), rng=st.randoms(use_true_random=False))
    def survives(batch, rng):
        for frames in batch:
            target.send(frames)
            for _ in range(MUTANTS):
                target.send(variant(frames, rng))
        sent["messages"] += len(batch) * (1 + MUTANTS)
        sent["batches"] += 1
        assert target.ping() == "pong"
        if sent["batches"] % 2000 == 0:
            print(f"fuzzed RPC server: {sent['messages']} messages in {sent['batches']} batches "
                  "so far", flush=True)

    survives()
