"""Soak: long streaming between processes must lose nothing and leak nothing.

Run: ``python benchmarks/soak.py [--minutes 30]`` (not part of the test suite).

A Manager spawns two NodeGroups. In ``sources``, three NumpyDeviceBuffer nodes
play the same deterministic signal (64 channels x 10 kHz, float32) through
plaindata tcp, plaindata ipc and sharedmem; in ``recorders``, one RawRecorder
per stream writes it to disk. Meanwhile this process runs a loop of RPC calls
that create proxies and drop them (remote objects made and released, node lists
fetched), and every ``--sample-interval`` seconds it samples, from /proc, the
RSS and the open file descriptors of every process of the run (this one, the
Manager, its Host, both NodeGroups and the Host's leftover cleaner), and the
size of the RPC object table of each one that has an RPC server.

At the end it prints one table and exits non-zero if a check fails:

* per stream: samples sent = received = recorded, and the recording equal, bit
  for bit, to the generator's signal;
* per stream: no gap, no lost sample, no shared-memory overrun, one segment;
* per process: RSS and fds flat after warm-up (last sample within
  ``GROWTH_LIMIT`` of the first sample after warm-up);
* per process: the object table back to its size before the RPC loop started;
* the same processes alive at the end as at the start (none exited, none left over).

The NodeGroups import this module by name (``server_state`` and friends run
there), so its folder is put on PYTHONPATH for the processes it spawns.
"""
import argparse
import gc
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from pyacq.core.rpc import RPCClient, RPCServer
from pyacq.devices.npbufferdevice import generate_test_signal
from pyacq.rec import open_recording

NB_CHANNEL, SAMPLE_RATE, CHUNKSIZE = 64, 10_000.0, 200
#: NumpyDeviceBuffer's default buffer: 10 s of generate_test_signal(), looped.
SIGNAL_SAMPLES = int(10 * SAMPLE_RATE)
ROUTES = {
    "plaindata_tcp": dict(transfermode="plaindata", protocol="tcp", interface="127.0.0.1"),
    "plaindata_ipc": dict(transfermode="plaindata", protocol="ipc"),
    "sharedmem": dict(transfermode="sharedmem", protocol="tcp", interface="127.0.0.1",
                      buffer_size=int(5 * SAMPLE_RATE), double=True),
}
#: Largest relative growth of RSS and of open fds between warm-up and the end.
GROWTH_LIMIT = 0.05
#: Pause between two rounds of the proxy-churning RPC loop (s).
CHURN_PAUSE = 0.05
#: Longest wait for the recorders to catch up with the sources, or the tables to settle (s).
SETTLE_TIMEOUT = 30.0
#: Samples compared at a time in the bit-exact check.
VERIFY_BLOCK = SIGNAL_SAMPLES


# -- run in every process (imported by name) ---------------------------------------------

def server_state():
    """``{'pid', 'objects'}``: this process and the size of its RPC server's object table.

    The table is the one of the server answering this call (the process's
    server); it counts the objects kept alive for remote proxies, which must
    come back to their baseline once the proxies are dropped.
    """
    return {"pid": os.getpid(), "objects": len(RPCServer.get_server()._objects)}


def sent_samples(device):
    """Index of the last sample *device* (a NumpyDeviceBuffer here) has sent + 1."""
    return device.output.last_index


def recorder_counts(recorder):
    """What the single-stream RawRecorder *recorder* and its input have seen, as plain values."""
    (track,) = recorder.tracks.values()
    filled = sum(gap["length"] for gap in track.gaps) if track.fills_gaps else 0
    return {"last_index": track.expected or 0, "received": track.position - filled,
            "recorder_gaps": len(track.gaps), "segments": list(track.segments),
            "input_gaps": track.input.gap_count, "lost_samples": track.input.lost_samples,
            "overruns": track.input.overrun_count}


class Scratch:
    """An object the RPC loop creates remotely, calls and drops."""

    def __init__(self):
        self.total = 0

    def add(self, value):
        self.total += value
        return self.total


