"""How a Host spawns NodeGroup processes: each child's own environment, and a lock held only
around the Host's records, so that the Host keeps answering while a NodeGroup starts."""
import os

import pyacq
import pytest
from process_checks import assert_gone, environ_read_only
from pyacq.core.host import Host
from pyacq.core.rpc import RPCClient


@pytest.fixture
def host():
    """A Host of this process (no RPC server), closed at teardown."""
    made = Host("spawning")
    yield made
    made.close()


def child_module(nodegroup, name):
    """A proxy to the module *name* in a NodeGroup's process."""
    return RPCClient.get_client(nodegroup._rpc_addr)._import(name)


def test_nodegroup_process_gets_its_own_environment(host, tmp_path, monkeypatch):
    """The NodeGroup process gets a private TMPDIR through its own environment, while this
    process's os.environ is never written; its PYTHONPATH is this process's, without the
    folders holding a pyacq package (such as a temporary folder with a checkout in it)."""
    checkout = tmp_path / "checkout"
    (checkout / "pyacq").mkdir(parents=True)
    monkeypatch.syspath_prepend(str(checkout))
    monkeypatch.setattr(pyacq, "__path__", [*pyacq.__path__, str(checkout / "pyacq")])
    parent_tmpdir = os.environ.get("TMPDIR")
    parent_pythonpath = os.environ.get("PYTHONPATH")
    with environ_read_only(monkeypatch):
        nodegroup = host.create_nodegroup("environment", qt=False)
    remote_os = child_module(nodegroup, "os")
    child_tmpdir = remote_os.environ.get("TMPDIR")
    assert os.path.basename(child_tmpdir).startswith("pyacq-nodegroup-")
    assert child_tmpdir != parent_tmpdir and os.environ.get("TMPDIR") == parent_tmpdir
    assert remote_os.environ.get("PYTHONPATH") == parent_pythonpath
    child_path = child_module(nodegroup, "sys").path._get_value()
    assert str(checkout) not in child_path
    pid = host.describe_nodegroups()["environment"]["pid"]
    host.close_nodegroup("environment")
    assert_gone(pid)


def test_host_answers_while_a_nodegroup_starts(host, gated_python):
    """While a NodeGroup's process is starting, the Host lists and checks its processes at
    once, and refuses at once a second NodeGroup of the same name, naming it; once started
    the NodeGroup is listed."""
    with gated_python.spawning(
            lambda executable: host.create_nodegroup("slow", qt=False, executable=executable)) as slow:
        assert host.list_nodegroups() == []
        assert host.check_spawners() == {}
        with pytest.raises(ValueError, match="already runs a NodeGroup named 'slow'"):
            host.create_nodegroup("slow", qt=False)
        assert slow.in_progress(), "the Host answered only once the slow NodeGroup had started"
    nodegroup = slow.result()
    assert host.list_nodegroups() == ["slow"]
    assert nodegroup.list_nodes() == []
