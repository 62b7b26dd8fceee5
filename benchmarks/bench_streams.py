"""Stream throughput and latency, side by side with np.copyto and raw pyzmq.

Run: ``python benchmarks/bench_streams.py`` (from a source checkout or with
pyacq-core installed). For each transfer mode and for small (32 samples x 16
channels) and large (8192 x 64) float32 chunks, a sender process streams to a
receiver process and the table shows:

* MB/s and us/chunk while the sender streams as fast as the receiver keeps up
  (measured at the receiver, first to last chunk; the receiver acknowledges
  every few chunks so that the sender never runs more than a window ahead,
  which keeps ZeroMQ's queues below their drop limit and sharedmem readers
  from being lapped; the same scheme drives the raw pyzmq baselines);
* one-way latency (median, sender's send() call to receiver's recv() return,
  one chunk at a time; both processes read the same monotonic clock);
* the ratio to the baseline doing the same work: np.copyto into a ring of the
  same size for sharedmem (which copies each chunk into shared memory once,
  twice with double=True), a raw pyzmq PUB/SUB socket on the same protocol
  for plaindata. inproc rows run both ends as threads of one process.

Every row is the best of three runs; "lost" counts chunks lost over all runs.
"""
import multiprocessing
import os
import sys
import threading
import time

import numpy as np
import zmq

try:
    from pyacq.core.stream import BufferOverrunError, InputStream, OutputStream
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pyacq-core"))
    from pyacq.core.stream import BufferOverrunError, InputStream, OutputStream

SIZES = {"small 32x16": (32, 16), "large 8192x64": (8192, 64)}
THROUGHPUT_BYTES = 1e9
MAX_CHUNKS = 30000
LATENCY_CHUNKS = 200
RING_BYTES = 64 * 2**20
WINDOW_BYTES = 32 * 2**20
MAX_WINDOW = 200
QUIET_MS = 3000