# -- processes, seen from /proc -----------------------------------------------------------

def usage(pid):
    """``(RSS in bytes, open file descriptors)`` of process *pid*, or None once it has exited."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            rss = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        return rss, len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError):
        return None


def descendants(pid):
    """``{pid: program}`` of every live process descending from *pid* (zombies left out)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    arguments = cmdline.read().split(b"\0")
            except (FileNotFoundError, ProcessLookupError):
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append((int(entry), arguments))
    found, todo = {}, [pid]
    while todo:
        for child, arguments in children.get(todo.pop(), []):
            if child not in found:
                program = arguments[arguments.index(b"-m") + 1] if b"-m" in arguments else arguments[0]
                found[child] = program.decode(errors="replace").rsplit(".", 1)[-1]
                todo.append(child)
    return found


# -- the run ---------------------------------------------------------------------------

class Soak:
    """The processes, nodes and probes of one soak run (see the module docstring)."""

    def __init__(self, manager, dirname):
        self.manager = manager
        self.dirname = dirname
        self.sources_group = manager.create_nodegroup(name="sources", qt=False)
        self.recorders_group = manager.create_nodegroup(name="recorders", qt=False)
        self.devices, self.recorders = {}, {}
        for route, options in ROUTES.items():
            device = self.sources_group.create_node("NumpyDeviceBuffer", name=f"source_{route}")
            device.configure(nb_channel=NB_CHANNEL, sample_interval=1.0 / SAMPLE_RATE,
                             chunksize=CHUNKSIZE)
            device.output.configure(**options)
            device.initialize()
            recorder = self.recorders_group.create_node("RawRecorder", name=f"recorder_{route}")
            recorder.configure(streams={route: device.output}, dirname=os.path.join(dirname, route))
            recorder.initialize()
            self.devices[route], self.recorders[route] = device, recorder
        (host,) = manager.list_hosts()
        # The module proxies stay alive for the whole run: they are part of every baseline.
        self.remote = {name: RPCClient.get_client(proxy._rpc_addr)._import("soak")
                       for name, proxy in (("manager", manager), ("host", host),
                                           ("sources", self.sources_group),
                                           ("recorders", self.recorders_group))}
        self.churn_rounds = 0
        self.proxies_dropped = 0
        #: ``{name: pid}`` of every process of the run: those with an RPC server by their role,
        #: the others (the leftover cleaner...) by their program and pid.
        self.processes = {name: state["pid"] for name, state in self.server_states().items()}
        for pid, program in descendants(os.getpid()).items():
            if pid not in self.processes.values():
                name = program.lstrip("_")
                self.processes[name if name not in self.processes else f"{name}-{pid}"] = pid

    def server_states(self):
        """``{name: server_state()}`` of every process with an RPC server."""
        states = {"main": server_state()}
        states.update({name: module.server_state() for name, module in self.remote.items()})
        return states

    def states(self):
        """``{name: {'pid', 'rss', 'fds', 'objects'}}`` of every process of the run.

        ``rss`` and ``fds`` are None once a process has exited, ``objects`` is None
        for a process without an RPC server.
        """
        objects = {name: state["objects"] for name, state in self.server_states().items()}
        states = {}
        for name, pid in self.processes.items():
            rss, fds = usage(pid) or (None, None)
            states[name] = {"pid": pid, "rss": rss, "fds": fds, "objects": objects.get(name)}
        return states

    def start(self):
        for recorder in self.recorders.values():
            recorder.start()
        for device in self.devices.values():
            device.start()

    def churn(self):
        """One round of RPC calls, each creating proxies that are dropped at once."""
        for name in ("sources", "recorders"):
            scratch = self.remote[name].Scratch()
            scratch.add(1)
            self.proxies_dropped += 1
        for group in (self.sources_group, self.recorders_group):
            self.proxies_dropped += len(group.list_nodes())
        self.proxies_dropped += len(self.manager.list_nodegroups())
        self.churn_rounds += 1

    def stream_counts(self):
        """``{route: counts}``: samples sent, and what its recorder received and wrote."""
        counts = {}
        for route in ROUTES:
            counts[route] = self.remote["recorders"].recorder_counts(self.recorders[route])
            counts[route]["sent"] = self.remote["sources"].sent_samples(self.devices[route])
        return counts

    def stop(self):
        """Stop the sources, let the recorders take every sample sent, stop and close them."""
        for device in self.devices.values():
            device.stop()
        sent = {route: self.remote["sources"].sent_samples(device) for route, device in self.devices.items()}
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline:
            counts = self.stream_counts()
            if all(counts[route]["last_index"] >= sent[route] for route in ROUTES):
                break
            time.sleep(0.1)
        counts = self.stream_counts()
        for recorder in self.recorders.values():
            recorder.stop()
            recorder.close()
        return counts

    def settle_tables(self, baseline):
        """Object-table sizes once the dropped proxies are released (or at the timeout)."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            gc.collect()
            tables = {name: state["objects"] for name, state in self.server_states().items()}
            if all(tables[name] <= baseline[name] for name in baseline) or time.monotonic() > deadline:
                return tables
            time.sleep(0.2)


def verify_recording(dirname, route):
    """``(samples recorded, samples equal to the generator's)`` of one route's recording."""
    signal = generate_test_signal(SIGNAL_SAMPLES, NB_CHANNEL, SAMPLE_RATE)
    with open_recording(os.path.join(dirname, route)) as recording:
        data = recording[route].data
        recorded, equal = len(data), 0
        for start in range(0, recorded, VERIFY_BLOCK):
            block = np.asarray(data[start:start + VERIFY_BLOCK])
            expected = signal[np.arange(start, start + len(block)) % SIGNAL_SAMPLES]
            rows_equal = np.all(block.view(np.uint32) == expected.view(np.uint32), axis=1)
            equal += int(rows_equal.sum())
            del block
        del data
    return recorded, equal


def growth(before, after):
    """Relative change from *before* to *after* (a rise from 0 counts as 100 %)."""
    return (after - before) / before if before else float(after > before)


def report(counts, verified, samples, warmup_sample, tables_before, tables_after, soak, seconds,
           running):
    """Print the table; return True if every check passed (*running*: pids alive at the end)."""
    rows = []

    def check(name, value, limit, ok):
        rows.append((name, value, limit, "PASS" if ok else "FAIL"))

    for route, c in counts.items():
        recorded, equal = verified[route]
        check(f"{route}: sent / received / recorded", f"{c['sent']} / {c['received']} / {recorded}",
              "equal, > 0", c["sent"] == c["received"] == recorded > 0)
        check(f"{route}: bit-exact samples", f"{equal} / {recorded}", "all", equal == recorded > 0)
        gaps = c["input_gaps"] + c["recorder_gaps"]
        check(f"{route}: gaps / lost / overruns", f"{gaps} / {c['lost_samples']} / {c['overruns']}",
              "0 / 0 / 0", gaps == c["lost_samples"] == c["overruns"] == 0)
        starts = [segment["index"] for segment in c["segments"]]
        check(f"{route}: segments (start index)", str(starts), "[0]", starts == [0])
    first, last = samples[warmup_sample][1], samples[-1][1]
    for name in first:
        if any(sample[name]["rss"] is None for _, sample in samples):
            check(f"{name} (pid {first[name]['pid']})", "exited during the run", "alive", False)
            continue
        for key, shown in (("rss", lambda rss: f"{rss / 1e6:.1f} MB"), ("fds", str)):
            before, after = first[name][key], last[name][key]
            peak = max(sample[name][key] for _, sample in samples[warmup_sample:])
            change = growth(before, after)
            check(f"{name} (pid {first[name]['pid']}): {key}",
                  f"{shown(before)} -> {shown(after)} ({change:+.1%}, peak {shown(peak)})",
                  f"< {GROWTH_LIMIT:.0%}", change < GROWTH_LIMIT)
        if name in tables_before:
            peak_objects = max(sample[name]["objects"] for _, sample in samples)
            check(f"{name}: object table", f"{tables_before[name]} -> {tables_after[name]} "
                  f"(peak {peak_objects})", "baseline", tables_after[name] <= tables_before[name])
    started = set(soak.processes.values())
    check("processes", f"{len(started)} at start, {len(running)} at the end", "same",
          running == started)
    width = max(len(row[0]) for row in rows) + 2
    value_width = max(len(row[1]) for row in rows) + 2
    print()
    print(f"soak: {seconds / 60:.1f} min, {NB_CHANNEL} ch x {SAMPLE_RATE:g} Hz float32 per stream, "
          f"{len(samples)} samples (warm-up: first {warmup_sample}), {soak.churn_rounds} RPC rounds "
          f"({soak.proxies_dropped} proxies created and dropped)")
    print(f"{'check':<{width}}{'value':<{value_width}}{'limit':<12}result")
    for name, value, limit, result in rows:
        print(f"{name:<{width}}{value:<{value_width}}{limit:<12}{result}")
    passed = all(row[3] == "PASS" for row in rows)
    print("all checks passed" if passed else "SOME CHECKS FAILED")
    return passed


def run(minutes, sample_interval, warmup, dirname):
    """Soak for *minutes*; return True if every check passed."""
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, os.environ.get("PYTHONPATH")) if p)
    from pyacq.core.manager import create_manager
    manager = create_manager(auto_close_at_exit=False)
    try:
        soak = Soak(manager, dirname)
        tables_before = {name: state["objects"] for name, state in soak.server_states().items()}
        soak.start()
        started = time.monotonic()
        duration = minutes * 60.0
        samples = [(0.0, soak.states())]
        next_sample = started + sample_interval
        while (now := time.monotonic()) < started + duration:
            if now >= next_sample:
                samples.append((now - started, soak.states()))
                progress(samples[-1], soak.stream_counts())
                next_sample += sample_interval
            soak.churn()
            time.sleep(CHURN_PAUSE)
        samples.append((time.monotonic() - started, soak.states()))
        seconds = time.monotonic() - started
        counts = soak.stop()
        tables_after = soak.settle_tables(tables_before)
        warmup_sample = next((i for i, (t, _) in enumerate(samples) if t >= warmup), len(samples) - 1)
        verified = {route: verify_recording(dirname, route) for route in ROUTES}
        running = set(descendants(os.getpid())) | {os.getpid()}
        return report(counts, verified, samples, warmup_sample, tables_before, tables_after, soak,
                      seconds, running)
    finally:
        manager.close()
        server = RPCServer.get_server()
        if server is not None:
            server.close()


def progress(sample, counts):
    """One line per sample, so that a long run shows where it is."""
    seconds, states = sample
    memory = " ".join(f"{name}={(state['rss'] or 0) / 1e6:.0f}MB/{state['fds']}fd"
                      + ("" if state["objects"] is None else f"/{state['objects']}obj")
                      for name, state in states.items())
    streams = " ".join(f"{route}={c['received']}/{c['sent']}" for route, c in counts.items())
    print(f"[{seconds:7.1f} s] {memory} | received/sent {streams}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="length of the run (default 30)")
    parser.add_argument("--sample-interval", type=float, default=10.0,
                        help="seconds between two samples of every process (default 10)")
    parser.add_argument("--warmup", type=float, default=120.0,
                        help="seconds before the first sample that growth is measured from "
                             "(default 120; the last sample if the run is shorter)")
    parser.add_argument("--dirname", default=None,
                        help="where the recordings go (default: a temporary directory, removed)")
    args = parser.parse_args()
    if args.dirname is not None:
        passed = run(args.minutes, args.sample_interval, args.warmup, os.path.abspath(args.dirname))
    else:
        with tempfile.TemporaryDirectory(prefix="pyacq-soak-") as dirname:
            passed = run(args.minutes, args.sample_interval, args.warmup, dirname)
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
