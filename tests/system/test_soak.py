"""benchmarks/soak.py runs as a user runs it (for a few seconds), and its checks fail when they should.

The 30-minute run is not part of the suite; this one proves the script works end to end
(processes spawned, streams recorded, every process sampled, the recordings checked bit
for bit, everything closed) and that its verdict follows the figures.
"""
import os
import shutil
import subprocess
import sys
import time
import types
import uuid
from pathlib import Path

import pytest
from process_checks import assert_no_leftovers_since, leftovers, processes_tagged, wait_until

BENCHMARKS_DIR = Path(__file__).resolve().parents[2] / "benchmarks"
MARKER_VARIABLE = "PYACQ_SOAK_TEST_MARKER"
RUN_TIMEOUT = 120.0


@pytest.fixture
def soak_module(importable_in_children):
    """benchmarks/soak.py imported as a module."""
    importable_in_children(str(BENCHMARKS_DIR))
    import soak
    return soak


def test_short_soak_passes_and_leaves_nothing(tmp_path):
    """A 6-second soak exits with 0, reports every stream sent = received = recorded and
    bit-exact with no gap, samples every process of the run (the five RPC servers' object
    tables too), and leaves no process or file behind."""
    files_before = leftovers()
    marker = uuid.uuid4().hex
    recordings = tmp_path / "recordings"
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [sys.executable, str(BENCHMARKS_DIR / "soak.py"), "--minutes", "0.1", "--sample-interval", "1",
             "--dirname", str(recordings)],
            env={**os.environ, MARKER_VARIABLE: marker, "PYTHONUNBUFFERED": "1"}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=RUN_TIMEOUT, check=False)
    finally:
        shutil.rmtree(recordings, ignore_errors=True)  # about 50 MB of samples
    print(f"soak --minutes 0.1 took {time.monotonic() - started:.1f} s")
    output = proc.stdout
    assert proc.returncode == 0, output
    assert "all checks passed" in output, output
    for route in ("plaindata_tcp", "plaindata_ipc", "sharedmem"):
        for check in ("sent / received / recorded", "bit-exact samples", "gaps / lost / overruns"):
            assert any(line.startswith(f"{route}: {check}") and line.endswith("PASS")
                       for line in output.splitlines()), f"{route}: {check} not passed:\n{output}"
    for process in ("main", "manager", "host", "sources", "recorders"):
        assert f"{process}: object table" in output, output
    assert "leftover_cleaner (pid" in output, output
    assert wait_until(lambda: not processes_tagged(MARKER_VARIABLE, marker), 30.0), \
        f"soak left processes running: {processes_tagged(MARKER_VARIABLE, marker)}"
    assert_no_leftovers_since(files_before)


def _figures(sent=1000, received=1000, recorded=1000, equal=1000, lost=0, rss_end=100, objects_end=3,
             running=(1,)):
    counts = {"tcp": {"sent": sent, "received": received, "last_index": sent, "recorder_gaps": 0,
                      "input_gaps": 0, "lost_samples": lost, "overruns": 0,
                      "segments": [{"index": 0, "position": 0, "reason": "recorder started"}]}}
    state = {"pid": 1, "rss": 100, "fds": 10, "objects": 3}
    samples = [(0.0, {"main": state}), (10.0, {"main": {**state, "rss": rss_end}})]
    soak = types.SimpleNamespace(churn_rounds=1, proxies_dropped=1, processes={"main": 1})
    return (counts, {"tcp": (recorded, equal)}, samples, 0, {"main": 3}, {"main": objects_end}, soak, 10.0,
            set(running))


@pytest.mark.parametrize("changed, passes", [
    ({}, True),
    ({"received": 999}, False),
    ({"recorded": 999, "equal": 999}, False),
    ({"equal": 999}, False),
    ({"lost": 1}, False),
    ({"rss_end": 106}, False),
    ({"objects_end": 4}, False),
    ({"running": (1, 2)}, False),
    ({"rss_end": None}, False),
])
def test_report_fails_on_any_loss_or_growth(soak_module, capsys, changed, passes):
    """The verdict is False as soon as one figure is off: a sample not received, not recorded or
    not equal to the signal, a lost sample, RSS grown by 6 %, one object left in a table, one
    process more at the end, a process that exited."""
    assert soak_module.report(*_figures(**changed)) is passes
    output = capsys.readouterr().out
    assert ("all checks passed" in output) is passes, output
