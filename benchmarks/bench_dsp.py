"""SosFilter and OverlapFiltfilt throughput next to scipy on the same data, in one run.

For 256 channels of float32 at 30 kHz (2 s of signal), prints in channel-samples per
second:

- ``scipy.signal.sosfilt`` / ``sosfiltfilt`` on the whole array (the offline reference);
- the node, fed through a real inproc stream in 1024-sample chunks and read by a real
  InputStream (so stream transport is included), for each available engine;
- the ratio node / reference (target >= 0.9) and the share of one core the node needs to
  keep up with 256 channels at 30 kHz in real time.

Reference and node alternate over several rounds and the medians are reported, so that
load on the machine affects both alike.

Run: ``python benchmarks/bench_dsp.py`` (with pyacq-core and pyacq-dsp importable).
"""
import statistics
import time

import numpy as np
import scipy.signal
from pyacq.core import InputStream, OutputStream
from pyacq.dsp import OverlapFiltfilt, SosFilter
from pyacq.dsp.openclsos import HAVE_PYOPENCL

RATE = 30000.0
NB_CHANNEL = 256
DURATION = 2.0
CHUNKSIZE = 1024
ROUNDS = 3
SOS = scipy.signal.iirfilter(4, [300.0, 6000.0], btype="bandpass", fs=RATE, output="sos")


def run_node(node_class, data, **configure):
    """Seconds to stream ``data`` through a node (send, filter, receive), after warm-up."""
    source = OutputStream(name="source")
    source.configure(protocol="inproc", dtype="float32", shape=(-1, NB_CHANNEL), sample_rate=RATE)
    node = node_class(name="bench")
    node.configure(**configure)
    node.input.connect(source)
    node.output.configure(protocol="inproc")
    sink = InputStream()
    sink.connect(node.output)
    node.initialize()
    node.start()
    try:
        started = time.perf_counter()
        for stop in range(CHUNKSIZE, len(data) + 1, CHUNKSIZE):
            source.send(data[stop - CHUNKSIZE:stop], index=stop)
        last = len(data) // CHUNKSIZE * CHUNKSIZE - configure.get("overlapsize", 0)
        index, deadline = 0, time.monotonic() + 120
        while index < last:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{node_class.__name__} did not deliver in 120 s")
            if sink.poll(100):
                index, _ = sink.recv()
        return time.perf_counter() - started
    finally:
        node.stop()
        node.close()
        sink.close()
        source.close()


def timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main():
    data = np.random.default_rng(0).standard_normal((int(DURATION * RATE), NB_CHANNEL)).astype("float32")
    samples = data.size
    engines = ["scipy"] + (["opencl"] if HAVE_PYOPENCL else [])
    cases = [("sosfilt", lambda: scipy.signal.sosfilt(SOS, data, axis=0),
              [(f"SosFilter[{e}]", SosFilter, dict(coefficients=SOS, engine=e, chunksize=CHUNKSIZE))
               for e in engines]),
             ("sosfiltfilt", lambda: scipy.signal.sosfiltfilt(SOS, data, axis=0),
              [(f"OverlapFiltfilt[{e}]", OverlapFiltfilt,
                dict(coefficients=SOS, engine=e, chunksize=CHUNKSIZE, overlapsize=512))
               for e in engines])]
    print(f"{NB_CHANNEL} channels x {DURATION} s at {RATE:.0f} Hz float32, chunks of {CHUNKSIZE}; "
          f"medians of {ROUNDS} rounds; throughput in channel-samples/s")
    print(f"{'what':24s} {'throughput':>12s} {'reference':>12s} {'ratio':>6s} {'core share':>10s}")
    for reference_name, reference, nodes in cases:
        for name, node_class, configure in nodes:
            node_times, reference_times = [], []
            run_node(node_class, data[:CHUNKSIZE * 4], **configure)  # warm-up (kernel build, caches)
            for _ in range(ROUNDS):
                reference_times.append(timed(reference))
                node_times.append(run_node(node_class, data, **configure))
            node_rate = samples / statistics.median(node_times)
            reference_rate = samples / statistics.median(reference_times)
            share = NB_CHANNEL * RATE / node_rate
            print(f"{name:24s} {node_rate:12.3g} {reference_rate:12.3g} "
                  f"{node_rate / reference_rate:6.2f} {share:10.1%}   (reference: scipy {reference_name})")


if __name__ == "__main__":
    main()
