"""What hostile and legitimate requests cost an RPC server's memory, bounded and not.

For each request, the server's peak RSS growth (``VmHWM`` after the request minus
``VmRSS`` before it, the peak reset with ``/proc/PID/clear_refs``) is printed as MiB and
as a ratio to the request's size, next to a reference measured in the same run:

- a 16 MiB msgpack request of empty maps, and the same in json: the reference is
  decoding the same body in a fresh process (what a server without the decoding-cost
  bound pays); the bounded server refuses it with an error reply;
- 256 requests of 1 MiB sent while the server is busy in a 3 s call: the reference is a
  server whose ROUTER has no receive high-water mark (as before the bound: a process of
  its own created with ``server.RECEIVE_QUEUE`` set to 0), which holds every queued
  request; the bounded one holds ``RECEIVE_QUEUE`` (16) per client.
  RSS after the queue was served is printed too (the unbounded one stays up there);
- legitimate calls: a 64 MiB array out of band, 32 MiB of bytes in line, a list of a
  million floats in line: they pass, at about their size.

Run: ``python benchmarks/bench_request_cost.py`` (with pyacq-core importable; Linux).
"""
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time

import msgpack
import numpy as np
import zmq
from pyacq.core.rpc import ProcessSpawner, RPCClient
from pyacq.core.rpc.server import RECEIVE_QUEUE

MIB = 1 << 20
QUEUED = 256
SLOW_CALL_S = 3.0

# Decodes the body in argv[2] as argv[1] and prints the peak RSS growth, in bytes.
DECODE_IN_FRESH_PROCESS = textwrap.dedent("""
    import json, sys, msgpack
    def status(field):
        for line in open("/proc/self/status"):
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    body = open(sys.argv[2], "rb").read()
    open("/proc/self/clear_refs", "w").write("5")
    before = status("VmRSS")
    value = msgpack.unpackb(body) if sys.argv[1] == "msgpack" else json.loads(body)
    print(status("VmHWM") - before)
""")


