"""DemoPipeline.start() and stop(): a failed start leaves nothing running; stop() is idempotent,
and every part is stopped even when one refuses.

The pipeline holds real nodes, local here (a NumpyDeviceBuffer, a SosFilter and a
QOscilloscope offscreen) instead of the four processes build() spreads them over.
"""
import numpy as np
import pytest
from pyacq.core.node import NodeStateError
from pyacq.demo import DemoPipeline

pytest.importorskip("PyQt5")
pytest.importorskip("pyqtgraph")
pytest.importorskip("scipy")


@pytest.fixture
def pipeline():
    """A DemoPipeline whose device, filter and viewer are real local nodes, initialized."""
    import pyqtgraph as pg
    import scipy.signal
    from pyacq.devices import NumpyDeviceBuffer
    from pyacq.dsp import SosFilter
    from pyacq.viewers import QOscilloscope
    app = pg.mkQApp()
    pipeline = DemoPipeline(report=lambda line: None)
    device = NumpyDeviceBuffer(name="device")
    device.configure(nb_channel=2, sample_interval=0.001, chunksize=10,
                     buffer=np.zeros((1000, 2), dtype="float32"))
    device.output.configure(protocol="inproc", transfermode="plaindata")
    device.initialize()
    bandpass = SosFilter(name="bandpass")
    bandpass.configure(coefficients=scipy.signal.butter(2, [1.0, 40.0], btype="bandpass", fs=1000.0,
                                                        output="sos"))
    bandpass.input.connect(device.output)
    bandpass.output.configure(protocol="inproc", transfermode="plaindata")
    bandpass.initialize()
    viewer = QOscilloscope(name="viewer")
    viewer.configure(with_user_dialog=False)
    viewer.input.connect(bandpass.output)
    viewer.initialize()
    pipeline.device, pipeline.filter, pipeline.viewers = device, bandpass, {"filtered": viewer}
    yield pipeline
    for node in (viewer, bandpass, device):
        if node.running():
            node.stop()
        node.close()
    viewer.deleteLater()
    app.processEvents()


def nodes_of(pipeline):
    return [pipeline.device, pipeline.filter, *pipeline.viewers.values()]


def test_stop_twice_does_nothing_the_second_time(pipeline):
    """stop() stops every node; a second stop() does nothing (no NodeStateError); the
    pipeline then starts and stops again."""
    pipeline.start()
    assert all(node.running() for node in nodes_of(pipeline))
    pipeline.stop()
    pipeline.stop()
    assert not any(node.running() for node in nodes_of(pipeline))
    pipeline.start()
    pipeline.stop()
    assert not any(node.running() for node in nodes_of(pipeline))


def test_a_part_that_fails_to_stop_does_not_keep_the_others_running(pipeline):
    """When the device's stop() raises (here: it was stopped already, behind the pipeline's
    back), the filter and the viewer are stopped all the same, then that first error is
    raised; stop() again does nothing."""
    pipeline.start()
    pipeline.device.stop()
    with pytest.raises(NodeStateError, match="NumpyDeviceBuffer node 'device': cannot stop"):
        pipeline.stop()
    assert not pipeline.filter.running() and not pipeline.viewers["filtered"].running()
    pipeline.stop()


def test_a_part_that_fails_to_start_leaves_nothing_running(pipeline):
    """When the device's start() raises (here: it was started already, behind the pipeline's
    back), the viewer and the filter that start() had started are stopped again before the
    error is raised, and stop() then does nothing."""
    pipeline.device.start()
    with pytest.raises(NodeStateError, match="NumpyDeviceBuffer node 'device': cannot start"):
        pipeline.start()
    assert not pipeline.filter.running() and not pipeline.viewers["filtered"].running()
    pipeline.stop()
    assert pipeline.device.running()
