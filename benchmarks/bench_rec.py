"""Sustained recording throughput (MB/s) per recorder next to numpy.tofile, and the LSL bridge
next to pylsl alone.

Run: ``python benchmarks/bench_rec.py [--seconds 20]`` (seconds of 32-channel float32 data at
10 kHz, streamed as fast as the recorder takes it). The LSL bridge is timed from the
first push into a pylsl outlet to the last sample read, by pylsl alone and through LslInlet
(into a pyacq stream), alternating over several rounds.
"""
import argparse
import os
import statistics
import tempfile
import time

import numpy as np
from pyacq.core import InputStream, OutputStream, get_node_type

NB_CHANNEL, SAMPLE_RATE, CHUNK = 32, 10_000.0, 1000
LSL_ROUNDS = 5
PYLSL_MAX_SAMPLES = 100_000


def data_chunks(seconds):
    rng = np.random.default_rng(0)
    chunk = rng.standard_normal((CHUNK, NB_CHANNEL)).astype("float32")
    return [chunk] * int(seconds * SAMPLE_RATE / CHUNK)


def bench_tofile(chunks, dirname):
    started = time.perf_counter()
    with open(os.path.join(dirname, "plain.raw"), "wb") as f:
        for chunk in chunks:
            chunk.tofile(f)
        os.fsync(f.fileno())
    return time.perf_counter() - started


def bench_recorder(type_name, chunks, dirname):
    output = OutputStream()
    output.configure(protocol="tcp", shape=(-1, NB_CHANNEL), dtype="float32", sample_rate=SAMPLE_RATE)
    recorder = get_node_type(type_name)(name=type_name)
    recorder.configure(streams={"sig": output}, dirname=os.path.join(dirname, type_name))
    recorder.initialize()
    recorder.start()
    track = recorder.tracks["sig"]
    started = time.perf_counter()
    for k, chunk in enumerate(chunks):
        if k >= 50:  # keep at most 50 chunks in flight: no queue overflows
            while (track.expected or 0) < (k - 50) * CHUNK:
                time.sleep(0.0005)
        output.send(chunk)
    recorder.stop()
    elapsed = time.perf_counter() - started
    assert track.position == len(chunks) * CHUNK, "samples were lost"
    recorder.close()
    output.close()
    return elapsed


def bench_lsl(chunks, through_pyacq, source_id):
    """Push ``chunks`` into a pylsl outlet and read them back with pylsl or with LslInlet."""
    import pylsl
    from pyacq.devices import LslInlet
    info = pylsl.StreamInfo("bench", "EEG", NB_CHANNEL, SAMPLE_RATE, "float32", source_id)
    outlet = pylsl.StreamOutlet(info, max_buffered=360)
    total = len(chunks) * CHUNK
    if through_pyacq:
        node = LslInlet(name="bench")
        node.configure(source_id=source_id)
        for output in node.outputs.values():
            output.configure(protocol="inproc")
        inp = InputStream()
        inp.connect(node.outputs["signals"])
        node.initialize()
        node.start()
    else:
        inlet = pylsl.StreamInlet(pylsl.resolve_byprop("source_id", source_id, 1, 10)[0])
        inlet.open_stream(timeout=10)
    started, received = time.perf_counter(), 0
    for chunk in chunks:
        outlet.push_chunk(chunk)
        received += drain(inp if through_pyacq else inlet, through_pyacq)
    while received < total and time.perf_counter() - started < 60:
        received += drain(inp if through_pyacq else inlet, through_pyacq, wait=True)
    elapsed = time.perf_counter() - started
    if through_pyacq:
        node.stop()
        node.close()
        inp.close()
    else:
        inlet.close_stream()
    return elapsed, received


def drain(source, through_pyacq, wait=False):
    """Samples read now (or within a short wait): pylsl at its fastest pulls into a buffer."""
    if through_pyacq:
        n = 0
        while source.poll(50 if wait and not n else 0):
            n += len(source.recv(return_data=True)[1])
        return n
    if not hasattr(source, "bench_buffer"):
        source.bench_buffer = np.empty((PYLSL_MAX_SAMPLES, NB_CHANNEL), dtype="float32")
    _, stamps = source.pull_chunk(timeout=0.05 if wait else 0.0, max_samples=PYLSL_MAX_SAMPLES,
                                  dest_obj=source.bench_buffer)
    return len(stamps)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    chunks = data_chunks(args.seconds)
    megabytes = sum(chunk.nbytes for chunk in chunks) / 1e6
    print(f"{args.seconds:g} s of {NB_CHANNEL} x float32 at {SAMPLE_RATE:g} Hz = {megabytes:.0f} MB")
    print(f"{'writer':<28}{'seconds':>10}{'MB/s':>10}{'x realtime':>12}")
    with tempfile.TemporaryDirectory() as dirname:
        rows = [("numpy.tofile", bench_tofile(chunks, dirname))]
        rows += [(name, bench_recorder(name, chunks, dirname)) for name in ("RawRecorder", "HDF5Recorder")]
    for name, elapsed in rows:
        print(f"{name:<28}{elapsed:>10.2f}{megabytes / elapsed:>10.1f}{args.seconds / elapsed:>12.1f}")
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as cfg:
        cfg.write("[multicast]\nResolveScope = machine\n[ports]\nIPv6 = disable\n")
    os.environ["LSLAPICFG"] = cfg.name
    try:
        bench_lsl_bridge(chunks)
    finally:
        os.unlink(cfg.name)


def bench_lsl_bridge(chunks):
    """pylsl alone and LslInlet alternate over LSL_ROUNDS rounds; medians and their ratio."""
    times = {False: [], True: []}
    for round_number in range(LSL_ROUNDS):
        for through in (False, True):
            elapsed, received = bench_lsl(chunks, through, f"bench-{round_number}-{through}")
            assert received == len(chunks) * CHUNK, f"LSL delivered {received} samples"
            times[through].append(elapsed)
    megabytes = sum(chunk.nbytes for chunk in chunks) / 1e6
    seconds = len(chunks) * CHUNK / SAMPLE_RATE
    for label, through in (("pylsl outlet -> pylsl inlet", False), ("pylsl outlet -> LslInlet", True)):
        elapsed = statistics.median(times[through])
        print(f"{label:<28}{elapsed:>10.2f}{megabytes / elapsed:>10.1f}{seconds / elapsed:>12.1f}")
    ratio = statistics.median(times[False]) / statistics.median(times[True])
    print(f"LslInlet / pylsl alone: {ratio:.2f} (medians of {LSL_ROUNDS} alternated rounds)")


if __name__ == "__main__":
    main()
