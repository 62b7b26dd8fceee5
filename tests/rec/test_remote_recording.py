"""Recorders created by name in one spawned NodeGroup, recording a device of another NodeGroup.

The device is a real counterpart: a BrainAmpSocket reading the RDA simulator over TCP (32
channels at 10 kHz with markers, one block dropped on purpose), or a WebCamAV decoding lavfi's
test source. The recording is read back in this process and compared with what was sent.
"""

import numpy as np
import pytest
from process_checks import wait_until
from pyacq.devices.rda_protocol import MARKER_DTYPE
from pyacq.devices.simulators import RDAServer
from pyacq.rec import open_recording

NB_CHANNEL, SAMPLE_RATE, BLOCK_POINTS = 32, 10_000.0, 200
N_RECORDED = int(60 * SAMPLE_RATE)
RECORDERS = ("RawRecorder", "HDF5Recorder")
DROPPED_BLOCK = 20
MARKER_INTERVAL = 700


def rda_signal():
    """Two seconds of float32 µV values that identify sample and channel (exact integers)."""
    index = np.arange(int(2 * SAMPLE_RATE), dtype=np.int64)[:, None]
    return ((index * NB_CHANNEL + np.arange(NB_CHANNEL)) % 4093 - 2046).astype(np.float32)


def expected_markers(n_samples):
    """The markers the server sends in the first *n_samples* samples, less the dropped block."""
    lost = range((DROPPED_BLOCK - 1) * BLOCK_POINTS, DROPPED_BLOCK * BLOCK_POINTS)
    positions = [p for p in range(0, n_samples, MARKER_INTERVAL) if p not in lost]
    markers = np.zeros(len(positions), MARKER_DTYPE)
    markers["index"] = positions
    markers["points"], markers["channel"] = 1, -1
    markers["type"], markers["description"] = b"Stimulus", b"S  1"
    return markers


def test_records_a_device_of_another_nodegroup_bit_exactly(manager, tmp_path):
    """A RawRecorder and an HDF5Recorder in one NodeGroup record a BrainAmpSocket of another
    NodeGroup for 60 s: the 32 channels at 10 kHz are on disk bit-exactly once stop() returns,
    the dropped block is a zero-filled gap recorded with position and length, and the markers
    are recorded as events."""
    acquisition = manager.create_nodegroup(name="acquisition", qt=False)
    recording = manager.create_nodegroup(name="recording", qt=False)
    signal = rda_signal()
    with RDAServer(nb_channel=NB_CHANNEL, sample_rate=SAMPLE_RATE, block_points=BLOCK_POINTS,
                   signal=signal, marker_interval=MARKER_INTERVAL, drop_blocks=[DROPPED_BLOCK]) as server:
        amp = acquisition.create_node("BrainAmpSocket", name="amp")
        amp.configure(brainamp_host="127.0.0.1", brainamp_port=server.port)
        for output in ("signals", "triggers"):
            amp.outputs[output].configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        recorders = {}
        for type_name in RECORDERS:
            recorder = recorders[type_name] = recording.create_node(type_name, name=type_name)
            recorder.configure(streams={"signals": amp.outputs["signals"],
                                        "triggers": amp.outputs["triggers"]},
                               dirname=str(tmp_path / type_name))
            recorder.initialize()
            recorder.start()
        amp.initialize()
        amp.start()
        assert wait_until(lambda: all((recorder.tracks["signals"].expected or 0) >= N_RECORDED
                                      for recorder in recorders.values()), 180.0, 0.2), \
            "the recorders did not receive 60 s of the device's samples in time"
        amp.stop()
        for recorder in recorders.values():
            recorder.stop()
            recorder.close()
        lost_samples = amp.lost_samples
    assert lost_samples == BLOCK_POINTS
    for type_name in RECORDERS:
        check_recording(tmp_path / type_name, signal)


def check_recording(dirname, signal):
    """Every sample the recorder received is on disk, with the gap and the markers."""
    with open_recording(dirname) as recorded:
        signals, triggers = recorded["signals"], recorded["triggers"]
        n_samples = len(signals.data)
        assert n_samples >= N_RECORDED and n_samples % BLOCK_POINTS == 0
        expected = np.resize(signal, (n_samples, NB_CHANNEL))
        expected[(DROPPED_BLOCK - 1) * BLOCK_POINTS:DROPPED_BLOCK * BLOCK_POINTS] = 0
        assert signals.data[:].tobytes() == expected.tobytes()
        gap_start = (DROPPED_BLOCK - 1) * BLOCK_POINTS
        assert signals.gaps == [{"position": gap_start, "length": BLOCK_POINTS, "index": gap_start}]
        description = signals.description
        assert description["sample_rate"] == SAMPLE_RATE and description["start_index"] == 0
        assert description["channel_names"] == [f"Ch{i + 1}" for i in range(NB_CHANNEL)]
        assert triggers.data[:].tobytes() == expected_markers(n_samples).tobytes()


def test_avirecorder_records_a_camera_of_another_nodegroup(manager, tmp_path):
    """An AviRecorder in one NodeGroup records a WebCamAV of another NodeGroup: the video file
    decodes to as many frames of the source's size as the frame table lists, without gaps."""
    av = pytest.importorskip("av", reason="AviRecorder and WebCamAV need PyAV: pip install av")
    acquisition = manager.create_nodegroup(name="camera", qt=False)
    recording = manager.create_nodegroup(name="video-recording", qt=False)
    cam = acquisition.create_node("WebCamAV", name="cam")
    cam.configure(camera_name="testsrc=size=160x120:rate=30", format="lavfi")
    cam.outputs["video"].configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    recorder = recording.create_node("AviRecorder", name="avi")
    dirname = tmp_path / "video"
    recorder.configure(streams={"cam": cam.outputs["video"]}, dirname=str(dirname), codec_name="mpeg4")
    recorder.initialize()
    recorder.start()
    cam.initialize()
    cam.start()
    assert wait_until(lambda: (recorder.tracks["cam"].expected or 0) >= 30, 30.0, 0.05), \
        "the recorder did not receive 30 frames in time"
    cam.stop()
    recorder.stop()
    recorder.close()
    with open_recording(dirname) as recorded:
        frames = recorded["cam"]
        indexes = np.asarray(frames.data["index"])
        assert len(indexes) >= 30 and frames.gaps == []
        np.testing.assert_array_equal(indexes, np.arange(len(indexes)))
        with av.open(frames.path) as container:
            decoded = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    assert len(decoded) == len(indexes)
    assert all(frame.shape == (120, 160, 3) for frame in decoded)
