"""Chaos: the network link to another host is cut for 3 s, then restored.

A Host served in a network namespace of its own (another machine as far as
the network goes) runs a NodeGroup whose NumpyDeviceBuffer streams over tcp to
an InputStream here. The veth link between the two namespaces is taken down
for 3 s and brought back up. What must hold: the stream resumes by itself, the
samples the InputStream counts as lost are exactly the samples that never
arrived (read from the indexes and the known signal received, possibly 0: TCP
retransmits what it can), the data received is the data sent, RPC calls work
again, and no process, file, namespace or link is left.
"""
import os
import shutil
import subprocess
import time

import numpy as np
import pytest
from chunk_log import ChunkLog
from host_servers import start_host_server, stop_host_server
from process_checks import wait_until
from pyacq.core.rpc.connection_check import HEARTBEAT_INTERVAL_MS
from pyacq.core.stream import InputStream

CUT_SECONDS = 3.0
#: The device's buffer: channel 0 holds the sample's index (modulo its length), exactly.
BUFFER_SAMPLES = 1 << 20
NAME = f"chaosio{os.getpid() % 100000}"
#: A /30 of its own per test process, so that runs at the same time do not share a route.
SUBNET = f"10.214.{(os.getpid() >> 6) % 256}.{(os.getpid() % 64) * 4}"
OUTSIDE_IP = SUBNET.rsplit(".", 1)[0] + f".{int(SUBNET.rsplit('.', 1)[1]) + 1}"
INSIDE_IP = SUBNET.rsplit(".", 1)[0] + f".{int(SUBNET.rsplit('.', 1)[1]) + 2}"


def _ip(*args):
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=True)


def _namespaces():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=30,
                          check=True).stdout


class CuttableLink:
    """A network namespace joined to this one by a veth pair whose link can be cut.

    The cut takes the inside end down: the outside end loses its carrier but keeps its
    route, so packets towards the namespace are dropped, as on a pulled cable. (Taking
    the outside end down would remove that route, and connection attempts would then
    follow the default route off the machine, where something may refuse them: a
    Manager would take the Host's port for closed.)"""

    def __init__(self, name):
        self.namespace = f"pyacq-{name}"
        self.outside = f"{name}a"
        self.inside = f"{name}b"
        self.prefix = ["ip", "netns", "exec", self.namespace]

    def create(self):
        _ip("netns", "add", self.namespace)
        _ip("link", "add", self.outside, "type", "veth", "peer", "name", self.inside)
        _ip("link", "set", self.inside, "netns", self.namespace)
        _ip("addr", "add", f"{OUTSIDE_IP}/30", "dev", self.outside)
        _ip("link", "set", self.outside, "up")
        _ip("-n", self.namespace, "addr", "add", f"{INSIDE_IP}/30", "dev", self.inside)
        _ip("-n", self.namespace, "link", "set", self.inside, "up")
        _ip("-n", self.namespace, "link", "set", "lo", "up")

    def cut(self):
        _ip("-n", self.namespace, "link", "set", self.inside, "down")

    def restore(self):
        _ip("-n", self.namespace, "link", "set", self.inside, "up")

    def forget_connections(self, port):
        """Inside the namespace, abort every tcp connection of local *port* (ss -K): the
        publisher's host forgets the connection while this side still holds it open."""
        result = subprocess.run([*self.prefix, "ss", "-K", "-t", "sport", "=", f":{port}"],
                                capture_output=True, text=True, timeout=30, check=True)
        return result.stdout

    def remove(self):
        subprocess.run(["ip", "link", "del", self.outside], capture_output=True, timeout=30, check=False)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=30,
                       check=False)


@pytest.fixture
def cuttable_link():
    """A CuttableLink (namespace and veth pair removed afterwards, and checked gone)."""
    if shutil.which("ip") is None:
        pytest.skip("the `ip` command (iproute2) is missing: cannot create a network namespace")
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root (ip netns add)")
    link = CuttableLink(NAME)
    try:
        link.create()
    except subprocess.CalledProcessError as exc:
        link.remove()
        pytest.skip(f"cannot set up a network namespace here: {exc.stderr.strip()}")
    try:
        yield link
    finally:
        link.remove()
    assert link.namespace not in _namespaces()
    assert not os.path.exists(f"/sys/class/net/{link.outside}")


SCENARIOS = {
    # A slow stream: what is sent during the cut fits in the socket buffers; TCP retransmits it.
    "slow": dict(sample_rate=1000.0, chunksize=20, forget=False),
    # A fast stream: the publisher's queue for this reader (1000 messages) overflows during the
    # cut, so ZeroMQ drops whole chunks; the InputStream must count exactly those.
    "overflowing": dict(sample_rate=10_000.0, chunksize=5, forget=False),
    # The device's host forgets the stream's and the RPC connections during the cut (as a
    # firewall or a NAT would, or a peer that gave up): only this side's pings can notice.
    "forgotten": dict(sample_rate=1000.0, chunksize=20, forget=True),
}