def window(nbytes):
    """Chunks the sender may run ahead of the receiver's last acknowledgement."""
    return max(2, min(MAX_WINDOW, WINDOW_BYTES // nbytes))

#: name -> (kind, protocol, extra OutputStream options)
MODES = {
    "raw pyzmq tcp": ("raw", "tcp", {}),
    "plaindata tcp": ("stream", "tcp", dict(transfermode="plaindata")),
    "raw pyzmq ipc": ("raw", "ipc", {}),
    "plaindata ipc": ("stream", "ipc", dict(transfermode="plaindata")),
    "raw pyzmq inproc": ("raw", "inproc", {}),
    "plaindata inproc": ("stream", "inproc", dict(transfermode="plaindata")),
    "sharedmem double=False": ("stream", "tcp", dict(transfermode="sharedmem", double=False)),
    "sharedmem double=True": ("stream", "tcp", dict(transfermode="sharedmem", double=True)),
}
BASELINE = {
    "plaindata tcp": "raw pyzmq tcp",
    "plaindata ipc": "raw pyzmq ipc",
    "plaindata inproc": "raw pyzmq inproc",
    "sharedmem double=False": "np.copyto",
    "sharedmem double=True": "np.copyto",
}


class RawSender:
    """A bare PUB socket sending each chunk as one zero-copy frame."""

    def __init__(self, protocol):
        self.socket = zmq.Context.instance().socket(zmq.PUB)
        if protocol == "tcp":
            port = self.socket.bind_to_random_port("tcp://127.0.0.1")
            self.address = f"tcp://127.0.0.1:{port}"
        elif protocol == "ipc":
            self.address = f"ipc:///tmp/pyacq-bench-{os.getpid()}.ipc"
            self.socket.bind(self.address)
        else:
            self.address = f"inproc://pyacq-bench-{os.getpid()}"
            self.socket.bind(self.address)

    def send(self, chunk):
        self.socket.send(chunk, copy=False)

    def close(self):
        self.socket.close()
        if self.address.startswith("ipc://") and os.path.exists(self.address[6:]):
            os.unlink(self.address[6:])


class RawReceiver:
    def __init__(self, address):
        self.socket = zmq.Context.instance().socket(zmq.SUB)
        self.socket.setsockopt(zmq.SUBSCRIBE, b"")
        self.socket.connect(address)

    def ready(self, sender_pipe):
        """Raw PUB/SUB has no join handshake: probe until a message gets through."""
        while True:
            sender_pipe.send("probe")
            if self.socket.poll(50):
                self.socket.recv()
                while self.socket.poll(50):
                    self.socket.recv()
                return

    def poll(self, timeout):
        return self.socket.poll(timeout)

    def recv(self):
        return np.frombuffer(self.socket.recv(copy=False), dtype="float32")

    def close(self):
        self.socket.close()


class StreamReceiver:
    def __init__(self, params):
        self.input = InputStream()
        self.input.connect(params)

    def ready(self, sender_pipe):
        pass

    def poll(self, timeout):
        return self.input.poll(timeout)

    def recv(self):
        try:
            return self.input.recv(return_data=True)[1]
        except BufferOverrunError:
            return None

    def close(self):
        self.input.close()


def run_sender(pipe, kind, protocol, options, shape, n_chunks):
    """Sender side: stream n_chunks within the window, then LATENCY_CHUNKS one at a time."""
    nbytes = shape[0] * shape[1] * 4
    if kind == "raw":
        sender = RawSender(protocol)
        pipe.send(sender.address)
    else:
        sender = OutputStream()
        sender.configure(protocol=protocol, dtype="float32", shape=(-1, shape[1]),
                         buffer_size=RING_BYTES // nbytes * shape[0], **options)
        pipe.send(sender.params)
    chunk = np.random.default_rng(0).standard_normal(shape).astype("float32")
    while pipe.recv() == "probe":
        sender.send(chunk)
    ahead, acknowledged = window(nbytes), 0
    for i in range(n_chunks):
        while i - acknowledged >= ahead:
            acknowledged = pipe.recv()
        sender.send(chunk)
    while pipe.recv() != "done":
        pass
    send_times = []
    for _ in range(LATENCY_CHUNKS):
        pipe.recv()
        send_times.append(time.perf_counter())
        sender.send(chunk)
    pipe.send(send_times)
    pipe.recv()
    sender.close()


def run_receiver(pipe, kind, address_or_params, n_chunks, receiver_nbytes):
    """Receiver side: time the back-to-back chunks, then each paced chunk's arrival."""
    receiver = RawReceiver(address_or_params) if kind == "raw" else StreamReceiver(address_or_params)
    receiver.ready(pipe)
    pipe.send("go")
    received, first, last = 0, None, None
    acknowledge_every = max(1, window(receiver_nbytes) // 4)
    while received < n_chunks and receiver.poll(QUIET_MS):
        if receiver.recv() is None:
            break
        last = time.perf_counter()
        first = first or last
        received += 1
        if received % acknowledge_every == 0:
            pipe.send(received)
    pipe.send("done")
    recv_times = []
    for _ in range(LATENCY_CHUNKS):
        pipe.send("next")
        assert receiver.poll(QUIET_MS * 10), "latency chunk lost"
        receiver.recv()
        recv_times.append(time.perf_counter())
    send_times = pipe.recv()
    pipe.send("close")
    receiver.close()
    latency = np.median(np.array(recv_times) - np.array(send_times))
    return received, (last - first) / max(received - 1, 1), latency


def measure(mode, shape, repeats=3):
    """Best of ``repeats`` runs (other load on the machine only ever slows a run down)."""
    runs = [measure_once(mode, shape) for _ in range(repeats)]
    return dict(per_chunk=min(r["per_chunk"] for r in runs), latency=min(r["latency"] for r in runs),
                lost=sum(r["lost"] for r in runs))


def measure_once(mode, shape):
    kind, protocol, options = MODES[mode]
    nbytes = shape[0] * shape[1] * 4
    n_chunks = int(min(MAX_CHUNKS, THROUGHPUT_BYTES / nbytes))
    if protocol == "inproc":
        ours, theirs = multiprocessing.Pipe()
        thread = threading.Thread(target=run_sender, daemon=True,
                                  args=(theirs, kind, protocol, options, shape, n_chunks))
        thread.start()
        result = run_receiver(ours, kind, ours.recv(), n_chunks, nbytes)
        thread.join(timeout=60)
    else:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(target=run_sender, daemon=True,
                                  args=(theirs, kind, protocol, options, shape, n_chunks))
        process.start()
        result = run_receiver(ours, kind, ours.recv(), n_chunks, nbytes)
        process.join(timeout=60)
    received, per_chunk, latency = result
    return dict(per_chunk=per_chunk, latency=latency, lost=n_chunks - received)


def measure_copyto(shape, repeats=3):
    """Best of ``repeats`` runs: the copy rate this machine reaches when undisturbed."""
    chunk = np.random.default_rng(0).standard_normal(shape).astype("float32")
    ring_chunks = RING_BYTES // chunk.nbytes
    ring = np.zeros((ring_chunks,) + shape, dtype="float32")
    n_chunks = int(min(MAX_CHUNKS, THROUGHPUT_BYTES / chunk.nbytes))
    per_chunk = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(n_chunks):
            np.copyto(ring[i % ring_chunks], chunk)
        per_chunk = min(per_chunk, (time.perf_counter() - start) / n_chunks)
    return dict(per_chunk=per_chunk, latency=per_chunk, lost=0)


def main():
    print(f"pyacq stream benchmark ({os.cpu_count()} CPUs, numpy {np.__version__}, "
          f"libzmq {zmq.zmq_version()})")
    header = (f"{'chunk':<14} {'mode':<23} {'MB/s':>9} {'us/chunk':>9} {'latency us':>11} "
              f"{'vs baseline':>22} {'lost':>5}")
    print(header)
    print("-" * len(header))
    for size_name, shape in SIZES.items():
        nbytes = shape[0] * shape[1] * 4
        results = {"np.copyto": measure_copyto(shape)}
        for mode in MODES:
            results[mode] = measure(mode, shape)
        for mode, result in results.items():
            rate = nbytes / result["per_chunk"] / 1e6
            ratio = ""
            if mode in BASELINE:
                base = results[BASELINE[mode]]
                ratio = f"{base['per_chunk'] / result['per_chunk']:.2f}x {BASELINE[mode]}"
            print(f"{size_name:<14} {mode:<23} {rate:>9.0f} {result['per_chunk'] * 1e6:>9.1f} "
                  f"{result['latency'] * 1e6:>11.1f} {ratio:>22} {result['lost']:>5}")
        print()


if __name__ == "__main__":
    main()
