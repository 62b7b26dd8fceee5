"""Fixtures of the device tests: real counterparts the device nodes talk to, and the
receiving and cleaning up that the device tests share.

``pulseaudio_server`` runs a private PulseAudio daemon (tests/pulse_daemon.py)
and points this process at it.
"""
import os
import time

import pytest
from pulse_daemon import NULL_SINK, running_pulseaudio


@pytest.fixture(scope="session")
def pulseaudio_server(tmp_path_factory):
    """A private PulseAudio daemon (see pulse_daemon); yields the name of its null sink. The
    client environment (``PULSE_SERVER``, no autospawn) is set for the whole session and
    restored after."""
    with running_pulseaudio(tmp_path_factory.mktemp("pulse")) as env, \
            pytest.MonkeyPatch.context() as client_env:
        for name, value in env.items():
            client_env.setenv(name, value)
        client_env.delenv("PULSE_SINK", raising=False)
        client_env.delenv("PULSE_SOURCE", raising=False)
        yield NULL_SINK


def _receive_chunks(inp, n_samples, timeout=30.0):
    """Receive chunks from *inp* until *n_samples* arrived, failing after *timeout* s; return
    (indexes, the chunks concatenated, the arrival time of each chunk)."""
    import numpy as np
    indexes, chunks, times, received = [], [], [], 0
    deadline = time.monotonic() + timeout
    while received < n_samples:
        assert time.monotonic() < deadline, f"only {received} of {n_samples} samples in {timeout} s"
        if inp.poll(timeout=100):
            index, chunk = inp.recv(return_data=True)
            indexes.append(index)
            chunks.append(np.array(chunk))
            times.append(time.monotonic())
            received += len(chunk)
    return indexes, np.concatenate(chunks), times


@pytest.fixture
def receive_chunks():
    """``receive_chunks(inp, n_samples, timeout=30.0)`` -> (indexes, data, arrival times): see
    ``_receive_chunks``."""
    return _receive_chunks


class DeviceNodes:
    """The nodes and streams a test creates, cleaned up at its end: nodes are stopped and closed
    (whatever state the test left them in), then streams are closed."""

    def __init__(self):
        self._nodes, self._streams = [], []

    def add(self, item):
        """Clean up *item*, a node or a stream, after the test; return it."""
        (self._nodes if hasattr(item, "running") else self._streams).append(item)
        return item

    def connect(self, node, outputs, **output_kw):
        """Configure the *outputs* (names) of *node* with *output_kw* and connect a new
        InputStream to each; return {name: InputStream}."""
        from pyacq.core import InputStream
        inputs = {}
        for name in outputs:
            node.outputs[name].configure(**output_kw)
            inputs[name] = self.add(InputStream())
            inputs[name].connect(node.outputs[name])
        return inputs

    def close(self):
        for node in self._nodes:
            if node.running():
                node.stop()
            if not node.closed():
                node.close()
        for stream in self._streams:
            stream.close()


@pytest.fixture
def device_nodes():
    """A DeviceNodes: what the test adds to it is stopped and closed after the test."""
    nodes = DeviceNodes()
    try:
        yield nodes
    finally:
        nodes.close()


@pytest.fixture(scope="module")
def machine_scope_lsl(tmp_path_factory):
    """Configure liblsl, before its first use in this process and in the processes spawned by the
    tests, to stay on this machine: machine-scope resolution and IPv4 only."""
    config = tmp_path_factory.mktemp("lsl") / "lsl_api.cfg"
    config.write_text("[multicast]\nResolveScope = machine\n[ports]\nIPv6 = disable\n")
    previous = os.environ.get("LSLAPICFG")
    os.environ["LSLAPICFG"] = str(config)
    yield config
    if previous is None:
        del os.environ["LSLAPICFG"]
    else:
        os.environ["LSLAPICFG"] = previous


def frame_color(k):
    """The RGB colour of frame ``k`` in test videos: distinct per frame and per channel."""
    return (k * 10) % 256, 255 - k % 256, (k * 37) % 256


def write_test_video(path, frame_numbers, frame_rate, width=64, height=48):
    """Write a lossless (FFV1 in Matroska) video with PyAV, frame ``k`` filled with frame_color(k)
    and timestamped k / frame_rate; missing numbers are frames the 'camera' dropped."""
    from fractions import Fraction

    import av
    import numpy as np
    time_base = Fraction(1, frame_rate)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=frame_rate)
        stream.width, stream.height, stream.pix_fmt, stream.time_base = width, height, "bgr0", time_base
        for k in frame_numbers:
            image = np.empty((height, width, 3), np.uint8)
            image[...] = frame_color(k)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = k, time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return path


class SpawnedDeviceGroup:
    """A NodeGroup process spawned by a Manager, where device nodes are created by name and
    stream to receivers in the test process, as in an application spread over processes."""

    def __init__(self, manager, nodegroup):
        self.manager = manager
        self.nodegroup = nodegroup
        self._receivers = []

    def create_node(self, type_name, **kwds):
        """Create a node of the type named *type_name* in the NodeGroup; return its proxy."""
        return self.nodegroup.create_node(type_name, **kwds)

    def stream(self, node, output, n_samples, start_device=None, timeout=30.0):
        """Stream *output* of the configured remote *node* to a local InputStream until
        *n_samples* arrived, then stop and close the node; return (indexes, data, params)."""
        from pyacq.core import InputStream
        receiver = InputStream()
        self._receivers.append(receiver)
        node.outputs[output].configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        receiver.connect(node.outputs[output])
        node.initialize()
        node.start()
        if start_device is not None:
            start_device()
        indexes, data, _ = _receive_chunks(receiver, n_samples, timeout)
        node.stop()
        self.nodegroup.remove_node(node)
        return indexes, data, dict(receiver.params)

    def close(self):
        for receiver in self._receivers:
            receiver.close()
        self._receivers = []


@pytest.fixture
def spawned_nodegroup(manager):
    """One NodeGroup spawned on the default Host of the test Manager, without Qt (device nodes
    need none); receivers are closed at teardown, then the manager fixture checks that nothing
    is left behind."""
    group = SpawnedDeviceGroup(manager, manager.create_nodegroup(name="devices", qt=False))
    try:
        yield group
    finally:
        group.close()
