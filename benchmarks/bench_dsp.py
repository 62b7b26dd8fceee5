"""SosFilter and OverlapFiltfilt throughput next to scipy on the same data, in one run.

For 256 channels of float32 at 30 kHz (2 s of signal), prints in channel-samples per
second:

- ``scipy.signal.sosfilt`` / ``sosfiltfilt`` on the whole array (the offline reference);
- the node, fed through a real inproc stream in 1024-sample chunks and read by a real
  InputStream (so stream transport is included), for each available engine;
- the ratio node / reference, the spread of that ratio over the rounds, and the share of
  one core the node needs to keep up with 256 channels at 30 kHz in real time;
- the same share for SpikeDetector (with its running noise estimate).

OverlapFiltfilt has a structural bound: the forward pass runs once per sample, but each
backward window filters ``chunksize + overlapsize`` samples to release ``chunksize``, so it
does at best ``2c / (2c + o)`` of the work per sample that an offline filtfilt does
(printed as "bound"). The offline reference pays for its own whole-array copies (axis
moves, float32 -> float64, padding) out of cache, so a node can beat the bound. Two
configurations are measured: the default (1024 / 512) and one chosen as the module
documentation says: ``overlapsize = impulse_response_length(SOS, TOLERANCE)``, ``chunksize``
the smallest giving a bound of 0.9. The target (>= 0.9x) is stated against that row, whose
error against offline ``sosfiltfilt(..., padtype=None)`` is printed too.

Reference and node alternate over several rounds and the medians are reported, so that
load on the machine affects both alike.

Run: ``python benchmarks/bench_dsp.py`` (with pyacq-core and pyacq-dsp importable).
"""
import math
import statistics
import time

import numpy as np
import scipy.signal
from pyacq.core import InputStream, OutputStream
from pyacq.dsp import OverlapFiltfilt, SosFilter, SpikeDetector
from pyacq.dsp.openclsos import HAVE_PYOPENCL
from pyacq.dsp.overlapfiltfilt import impulse_response_length

RATE = 30000.0
NB_CHANNEL = 256
DURATION = 2.0
SEND_CHUNK = 1024
ROUNDS = 5
TARGET = 0.9
TOLERANCE = 1e-3
SOS = scipy.signal.iirfilter(4, [300.0, 6000.0], btype="bandpass", fs=RATE, output="sos")


def documented_sizes(tolerance, bound):
    """(chunksize, overlapsize) chosen as the OverlapFiltfilt documentation says."""
    overlapsize = impulse_response_length(SOS, tolerance)
    return math.ceil(bound * overlapsize / (2 * (1 - bound))), overlapsize


def run_node(node_class, data, keep_output=False, **configure):
    """Stream ``data`` through a node (send, filter, receive).

    Returns the seconds until the last sample released while running has arrived (after
    warm-up); with ``keep_output``, also the whole output, the rest released by stop().
    """
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
    chunks = []

    def receive_until(last, timeout=120):
        index, deadline = 0, time.monotonic() + timeout
        while index < last:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{node_class.__name__} did not deliver in {timeout} s")
            if sink.poll(100):
                index, chunk = sink.recv(return_data=True)
                if keep_output:
                    chunks.append(np.array(chunk))

    try:
        started = time.perf_counter()
        sent = len(data) // SEND_CHUNK * SEND_CHUNK
        for stop in range(SEND_CHUNK, sent + 1, SEND_CHUNK):
            source.send(data[stop - SEND_CHUNK:stop], index=stop)
        if "overlapsize" in configure:
            last = sent // configure["chunksize"] * configure["chunksize"] - configure["overlapsize"]
        else:
            last = sent
        receive_until(last)
        elapsed = time.perf_counter() - started
        node.stop()
        if keep_output:
            receive_until(sent)
            return elapsed, np.concatenate(chunks)
        return elapsed
    finally:
        if node.running():
            node.stop()
        node.close()
        sink.close()
        source.close()


def run_spike_detector(data):
    """Seconds for a SpikeDetector (running noise estimate, 1 s blocks) to handle ``data``."""
    source = OutputStream(name="source")
    source.configure(protocol="inproc", dtype="float32", shape=(-1, NB_CHANNEL), sample_rate=RATE)
    node = SpikeDetector(name="bench")
    node.configure(noise_duration=1.0)
    node.input.connect(source)
    for output in node.outputs.values():
        output.configure(protocol="inproc")
    node.initialize()
    node.start()
    try:
        started = time.perf_counter()
        sent = len(data) // SEND_CHUNK * SEND_CHUNK
        for stop in range(SEND_CHUNK, sent + 1, SEND_CHUNK):
            source.send(data[stop - SEND_CHUNK:stop], index=stop)
        deadline = time.monotonic() + 120
        while node.processed_until["signals"] != sent:
            if time.monotonic() > deadline:
                raise TimeoutError("SpikeDetector did not finish in 120 s")
            time.sleep(0.001)
        return time.perf_counter() - started
    finally:
        node.stop()
        node.close()
        source.close()


