"""Cost of distributed control, and end-to-end latency between processes.

Run: ``python benchmarks/bench_manager.py``. Prints:

* time to create a Manager, a NodeGroup (without and with Qt) and a node in it;
* end-to-end latency (median and p99) of a chunk (32 samples x 16 channels,
  float32) from a device node in a NodeGroup process to an InputStream in this
  process, per transfer mode, next to the raw stream latency (an OutputStream
  in a bare process, one chunk at a time) measured by ``bench_streams.py``.

The device stamps each chunk with ``time.monotonic()`` just before sending it;
the receiver subtracts that from its own clock on arrival (both processes read
the same system-wide monotonic clock).
"""
import os
import sys
import threading
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from pyacq.core import Node

CHUNK_SHAPE = (32, 16)
LATENCY_CHUNKS = 400
SEND_INTERVAL = 0.005
REPEATS = 5
MODES = {
    "plaindata tcp": dict(protocol="tcp", interface="127.0.0.1", transfermode="plaindata"),
    "plaindata ipc": dict(protocol="ipc", transfermode="plaindata"),
    "sharedmem": dict(protocol="tcp", interface="127.0.0.1", transfermode="sharedmem",
                      buffer_size=32 * 1024),
}
RAW_MODES = {"plaindata tcp": "plaindata tcp", "plaindata ipc": "plaindata ipc",
             "sharedmem": "sharedmem ipc double=True"}


class ClockDevice(Node):
    """Sends ``n_chunks`` chunks, one every ``interval`` s, each stamped with its send time."""

    _output_specs = {"signals": dict(streamtype="analogsignal", dtype="float64",
                                     shape=(-1, CHUNK_SHAPE[1]))}

    def _configure(self, n_chunks=LATENCY_CHUNKS, interval=SEND_INTERVAL):
        self.n_chunks, self.interval = n_chunks, interval

    def _start(self):
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._send_chunks, daemon=True)
        self._thread.start()

    def _stop(self):
        self._stopping.set()
        self._thread.join(10.0)

    def _send_chunks(self):
        chunk = np.zeros(CHUNK_SHAPE, dtype="float64")
        for _ in range(self.n_chunks):
            if self._stopping.wait(self.interval):
                return
            chunk = chunk.copy()
            chunk[0, 0] = time.monotonic()
            self.output.send(chunk)


def timed(function, *args, **kwds):
    start = time.perf_counter()
    result = function(*args, **kwds)
    return result, time.perf_counter() - start


def creation_costs(manager):
    """Median seconds to create a NodeGroup (qt False / True) and a node in it."""
    rows = {"NodeGroup (qt=False)": [], "NodeGroup (qt=True)": [], "node (by name)": []}
    for i in range(REPEATS):
        group, seconds = timed(manager.create_nodegroup, name=f"plain{i}", qt=False)
        rows["NodeGroup (qt=False)"].append(seconds)
        _, seconds = timed(group.create_node, "NumpyDeviceBuffer")
        rows["node (by name)"].append(seconds)
        _, seconds = timed(manager.create_nodegroup, name=f"qt{i}", qt=True)
        rows["NodeGroup (qt=True)"].append(seconds)
    return {name: float(np.median(values)) for name, values in rows.items()}


def end_to_end_latency(manager, options):
    """Latencies (s) of LATENCY_CHUNKS chunks from a NodeGroup's device to this process."""
    from pyacq.core.stream import InputStream
    group = manager.create_nodegroup(qt=False)
    group.register_node_type_from_module("bench_manager", "ClockDevice")
    dev = group.create_node("ClockDevice")
    dev.configure()
    dev.output.configure(**options)
    dev.initialize()
    receiver = InputStream()
    receiver.connect(dev.output)
    latencies = []
    try:
        dev.start()
        while len(latencies) < LATENCY_CHUNKS and receiver.poll(10000):
            _, data = receiver.recv(return_data=True)
            latencies.append(time.monotonic() - data[0, 0])
        dev.stop()
    finally:
        receiver.close()
    return np.array(latencies)


def raw_stream_latency(mode):
    """One-way latency of the same chunks through bare streams (bench_streams.py), or None."""
    import bench_streams
    return bench_streams.measure_once(RAW_MODES[mode], CHUNK_SHAPE)["latency"]


def main():
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from pyacq.core.manager import create_manager
    manager, seconds = timed(create_manager)
    try:
        print(f"{'creation':<24}{'median ms':>10}")
        print(f"{'Manager + log server':<24}{seconds * 1e3:>10.1f}")
        for name, value in creation_costs(manager).items():
            print(f"{name:<24}{value * 1e3:>10.1f}")
        print()
        print(f"end-to-end latency, chunks of {CHUNK_SHAPE[0]}x{CHUNK_SHAPE[1]}, NodeGroup device -> "
              "this process")
        print(f"{'transfer mode':<16}{'median us':>10}{'p99 us':>10}{'chunks':>8}{'raw stream us':>15}")
        for mode, options in MODES.items():
            latencies = end_to_end_latency(manager, options)
            raw = raw_stream_latency(mode)
            print(f"{mode:<16}{np.median(latencies) * 1e6:>10.0f}{np.percentile(latencies, 99) * 1e6:>10.0f}"
                  f"{len(latencies):>8}{raw * 1e6:>15.0f}")
    finally:
        manager.close()


if __name__ == "__main__":
    main()
