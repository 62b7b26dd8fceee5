"""Calls to a NodeGroup whose process died fail at once, naming the group and its exit code."""
import os
import signal
import time

import pytest
from pyacq.core.rpc.errors import RemoteProcessDied

#: A call to a dead NodeGroup must fail well before the proxies' 10 s default timeout.
PROMPT = 2.0


def _streaming_device(nodegroup):
    dev = nodegroup.create_node("NumpyDeviceBuffer")
    dev.configure(nb_channel=2, sample_interval=0.001, chunksize=20)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    return dev


def _assert_names_the_group(error, nodegroup, name):
    message = str(error)
    for part in (repr(name), nodegroup._rpc_addr, "SIGKILL", "exit code -9"):
        assert part in message, f"{part!r} missing from: {message}"


def test_call_to_a_killed_streaming_nodegroup_fails_at_once(manager):
    """SIGKILL a streaming NodeGroup, then call its node at once (before the Manager may have
    noticed): RemoteProcessDied within PROMPT s, naming the group, its address and the signal;
    it is also a TimeoutError, what the call raised after 10 s before."""
    nodegroup = manager.create_nodegroup(name="doomed", qt=False)
    dev = _streaming_device(nodegroup)
    dev.start()
    os.kill(manager.describe_nodegroups()["doomed"]["pid"], signal.SIGKILL)
    start = time.monotonic()
    with pytest.raises(RemoteProcessDied) as caught:
        dev.stop()
    assert time.monotonic() - start < PROMPT
    _assert_names_the_group(caught.value, nodegroup, "doomed")
    assert isinstance(caught.value, TimeoutError)
    assert manager.list_dead_nodegroups() == {"doomed": -signal.SIGKILL}


def test_call_to_a_nodegroup_the_manager_lists_as_dead_fails_at_once(manager):
    """Once the Manager lists the NodeGroup as dead, a call on any proxy of it (the group, a
    node never used since its creation) fails within PROMPT s with its name and exit code."""
    nodegroup = manager.create_nodegroup(name="gone", qt=False)
    dev = _streaming_device(nodegroup)
    os.kill(manager.describe_nodegroups()["gone"]["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while "gone" not in manager.list_dead_nodegroups():
        assert time.monotonic() < deadline, "the Manager did not notice the death"
    for call in (lambda: dev.start(), lambda: nodegroup.list_nodes()):
        start = time.monotonic()
        with pytest.raises(RemoteProcessDied) as caught:
            call()
        assert time.monotonic() - start < PROMPT
        _assert_names_the_group(caught.value, nodegroup, "gone")