@pytest.mark.timeout(240)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_stream_resumes_after_link_cut_with_exact_gap(manager, cuttable_link, scenario):
    """After a 3 s cut of the link to the device's host, the tcp stream resumes by itself
    (within 5 s of the restore; in the 'forgotten' case within 3 heartbeat intervals + 5 s),
    the InputStream's lost_samples equals the samples that really never arrived (possibly 0),
    every chunk received holds the known signal of its index, an RPC call made during the cut
    times out while those after the restore succeed (in the 'forgotten' case, where no call is
    made during the cut, the first call, made two ping intervals after the restore, succeeds),
    the device still runs, the Manager lists no dead NodeGroup, and the input reports its
    source connected."""
    params = SCENARIOS[scenario]
    host_proc, host_addr = start_host_server(f"tcp://{INSIDE_IP}:*", prefix=cuttable_link.prefix)
    try:
        group = manager.create_nodegroup(name="far", host=manager.add_host(host_addr), qt=False)
        buffer = np.zeros((BUFFER_SAMPLES, 2), "float32")
        buffer[:, 0] = np.arange(BUFFER_SAMPLES)
        dev = group.create_node("NumpyDeviceBuffer", name="far_dev")
        dev.configure(nb_channel=2, sample_interval=1.0 / params["sample_rate"],
                      chunksize=params["chunksize"], buffer=buffer)
        dev.output.configure(protocol="tcp", interface=INSIDE_IP, transfermode="plaindata")
        dev.initialize()
        port = dev.output.params["url"].rsplit(":", 1)[1]
        receiver = InputStream(name="far-signals")
        receiver.connect(dev.output)
        log = ChunkLog(receiver, BUFFER_SAMPLES)
        log.start()
        try:
            dev.start()
            assert wait_until(lambda: len(log.chunks) >= 50, 30), "the stream did not start"
            cut_at = time.monotonic()
            cuttable_link.cut()
            if params["forget"]:
                # No call during the cut here: its retransmission would meet the reset.
                assert port in cuttable_link.forget_connections(port)
                rpc_port = group._rpc_addr.rsplit(":", 1)[1]
                assert rpc_port in cuttable_link.forget_connections(rpc_port)
            else:
                with pytest.raises(TimeoutError):
                    dev.running(_timeout=1.0)
            time.sleep(max(0.0, cut_at + CUT_SECONDS - time.monotonic()))
            cuttable_link.restore()
            restored_at = time.monotonic()
            resume_limit = 5.0 + (3 * HEARTBEAT_INTERVAL_MS / 1000 if params["forget"] else 0.0)
            assert wait_until(lambda: log.received_after(restored_at), resume_limit + 30), \
                "the stream did not resume after the link was restored"
            resumed_after = log.received_after(restored_at)[0][0] - restored_at
            if params["forget"]:
                # The RPC connection the NodeGroup forgot is replaced within a ping interval
                # of the restore: a call made after two intervals is not lost on it.
                time.sleep(max(0.0, restored_at + 2 * HEARTBEAT_INTERVAL_MS / 1000 - time.monotonic()))
            assert dev.running(_timeout=10.0) is True
            assert wait_until(lambda: len(log.received_after(restored_at)) >= 50, 30)
            assert len(group.list_nodes()) == 1
            assert manager.list_dead_nodegroups() == {}
            dev.stop()
            assert wait_until(lambda: not receiver.poll(0) and log.chunks
                              and time.monotonic() - log.chunks[-1][0] > 0.5, 30)
        finally:
            log.finish()
            receiver.close()
        really_lost = log.really_lost()
        print(f"\n[link cut {scenario}] rate {params['sample_rate']:.0f} Hz, chunks of "
              f"{params['chunksize']}: received {sum(n for _, _, n in log.chunks)} samples, really "
              f"lost {really_lost}, counted lost {receiver.lost_samples} in {receiver.gap_count} "
              f"gap(s); resumed {resumed_after:.3f} s after the restore")
        assert log.wrong_data == []
        assert receiver.lost_samples == really_lost
        assert (receiver.gap_count > 0) == (really_lost > 0)
        assert resumed_after < resume_limit, resumed_after
        assert receiver.source_lost is False
        if params["forget"]:
            assert really_lost > 0, "the forgotten connection lost nothing: was it really aborted?"
    finally:
        manager.close()
        assert stop_host_server(host_proc) == 0