def status(pid, field):
    with open(f"/proc/{pid}/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as clear_refs:
        clear_refs.write("5")
    return status(pid, "VmRSS")


def hostile_body(ser_type):
    if ser_type == "msgpack":
        return msgpack.packb({"obj": [{}] * (16 * MIB - 16)})
    return json.dumps({"obj": [{}] * (16 * MIB // 3)}, separators=(",", ":")).encode()


def decoded_in_fresh_process(ser_type, body):
    """Peak RSS growth of a fresh process decoding *body*: the unbounded cost."""
    with tempfile.NamedTemporaryFile(suffix=".body") as file:
        file.write(body)
        file.flush()
        done = subprocess.run([sys.executable, "-c", DECODE_IN_FRESH_PROCESS, ser_type,
                               file.name], capture_output=True, text=True, check=True,
                              timeout=600)
    return int(done.stdout)


# A server whose ROUTER has no receive high-water mark (the reference): the mark is fixed
# when the socket is bound, so this process sets it before creating its server.
UNBOUNDED_SERVER = textwrap.dedent("""
    from pyacq.core.rpc import server
    server.RECEIVE_QUEUE = 0
    rpc = server.RPCServer()
    print(rpc.address, flush=True)
    rpc.run_forever()
""")


class UnboundedProcess:
    """What the benchmark needs of a ProcessSpawner, for the reference server."""

    def __init__(self):
        self._popen = subprocess.Popen([sys.executable, "-c", UNBOUNDED_SERVER],
                                       stdout=subprocess.PIPE, text=True)
        self.pid = self._popen.pid
        self.address = self._popen.stdout.readline().strip()
        self.client = RPCClient(self.address)

    def close(self):
        self.client.close_server()
        self.client.close()
        self._popen.wait(30)


class Server:
    """A server process, a raw DEALER to it, and wire dicts of proxies to its modules."""

    def __init__(self, unbounded=False):
        self.proc = UnboundedProcess() if unbounded else ProcessSpawner(name="bench-request-cost")
        client = self.proc.client
        self.builtins = client._import("builtins")
        # The proxies stay referenced: their wire dicts are only valid while they live.
        self.modules = {name: client._import(name) for name in ("builtins", "time")}
        self.refs = {name: msgpack.unpackb(client.serializer.dumps(module), raw=False)
                     for name, module in self.modules.items()}
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(self.proc.address)

    def call(self, req_id, module, function, args, ser_type="msgpack", body=None):
        """Send a call (or *body* as its options) without waiting."""
        opts = {"obj": dict(self.refs[module], attributes=[function]), "args": args,
                "kwargs": {}}
        if body is None:
            body = msgpack.packb(opts) if ser_type == "msgpack" else json.dumps(opts).encode()
        self.sock.send_multipart([b"%d" % req_id, b"call_obj", b"auto", ser_type.encode(),
                                  body])

    def replies(self, count, timeout=300):
        """Wait for *count* replies; return them decoded."""
        received = []
        deadline = time.monotonic() + timeout
        while len(received) < count:
            if not self.sock.poll(int(max(0, deadline - time.monotonic()) * 1000)):
                raise TimeoutError(f"{len(received)} of {count} replies")
            data = self.sock.recv()
            try:
                received.append(msgpack.unpackb(data, raw=False))
            except ValueError:
                received.append(json.loads(data))
        return received

    def close(self):
        self.sock.close()
        self.proc.close()


def hostile_row(server, ser_type):
    body = hostile_body(ser_type)
    reference = decoded_in_fresh_process(ser_type, body)
    before = reset_peak(server.proc.pid)
    start = time.perf_counter()
    server.call(1, "builtins", "len", [], ser_type=ser_type, body=body)
    (reply,) = server.replies(1)
    elapsed = time.perf_counter() - start
    growth = status(server.proc.pid, "VmHWM") - before
    outcome = "refused" if reply["error"] and "allowance" in "".join(reply["error"][1]) else "ACCEPTED"
    return (f"16 MiB {ser_type} of empty maps", len(body), reference, growth,
            f"{outcome} in {elapsed:.2f} s")


def queue_growth(server):
    """Peak RSS growth and RSS growth after: QUEUED x 1 MiB behind one slow call."""
    before = reset_peak(server.proc.pid)
    server.call(0, "time", "sleep", [SLOW_CALL_S])
    for req_id in range(1, QUEUED + 1):
        server.call(req_id, "builtins", "len", [bytes([req_id % 256]) * MIB])
    replies = server.replies(QUEUED + 1)
    answered = sum(1 for reply in replies if reply["error"] is None)
    return (status(server.proc.pid, "VmHWM") - before, status(server.proc.pid, "VmRSS") - before,
            answered)


def legitimate_rows(server):
    rows = []
    client = server.proc.client
    for name, value, call in (
            ("64 MiB float64 array (out of band)", np.ones(8 * MIB),
             lambda value: client._import("numpy").sum(value, _timeout=120)),
            ("32 MiB bytes (in line)", b"\x01" * (32 * MIB),
             lambda value: server.builtins.len(value, _timeout=120)),
            ("1 M floats as a list (in line)", list(np.linspace(0, 1, MIB)),
             lambda value: server.builtins.len(value, _timeout=120))):
        size = len(msgpack.packb(value)) if not isinstance(value, np.ndarray) else value.nbytes
        before = reset_peak(server.proc.pid)
        start = time.perf_counter()
        call(value)
        elapsed = time.perf_counter() - start
        rows.append((name, size, None, max(0, status(server.proc.pid, "VmHWM") - before),
                     f"passed in {elapsed:.2f} s"))
    return rows


def main():
    print(f"pyacq request cost benchmark ({os.cpu_count()} CPUs, libzmq {zmq.zmq_version()}, "
          f"load {os.getloadavg()[0]:.1f})")
    bounded = Server()
    unbounded = Server(unbounded=True)
    try:
        # The queues first, on fresh processes: memory freed by earlier rows would be reused.
        bounded_queue = queue_growth(bounded)
        unbounded_queue = queue_growth(unbounded)
        rows = [hostile_row(bounded, "msgpack"), hostile_row(bounded, "json")]
        rows += legitimate_rows(bounded)
    finally:
        bounded.close()
        unbounded.close()
    print(f"\n{'request':38s} {'size MiB':>9s} {'unbounded MiB':>14s} {'x size':>7s} "
          f"{'bounded MiB':>12s} {'x size':>7s}  outcome")
    for name, size, reference, growth, outcome in rows:
        ref = f"{reference / MIB:14.0f} {reference / size:7.1f}" if reference else f"{'':14s} {'':7s}"
        print(f"{name:38s} {size / MIB:9.1f} {ref} {growth / MIB:12.0f} {growth / size:7.1f}  "
              f"{outcome}")
    print(f"\n{QUEUED} x 1 MiB queued behind a {SLOW_CALL_S:g} s call "
          f"(RPCServer.RECEIVE_QUEUE = {RECEIVE_QUEUE})")
    print(f"{'server':38s} {'peak growth MiB':>16s} {'growth after MiB':>17s} {'answered':>9s}")
    for name, (peak, after, answered) in (("no receive high-water mark (before)", unbounded_queue),
                                          ("RCVHWM 16 (now)", bounded_queue)):
        print(f"{name:38s} {peak / MIB:16.0f} {after / MIB:17.0f} {answered:>5d}/{QUEUED + 1}")
    print(f"(load average after: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
