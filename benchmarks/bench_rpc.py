"""RPC speed next to raw pyzmq, measured in one run.

Prints, for a process spawned with ProcessSpawner:

- the round trip of a synchronous remote call, next to a raw pyzmq
  DEALER/ROUTER round trip carrying frames of exactly the same sizes (so the
  ratio is the cost of the RPC layer, not of the network stack);
- the same call written as pyacq 2.0 scripts do, ``remote_os.getpid()``: the
  method looked up on the module proxy at every call (a getattr round trip
  unless ``defer_getattr`` is on), against the same raw reference;
- the same for a call that sends and returns a 1 MB array;
- the throughput of asynchronous calls (``_sync='async'``).

The raw reference ("raw pyzmq") drives its sockets the way RPC does, pyzmq's
fastest: one ``send`` per frame with plain-int flags, small frames copied and
large ones sent from their own memory, every frame received without a copy and
its "more" flag read from the frame. The ratio is taken against it. pyzmq's
``send_multipart``/``recv_multipart`` carrying the same frames ("multipart") is
shown beside it: they cost about 2 us more per frame (flags combined as enums,
``RCVMORE`` read with ``getsockopt``), which a comparison with RPC must not
credit to the RPC layer.

Raw and RPC measurements alternate over several rounds and the medians are
reported, so that load on the machine affects both alike; the load average is
printed before and after. Each ratio is printed beside its target.

Run: ``python benchmarks/bench_rpc.py`` (with pyacq-core importable).
"""
import os
import statistics
import subprocess
import sys
import textwrap
import time

import numpy as np
import zmq
from pyacq.core.rpc import ProcessSpawner, protocol
from pyacq.core.rpc.serializer import MsgpackSerializer

ROUNDS = 7
SMALL_CALL_TARGET = 1.3
LARGE_CALL_TARGET = 1.2
ASYNC_TARGET = 20000
SYNC_CALLS = 2000
LARGE_CALLS = 100
ASYNC_CALLS = 20000

# An echo server that answers every request with a reply of a fixed size, written with
# pyzmq only; argv[2] says how it drives its socket ("per-frame" or "multipart").
RAW_SERVER = textwrap.dedent("""
    import sys, zmq
    sock = zmq.Context.instance().socket(zmq.ROUTER)
    print(sock.bind_to_random_port("tcp://127.0.0.1"), flush=True)
    reply = [b"x" * int(size) for size in sys.argv[1].split(",")]
    more, last, threshold = int(zmq.SNDMORE), len(reply) - 1, sock.copy_threshold
    while True:
        if sys.argv[2] == "multipart":
            frames = sock.recv_multipart(copy=False)
            sock.send_multipart([frames[0], *reply], copy=False)
            continue
        frame = caller = sock.recv(copy=False)
        while frame.more:
            frame = sock.recv(copy=False)
        sock.send(caller, more)
        for index, part in enumerate(reply):
            sock.send(part, more if index < last else 0, copy=len(part) < threshold)
""")