def timed(function):
    started = time.perf_counter()
    function()
    return time.perf_counter() - started


def main():
    data = np.random.default_rng(0).standard_normal((int(DURATION * RATE), NB_CHANNEL)).astype("float32")
    samples = data.size
    engines = ["scipy"] + (["opencl"] if HAVE_PYOPENCL else [])
    chunksize, overlapsize = documented_sizes(TOLERANCE, TARGET)
    filtfilt_sizes = [(1024, 512, "default"), (chunksize, overlapsize, f"tolerance {TOLERANCE:g}")]
    cases = [("sosfilt", lambda: scipy.signal.sosfilt(SOS, data, axis=0),
              [(f"SosFilter[{e}]", SosFilter, dict(coefficients=SOS, engine=e, chunksize=SEND_CHUNK))
               for e in engines]),
             ("sosfiltfilt", lambda: scipy.signal.sosfiltfilt(SOS, data, axis=0),
              [(f"OverlapFiltfilt[{e}] {c}/{o}", OverlapFiltfilt,
                dict(coefficients=SOS, engine=e, chunksize=c, overlapsize=o), label)
               for c, o, label in filtfilt_sizes for e in engines])]
    print(f"{NB_CHANNEL} channels x {DURATION} s at {RATE:.0f} Hz float32, sent in chunks of {SEND_CHUNK}; "
          f"medians of {ROUNDS} rounds; throughput in channel-samples/s")
    print(f"OverlapFiltfilt chunksize/overlapsize: 1024/512 (default) and {chunksize}/{overlapsize} "
          f"(overlapsize = impulse_response_length(SOS, {TOLERANCE:g}), chunksize for a bound >= "
          f"{TARGET}); target >= {TARGET}x against the latter")
    print(f"{'what':32s} {'throughput':>10s} {'reference':>10s} {'ratio':>6s} {'spread':>11s} "
          f"{'bound':>6s} {'core share':>10s}  notes")
    for reference_name, reference, nodes in cases:
        for name, node_class, configure, *label in nodes:
            node_times, reference_times = [], []
            run_node(node_class, data[:SEND_CHUNK * 4], **configure)  # warm-up (kernel build, caches)
            for _ in range(ROUNDS):
                reference_times.append(timed(reference))
                node_times.append(run_node(node_class, data, **configure))
            node_rate = samples / statistics.median(node_times)
            reference_rate = samples / statistics.median(reference_times)
            ratios = sorted(r / n for r, n in zip(reference_times, node_times))
            share = NB_CHANNEL * RATE / node_rate
            notes = f"reference: scipy {reference_name}"
            bound = ""
            if "overlapsize" in configure:
                c, o = configure["chunksize"], configure["overlapsize"]
                bound = f"{2 * c / (2 * c + o):6.2f}"
                notes += f"; {label[0]}"
                if label[0] != "default":
                    _, out = run_node(node_class, data, keep_output=True, **configure)
                    sent = data[:len(out)].astype("float64")
                    expected = scipy.signal.sosfiltfilt(SOS, sent, axis=0, padtype=None)
                    error = np.abs(out - expected).max() / np.abs(expected).max()
                    notes += f"; error vs offline {error:.1e} of peak; target >= {TARGET}x"
            print(f"{name:32s} {node_rate:10.3g} {reference_rate:10.3g} {node_rate / reference_rate:6.2f} "
                  f"{ratios[0]:5.2f}-{ratios[-1]:<5.2f} {bound:>6s} {share:10.1%}  {notes}")
    long_data = np.tile(data, (2, 1))  # 4 s: the first 1 s block, then running estimates
    shares = sorted(NB_CHANNEL * RATE / (long_data.size / run_spike_detector(long_data))
                    for _ in range(ROUNDS))
    print(f"{'SpikeDetector':32s} core share {statistics.median(shares):.1%} "
          f"({shares[0]:.1%}-{shares[-1]:.1%}) for {NB_CHANNEL} channels at {RATE:.0f} Hz in real time")


if __name__ == "__main__":
    main()
