"""Viewers across processes: a QOscilloscope living in a remote Qt NodeGroup, and a QTimeFreq
whose TimeFreqWorkers run in other NodeGroups."""

import numpy as np
import pytest
from process_checks import wait_until
from pyacq.core.rpc import ObjectProxy

SR = 1000.0
RED = (255, 0, 0)
GREEN = (0, 255, 0)


def remote_rgb(viewer, nodegroup_process):
    """Grab ``viewer`` in its own process and return its pixels, (height, width, 3) uint8.

    The QPixmap and QImage stay there (as proxies); only the pixel array crosses RPC.
    """
    pg = nodegroup_process._import("pyqtgraph")
    qtgui = nodegroup_process._import("pyqtgraph.Qt.QtGui")
    image = viewer.grab(_return_type="proxy").toImage(_return_type="proxy")
    rgb888 = image.convertToFormat(qtgui.QImage.Format.Format_RGB888, _return_type="proxy")
    return np.array(pg.functions.ndarray_from_qimage(rgb888))[:, :, :3]


def color_rows(rgb, color, tolerance=60):
    """Rows holding pixels within ``tolerance`` of ``color``."""
    mask = np.abs(rgb.astype(int) - np.array(color)).sum(axis=2) <= tolerance
    return np.flatnonzero(mask.any(axis=1))


def test_oscilloscope_in_remote_qt_nodegroup(manager):
    """A QOscilloscope created by name in a Qt NodeGroup, fed by a NumpyDeviceBuffer of another
    NodeGroup, is driven and grabbed there: channel 0 (sine of amplitude 1, gain 1, ylim ±2)
    spans the middle half of the plot's height, the hidden channel 1 draws nothing, and the
    stream reached it without gaps."""
    from pyacq.core.rpc.client import RPCClient
    acquisition = manager.create_nodegroup(name="acquisition", qt=False)
    display = manager.create_nodegroup(name="display", qt=True)
    t = np.arange(2000) / SR
    buffer = np.column_stack([np.sin(2 * np.pi * 5.0 * t), 0.5 * np.ones_like(t)]).astype("float32")
    device = acquisition.create_node("NumpyDeviceBuffer", name="dev")
    device.configure(nb_channel=2, sample_interval=1 / SR, chunksize=20, buffer=buffer)
    device.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    device.initialize()

    viewer = display.create_node("QOscilloscope", name="remote_scope")
    assert isinstance(viewer, ObjectProxy)
    viewer.configure(with_user_dialog=False, max_xsize=5.0)
    viewer.input.connect(device.output)
    viewer.initialize()
    viewer.resize(600, 400)
    viewer.show()
    viewer.params["xsize"] = 2.0
    viewer.params["ylim_min"], viewer.params["ylim_max"] = -2.0, 2.0
    viewer.by_channel_params["Signal0", "color"] = RED
    viewer.by_channel_params["Signal1", "color"] = GREEN
    viewer.by_channel_params["Signal1", "visible"] = False
    viewer.start()
    device.start()
    assert wait_until(lambda: viewer.history.head()[0] >= 2500, 30.0), "the remote viewer got no data"
    head = viewer.history.head()[0]
    assert wait_until(lambda: viewer.frame_count > 0 and viewer._cache.end_bin * viewer._cache.step >= head,
                      30.0), "the remote viewer drew no frame with the data"
    device.stop()
    viewer.stop()

    rgb = remote_rgb(viewer, RPCClient.get_client(display._rpc_addr))
    height = rgb.shape[0]
    red = color_rows(rgb, RED)
    assert red.size, "channel 0 is not drawn"
    assert red.min() == pytest.approx(height * 0.25, abs=height * 0.04), (red.min(), height)
    assert red.max() == pytest.approx(height * 0.75, abs=height * 0.04), (red.max(), height)
    assert color_rows(rgb, GREEN).size == 0, "the hidden channel 1 is drawn"
    assert viewer.input.gap_count == 0


def test_timefreq_workers_in_other_nodegroups(manager, qapp, closing, vt):
    """A QTimeFreq here with nodegroup_friends=[A, B]: its two workers are created by name in
    A and B (one each, as proxies), read the converter's shared memory from there, and the
    maps they send back light channel 0's 10 Hz row while channel 1 (zeros) stays dark."""
    from pyacq.viewers import QTimeFreq
    friends = [manager.create_nodegroup(name=f"workers{i}", qt=False) for i in range(2)]
    source = vt.make_source(2, SR)
    closing(source)
    viewer = QTimeFreq(name="tfr")
    closing(viewer)
    viewer.configure(with_user_dialog=False, max_xsize=4.0, nodegroup_friends=friends)
    viewer.input.connect(source)
    viewer.initialize()
    assert all(isinstance(worker, ObjectProxy) for worker in viewer.workers)
    for channel, friend in enumerate(friends):
        nodes = friend.list_nodes()
        assert [node.name for node in nodes] == [f"tfr-worker{channel}"]
    index = vt.start_with_burst(viewer, source)
    vt.wait_until(qapp, lambda: all(worker.map_head == index for worker in viewer.workers), timeout=30.0,
                  message="maps ending with the burst from both remote workers")
    counts = [worker.map_count for worker in viewer.workers]
    vt.wait_until(qapp, lambda: all(poller.chunk_count >= count and poller._latest is None
                                    for poller, count in zip(viewer._map_pollers, counts)),
                  timeout=30.0, message="those maps drawn")
    viewer.refresh()
    brightness, profile, peak_freq = vt.burst_peak(viewer)
    assert peak_freq == pytest.approx(10.0, abs=1.5)
    column1, row1 = vt.view_to_widget(viewer, viewer.plots[1], -1.0, 10.0)
    assert brightness[row1 - 3:row1 + 4, column1 - 3:column1 + 4].mean() < 0.5 * profile.max()
    viewer.stop()
    assert all(worker.input.gap_count == 0 and worker.input.overrun_count == 0
               for worker in viewer.workers)