class RawPeer:
    """A DEALER talking to a raw ROUTER echo server in its own process, carrying frames of
    the sizes RPC sends; *style* "per-frame" (the reference) or "multipart" (see the module
    docstring)."""

    def __init__(self, request_frames, reply_sizes, style="per-frame"):
        sizes = ",".join(str(size) for size in reply_sizes)
        self.proc = subprocess.Popen([sys.executable, "-c", RAW_SERVER, sizes, style],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        port = int(self.proc.stdout.readline())
        self.sock = zmq.Context.instance().socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(f"tcp://127.0.0.1:{port}")
        self.frames = request_frames
        self.round_trip_us = (self._multipart_round_trip_us if style == "multipart"
                              else self._per_frame_round_trip_us)

    def _per_frame_round_trip_us(self, count):
        sock, frames = self.sock, self.frames
        more, last = int(zmq.SNDMORE), len(frames) - 1
        copies = [len(frame) < sock.copy_threshold for frame in frames]
        start = time.perf_counter()
        for _ in range(count):
            for index, frame in enumerate(frames):
                sock.send(frame, more if index < last else 0, copy=copies[index])
            if not sock.poll(10000):
                raise TimeoutError("raw echo server did not answer")
            frame = sock.recv(copy=False)
            while frame.more:
                frame = sock.recv(copy=False)
        return (time.perf_counter() - start) / count * 1e6

    def _multipart_round_trip_us(self, count):
        sock, frames = self.sock, self.frames
        start = time.perf_counter()
        for _ in range(count):
            sock.send_multipart(frames, copy=False)
            if not sock.poll(10000):
                raise TimeoutError("raw echo server did not answer")
            sock.recv_multipart(copy=False)
        return (time.perf_counter() - start) / count * 1e6

    def close(self):
        self.sock.close()
        self.proc.kill()
        self.proc.wait(10)


def request_frames(proxy, args):
    """The frames RPCClient sends for a sync ``proxy(*args)`` once it knows that the server
    reads out-of-band frames (see pyacq.core.rpc.protocol)."""
    buffers = []
    opts = MsgpackSerializer().dumps({"obj": proxy, "args": list(args), "kwargs": {}},
                                     buffers=buffers)
    extension = [protocol.EXTENSION, *buffers] if buffers else []
    return [b"1", b"call_obj", b"auto", b"msgpack", opts, *extension]


def reply_sizes(rval):
    """The sizes of the frames RPCServer replies with when the result is *rval*."""
    buffers = []
    body = MsgpackSerializer().dumps({"action": "return", "req_id": 1, "rval": rval,
                                      "error": None}, buffers=buffers)
    extension = [len(protocol.EXTENSION), *(buffer.nbytes for buffer in buffers)] if buffers else []
    return [len(body), *extension]


def rpc_round_trip_us(func, args, count):
    start = time.perf_counter()
    for _ in range(count):
        func(*args)
    return (time.perf_counter() - start) / count * 1e6


def async_calls_per_s(func, count):
    start = time.perf_counter()
    futures = [func(_sync="async") for _ in range(count)]
    for future in futures:
        future.result(timeout=60)
    return count / (time.perf_counter() - start)


def compare(name, func, args, count, timed=None):
    """Alternate raw and RPC rounds; return a table row. *timed* (default *func*) is what
    is timed, the raw references carrying the frames of one call of *func*."""
    timed = func if timed is None else timed
    frames, sizes = request_frames(func, args), reply_sizes(func(*args))
    raw, multipart = RawPeer(frames, sizes), RawPeer(frames, sizes, "multipart")
    try:
        raw_us, multipart_us, rpc_us = [], [], []
        for _ in range(ROUNDS):
            raw_us.append(raw.round_trip_us(count))
            multipart_us.append(multipart.round_trip_us(count))
            rpc_us.append(rpc_round_trip_us(timed, args, count))
    finally:
        raw.close()
        multipart.close()
    raw_median, rpc_median = statistics.median(raw_us), statistics.median(rpc_us)
    return name, raw_median, statistics.median(multipart_us), rpc_median, rpc_median / raw_median


def load_average():
    return "load average " + " ".join(f"{load:.2f}" for load in os.getloadavg())


def verdict(ok):
    return "ok" if ok else "MISS"


def main():
    print(f"pyacq RPC benchmark ({os.cpu_count()} CPUs, libzmq {zmq.zmq_version()}, "
          f"{load_average()})")
    proc = ProcessSpawner(name="bench")
    try:
        remote_os = proc.client._import("os")
        getpid = remote_os.getpid
        asarray = proc.client._import("numpy").asarray
        block = np.zeros(1 << 17)  # 1 MiB of float64
        rows = [
            compare("sync call, small", getpid, (), SYNC_CALLS) + (SMALL_CALL_TARGET,),
            compare("sync call, remote_os.getpid() idiom", getpid, (), SYNC_CALLS,
                    timed=lambda: remote_os.getpid()) + (SMALL_CALL_TARGET,),
            compare("sync call, 1 MiB array both ways", asarray, (block,), LARGE_CALLS)
            + (LARGE_CALL_TARGET,),
        ]
        rates = [async_calls_per_s(getpid, ASYNC_CALLS) for _ in range(ROUNDS)]
    finally:
        proc.close()

    print(f"{'measure':36s} {'raw pyzmq (us)':>15s} {'multipart (us)':>15s} "
          f"{'pyacq RPC (us)':>15s} {'ratio':>7s} {'target':>9s}")
    for name, raw_us, multipart_us, rpc_us, ratio, target in rows:
        print(f"{name:36s} {raw_us:15.1f} {multipart_us:15.1f} {rpc_us:15.1f} {ratio:7.2f} "
              f"{'<= ' + str(target):>9s} {verdict(ratio <= target)}")
    rate = statistics.median(rates)
    print(f"{'async calls per second':36s} {'':15s} {'':15s} {rate:15.0f} {'':7s} "
          f"{'>= ' + str(ASYNC_TARGET):>9s} {verdict(rate >= ASYNC_TARGET)}")
    print(f"(medians of {ROUNDS} interleaved rounds; {load_average()})")


if __name__ == "__main__":
    main()
