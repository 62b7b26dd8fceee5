"""A dying NodeGroup is reported; every way of ending the application leaves nothing behind."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
from process_checks import (
    assert_all_gone,
    assert_no_leftovers_since,
    descendants,
    leftovers,
    leftovers_since,
    pyacq_descendants,
    wait_until,
)
from pyacq.core.stream import InputStream


def streaming_device(nodegroup, transfermode="plaindata"):
    dev = nodegroup.create_node("NumpyDeviceBuffer")
    dev.configure(nb_channel=2, sample_interval=0.001, chunksize=20)
    extra = {"buffer_size": 10000} if transfermode == "sharedmem" else {}
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode=transfermode, **extra)
    dev.initialize()
    return dev


def test_killed_nodegroup_is_reported_and_others_keep_streaming(manager, log_records):
    """A NodeGroup killed with SIGKILL is listed as dead with its exit code and logged within
    2 s; its shared memory is removed; another NodeGroup keeps streaming."""
    victim_group = manager.create_nodegroup(name="victim", qt=False)
    survivor_group = manager.create_nodegroup(name="survivor", qt=False)
    streaming_device(victim_group, "sharedmem")
    survivor = streaming_device(survivor_group)
    receiver = InputStream()
    receiver.connect(survivor.output)
    try:
        manager.start_all()
        assert receiver.poll(10000)
        victim_pid = manager.describe_nodegroups()["victim"]["pid"]
        assert wait_until(lambda: any(p.startswith(f"/dev/shm/pyacq-{victim_pid}-") for p in leftovers()), 10)
        os.kill(victim_pid, signal.SIGKILL)
        killed = time.monotonic()
        assert wait_until(lambda: "victim" in manager.list_dead_nodegroups(), 10)
        assert time.monotonic() - killed < 2.0
        assert manager.list_dead_nodegroups() == {"victim": -signal.SIGKILL}
        assert wait_until(lambda: any("'victim'" in r.getMessage() and "exit code -9" in r.getMessage()
                                      for r in log_records), 10)
        assert not any(p.startswith(f"/dev/shm/pyacq-{victim_pid}-") for p in leftovers())
        receiver.empty_queue()
        index_after_kill = receiver.recv()[0] if receiver.poll(5000) else None
        assert receiver.poll(5000)
        assert receiver.recv()[0] > index_after_kill
        assert survivor_group.any_node_running()
        assert [n for n in manager.describe_nodegroups() if manager.describe_nodegroups()[n]["alive"]] == ["survivor"]
        manager.stop_all()
    finally:
        receiver.close()


def test_failed_remote_node_reads_as_failed_through_its_proxy(manager, log_records):
    """A device whose sending thread dies in a NodeGroup process (its output closed under it)
    is 'failed' through its proxy: running() is False, error_message() names the thread and the
    exception, and the failure reaches the Manager's log server once; stop() then works."""
    group = manager.create_nodegroup(name="amps", qt=False)
    dev = group.create_node("NumpyDeviceBuffer", name="amp")
    dev.configure(nb_channel=2, sample_interval=0.001, chunksize=20)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    dev.start()
    assert dev.running() and dev.error_message() is None
    dev.output.close()
    assert wait_until(dev.failed, 10)
    assert not dev.running()
    assert dev.error_message().startswith("thread 'amp-send' failed: StreamStateError")
    assert wait_until(lambda: any("'amp-send' failed" in r.getMessage() for r in log_records), 10)
    assert sum("'amp-send' failed" in r.getMessage() for r in log_records) == 1
    dev.stop()
    assert dev.initialized() and not dev.failed()


def test_manager_close_ends_every_process(manager):
    """manager.close() ends the NodeGroups (running nodes included), the default Host, the
    Manager process and the watchdog; their shared memory and ipc files are removed."""
    for name in ("a", "b"):
        group = manager.create_nodegroup(name=name, qt=name == "b")
        dev = streaming_device(group, "sharedmem")
        dev.start()
    ipc_group = manager.create_nodegroup(name="ipc", qt=False)
    ipc_dev = ipc_group.create_node("NumpyDeviceBuffer")
    ipc_dev.configure(nb_channel=2)
    ipc_dev.output.configure(protocol="ipc", transfermode="plaindata")
    pids = pyacq_descendants(os.getpid())
    assert len(pids) >= 6  # manager, default host, watchdog, 3 NodeGroups
    manager.close()
    assert_all_gone(pids)


SCRIPT = """
    import os, sys, time
    from pyacq.core.manager import create_manager
    man = create_manager()
    for name in ("x", "y"):
        group = man.create_nodegroup(name=name, qt=False)
        dev = group.create_node("NumpyDeviceBuffer")
        dev.configure(nb_channel=2, sample_interval=0.001, chunksize=20)
        dev.output.configure(protocol="ipc" if name == "x" else "tcp", transfermode="sharedmem",
                             buffer_size=5000)
        dev.initialize()
        dev.start()
    print("ready", flush=True)
    if sys.argv[1] == "wait":
        time.sleep(600)
"""


def run_application(mode):
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(SCRIPT), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_application_exiting_normally_leaves_nothing():
    """An application that exits without closing its Manager leaves no process and no file."""
    before = leftovers()
    app = run_application("exit")
    try:
        assert app.stdout.readline().strip() == "ready"
        pids = descendants(app.pid)
        assert app.wait(60) == 0
    finally:
        app.kill()
    assert_all_gone(pids)
    assert_no_leftovers_since(before)


def test_application_killed_leaves_nothing():
    """An application killed with SIGKILL leaves no process running, and its NodeGroups'
    shared memory and ipc files are removed."""
    before = leftovers()
    app = run_application("wait")
    try:
        assert app.stdout.readline().strip() == "ready"
        pids = descendants(app.pid)
        assert len(pids) >= 5
        assert wait_until(lambda: len(leftovers_since(before)) >= 2, 10)
    finally:
        app.kill()
        app.wait(10)
    assert_all_gone(pids)
    assert_no_leftovers_since(before)


def test_sample_values_survive_the_round_trip(manager):
    """Control check for the kill tests: a NodeGroup's device sends the values it was given."""
    group = manager.create_nodegroup(name="values", qt=False)
    dev = group.create_node("NumpyDeviceBuffer")
    buffer = np.arange(40, dtype="float32").reshape(20, 2)
    dev.configure(nb_channel=2, sample_interval=0.001, chunksize=20, buffer=buffer)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    receiver = InputStream()
    receiver.connect(dev.output)
    try:
        dev.start()
        assert receiver.poll(10000)
        assert receiver.recv()[1].tobytes() == buffer.tobytes()
        dev.stop()
    finally:
        receiver.close()
