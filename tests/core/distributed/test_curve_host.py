"""A `pyacq host --curve-dir` server: driven by a Manager with the right keys, refused without."""
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from process_checks import assert_all_gone, descendants, pid_alive


def _make_keys(directory, name):
    """Run `pyacq keys DIR --name NAME` (the real command line); return its output."""
    result = subprocess.run([sys.executable, "-m", "pyacq.cli", "keys", str(directory), "--name", name],
                            capture_output=True, text=True, timeout=60, check=True)
    return result.stdout


@pytest.fixture(scope="module")
def curve_files(tmp_path_factory):
    """A Host's --curve-dir (host certificate, authorized/manager.key) and the Manager's keys."""
    root = tmp_path_factory.mktemp("curve")
    host_dir, manager_dir = root / "host", root / "manager"
    (host_dir / "authorized").mkdir(parents=True)
    _make_keys(host_dir, "host")
    _make_keys(manager_dir, "manager")
    shutil.copy(manager_dir / "manager.key", host_dir / "authorized")
    return {"curve_dir": host_dir, "host_key": host_dir / "host.key",
            "manager_certificate": manager_dir / "manager.key_secret"}


@pytest.fixture(scope="module")
def protected_host(curve_files):
    """`python -m pyacq.core.host tcp://127.0.0.1:* --curve-dir DIR` as a real subprocess;
    interrupted (Ctrl-C) at the end, leaving no process behind."""
    proc = subprocess.Popen([sys.executable, "-m", "pyacq.core.host", "tcp://127.0.0.1:*",
                             "--name", "curvehost", "--curve-dir", str(curve_files["curve_dir"])],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        serving = proc.stdout.readline()
        announced = proc.stdout.readline()
        assert "serving at" in serving, f"host server did not start: {serving!r}"
        address = serving.split("serving at")[1].strip()
        yield {"proc": proc, "address": address, "announced": announced}
        assert proc.poll() is None, "the protected host server died during the tests"
        children = descendants(proc.pid)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert_all_gone(children)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


@pytest.fixture
def keyring():
    """This process's CURVE keyring, emptied after the test (it is process-wide)."""
    from pyacq.core.rpc import curve
    curve.forget_keys()
    yield curve
    curve.forget_keys()


def _still_serving(proxy):
    """True if the server behind *proxy* answers a ping (False once it closed or exited)."""
    from pyacq.core.manager import _server_gone
    from pyacq.core.rpc.client import RPCClient
    if _server_gone(proxy):
        return False
    try:
        return RPCClient.get_client(proxy._rpc_addr).ping(timeout=5.0) == "pong"
    except (RuntimeError, TimeoutError):
        return False


@pytest.fixture
def make_manager(keyring, protected_host):
    """``make_manager(**kwds)``: create_manager in its own process, closed at teardown with
    every process it started gone (and the test thread's RPC server closed as it was); the
    host server's own helpers live as long as the host server."""
    from pyacq.core.manager import create_manager
    from pyacq.core.rpc.server import RPCServer
    had_server = RPCServer.get_server() is not None
    before = descendants(os.getpid())
    managers = []

    def make(**kwds):
        managers.append(create_manager(auto_close_at_exit=False, **kwds))
        return managers[-1]

    yield make
    started = descendants(os.getpid()) - before - descendants(protected_host["proc"].pid)
    for man in managers:
        if _still_serving(man):
            man.close()
    if not had_server and RPCServer.get_server() is not None:
        RPCServer.get_server().close()
    assert_all_gone(started)


def test_keys_command_writes_a_certificate_pair(tmp_path):
    """`pyacq keys DIR --name NAME` writes NAME.key and a private NAME.key_secret, prints the
    public key, and refuses to overwrite them."""
    from pyacq.core.rpc import curve
    output = _make_keys(tmp_path, "lab")
    public = curve.load_public_key(str(tmp_path / "lab.key"))
    assert public.decode() in output
    assert curve.load_secret_certificate(str(tmp_path / "lab.key_secret"))[0] == public
    assert os.stat(tmp_path / "lab.key_secret").st_mode & 0o077 == 0
    again = subprocess.run([sys.executable, "-m", "pyacq.cli", "keys", str(tmp_path), "--name", "lab"],
                           capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 1 and "refusing to overwrite" in again.stderr


def test_manager_with_keys_drives_protected_host(protected_host, curve_files, make_manager,
                                                 run_python):
    """A Manager with an authorized certificate and the host's public key creates a NodeGroup
    (with Qt) on the protected host, a node in it, and calls it from here; the NodeGroup's own
    server requires CURVE too (a keyless client is refused); closing ends its process."""
    address = protected_host["address"]
    assert "server_key=" in protected_host["announced"]
    man = make_manager(client_certificate=str(curve_files["manager_certificate"]))
    host = man.add_host(address, server_key=str(curve_files["host_key"]))
    group = man.create_nodegroup(name="guarded", host=address)
    node = group.create_node("NumpyDeviceBuffer", name="guarded_dev")
    node.configure(nb_channel=2, sample_interval=0.001, chunksize=10)
    assert node.configured() is True
    assert host.list_nodegroups() == ["guarded"]
    assert group._rpc_addr.startswith("tcp://127.0.0.1:")
    keyless = run_python(f"""
        from pyacq.core.rpc.client import RPCClient
        from pyacq.core.rpc.curve import AuthenticationError
        try:
            RPCClient({group._rpc_addr!r}).ping(timeout=10)
        except AuthenticationError as exc:
            print("refused:", exc)
        """)
    assert f"refused: the RPC server at {group._rpc_addr} requires authentication" in keyless.stdout
    pid = host.describe_nodegroups()["guarded"]["pid"]
    assert pid_alive(pid)
    man.close()
    assert_all_gone([pid])


def test_manager_without_keys_is_refused(protected_host, make_manager, curve_files):
    """A Manager that knows neither the host's key nor a client certificate is refused with an
    error naming the host and saying authentication is required, within its connect timeout;
    given the key but no certificate, it is told what is missing. The host keeps serving."""
    from pyacq.core.rpc.errors import RemoteCallException
    address = protected_host["address"]
    man = make_manager()
    start = time.monotonic()
    with pytest.raises(RemoteCallException, match="AuthenticationError") as info:
        man.add_host(address)
    assert time.monotonic() - start < 10.0
    assert f"{address} requires authentication" in str(info.value)
    with pytest.raises(RemoteCallException, match="no client certificate"):
        man.add_host(address, server_key=str(curve_files["host_key"]))
    assert man.list_hosts() == []
    assert protected_host["proc"].poll() is None


def test_streams_of_protected_nodegroups_require_curve(protected_host, curve_files, make_manager):
    """On a protected host, a device in one NodeGroup streams over tcp to a StreamConverter in
    another and on to this process (the Manager's certificate): both tcp streams carry the
    host's public key in their params, both connections use CURVE, and every sample arrives
    bit-exact, in order, without gaps."""
    import numpy as np
    import zmq
    from pyacq.core.rpc import curve
    from pyacq.core.stream import InputStream
    address = protected_host["address"]
    host_key = curve.load_public_key(str(curve_files["host_key"])).decode()
    man = make_manager(client_certificate=str(curve_files["manager_certificate"]))
    man.add_host(address, server_key=str(curve_files["host_key"]))
    acquisition = man.create_nodegroup(name="curve_acquisition", host=address, qt=False)
    processing = man.create_nodegroup(name="curve_processing", host=address, qt=False)
    processing.register_node_type_from_module("pyacq.core.streamconverter", "StreamConverter")
    signal = (np.random.default_rng(16).standard_normal((1000, 4)) * 100).astype("float32")
    dev = acquisition.create_node("NumpyDeviceBuffer", name="curve_dev")
    dev.configure(nb_channel=4, sample_interval=1 / 2000, chunksize=50, buffer=signal)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    conv = processing.create_node("StreamConverter", name="curve_conv")
    conv.configure()
    conv.input.connect(dev.output)
    conv.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    conv.initialize()
    for output in (dev.output, conv.output):
        assert output.params._get_value()["server_key"] == host_key
    receiver = InputStream()
    try:
        receiver.connect(conv.output)
        assert receiver.socket.get(zmq.MECHANISM) == zmq.CURVE
        man.start_all()
        chunks, received = [], 0
        while received < 2500:
            assert receiver.poll(10000), "no chunk within 10 s"
            index, data = receiver.recv()
            chunks.append(np.array(data))
            received += len(data)
            assert index == received
        man.stop_all()
        assert receiver.gap_count == 0
    finally:
        receiver.close()
    data = np.concatenate(chunks)
    assert data.tobytes() == np.concatenate([signal] * 3)[:len(data)].tobytes()
    assert dev.output.refused_subscribers._get_value() == 0
    assert conv.output.refused_subscribers._get_value() == 0
    man.close()
