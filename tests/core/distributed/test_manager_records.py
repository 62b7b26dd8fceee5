"""The Manager works from its own records: it knows a NodeGroup by what it and its Hosts
created, and holds its lock only while it reads or changes them, never during a spawn."""
import os
import signal

import pytest
from process_checks import wait_until
from pyacq.core.rpc import RemoteCallException
from pyacq.core.rpc.server import RPCServer
from pyacq.core.rpc.spawner import ProcessSpawner


class NodeGroup:
    """Not pyacq's NodeGroup, though the name of its type ends the same way."""

    def __init__(self):
        self.calls = []

    def create_node(self, *args, **kwds):
        self.calls.append(args)


def test_create_node_finds_nodegroups_by_the_records_not_by_type_name(manager):
    """create_node(host=...) takes a NodeGroup the Manager created, or one a Host of the Manager
    created directly; an object whose type is merely named NodeGroup is not taken for one (its
    create_node is never called), and leaves no trace among the Manager's Hosts."""
    own = manager.create_nodegroup(name="own", qt=False)
    host = manager.list_hosts()[0]
    direct = host.create_nodegroup("direct", qt=False)
    manager.create_node("SineGenerator", host=own, name="on-own")
    manager.create_node("SineGenerator", host=direct, name="on-direct")
    assert [node.name for node in own.list_nodes()] == ["on-own"]
    assert [node.name for node in direct.list_nodes()] == ["on-direct"]
    impostor = NodeGroup()
    with pytest.raises(RemoteCallException):
        manager.create_node("SineGenerator", host=RPCServer.get_server().get_proxy(impostor))
    assert impostor.calls == []
    assert manager.list_hosts() == [host]
    assert manager.list_nodegroups() == [own]
    host.close_nodegroup("direct")


def test_manager_answers_while_a_nodegroup_starts(local_manager, gated_python, log_records):
    """While a NodeGroup is slow to start on one Host: the Manager lists its NodeGroups,
    refuses at once a second NodeGroup of the same name (naming it), creates another NodeGroup
    on another Host, and its watcher reports that one's death; then the slow one is listed."""
    side = ProcessSpawner(name="side-host")
    side_host = side.client._import("pyacq.core.distributed.host").create_spawned_host("side")

    def create_slow(executable):
        return local_manager.create_nodegroup("slow", host=side_host, qt=False, executable=executable)

    with gated_python.spawning(create_slow) as slow:
        assert local_manager.list_nodegroups() == []
        with pytest.raises(ValueError, match="already has a NodeGroup named 'slow'"):
            local_manager.create_nodegroup("slow", qt=False)
        fast = local_manager.create_nodegroup("fast", qt=False)
        assert local_manager.list_nodegroups() == [fast]
        os.kill(local_manager.describe_nodegroups()["fast"]["pid"], signal.SIGKILL)
        assert wait_until(lambda: any(r.getMessage().startswith("Manager: NodeGroup 'fast'")
                                      and "died" in r.getMessage() for r in log_records), 30)
        assert slow.in_progress(), "the Manager answered only once the slow NodeGroup had started"
    try:
        assert local_manager.list_nodegroups() == [slow.result()]
        assert local_manager.list_dead_nodegroups() == {"fast": -signal.SIGKILL}
        local_manager.close()
    finally:
        side_host.close()
        side.close()


def test_a_failed_spawn_frees_the_name(manager, tmp_path):
    """A NodeGroup whose process cannot start is not recorded, by the Manager nor by its Host:
    its name may be used again at once."""
    with pytest.raises(RemoteCallException, match="missing-python"):
        manager.create_nodegroup("retried", qt=False, executable=str(tmp_path / "missing-python"))
    assert manager.list_nodegroups() == [] and manager.list_hosts()[0].list_nodegroups() == []
    retried = manager.create_nodegroup("retried", qt=False)
    assert manager.list_nodegroups() == [retried]
