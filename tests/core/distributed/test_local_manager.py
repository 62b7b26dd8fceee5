"""create_manager('local'): the Manager lives in this process and drives spawned NodeGroups."""
import os

import numpy as np
import pytest
from process_checks import assert_all_gone, descendants, pid_alive
from pyacq.core.manager import Manager, create_manager
from pyacq.core.rpc.proxy import ObjectProxy
from pyacq.core.stream import InputStream


def test_local_manager_drives_a_spawned_nodegroup_and_close_leaves_nothing(local_manager):
    """The local Manager is a plain Manager of this process; the NodeGroup it creates is a real
    process whose device streams here bit-exactly; close() ends the NodeGroup and the default
    Host, after which the Manager refuses new work."""
    assert isinstance(local_manager, Manager) and not isinstance(local_manager, ObjectProxy)
    before = descendants(os.getpid())
    nodegroup = local_manager.create_nodegroup(name="local-managed", qt=False)
    assert local_manager.list_nodegroups() == [nodegroup]
    table = local_manager.describe_nodegroups()
    pid = table["local-managed"]["pid"]
    assert table["local-managed"]["alive"] and pid in descendants(os.getpid())
    buffer = (np.arange(4000, dtype="float32").reshape(1000, 4) - 2000.0) / 7.0
    dev = nodegroup.create_node("NumpyDeviceBuffer", name="dev")
    dev.configure(nb_channel=4, sample_interval=0.0005, chunksize=50, buffer=buffer)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    receiver = InputStream()
    receiver.connect(dev.output)
    try:
        local_manager.start_all()
        chunks, indexes = [], []
        while sum(map(len, chunks)) < 1500:
            assert receiver.poll(10000), "no chunk from the NodeGroup within 10 s"
            index, chunk = receiver.recv(return_data=True)
            indexes.append(index)
            chunks.append(np.array(chunk))
        local_manager.stop_all()
    finally:
        receiver.close()
    data = np.concatenate(chunks)
    assert data.tobytes() == np.resize(buffer, data.shape).tobytes()
    assert indexes == list(range(50, 50 * (len(indexes) + 1), 50))
    started = descendants(os.getpid()) - before
    local_manager.close()
    assert_all_gone(started)
    assert not pid_alive(pid)
    with pytest.raises(RuntimeError, match="Manager is closed"):
        local_manager.create_nodegroup(name="too-late", qt=False)
    local_manager.close()


def test_local_mode_is_checked_by_name():
    """An unknown mode is refused, naming the modes that exist, before anything is started."""
    before = descendants(os.getpid())
    with pytest.raises(ValueError, match="mode must be 'rpc' or 'local', not 'remote'"):
        create_manager("remote", auto_close_at_exit=False)
    assert descendants(os.getpid()) == before
