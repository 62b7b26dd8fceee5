"""The DSP nodes in both orders of the documented steps: configure(), configure the outputs,
connect the inputs, initialize() (outputs configured before or after the inputs connect)."""
import numpy as np
import pytest
import scipy.signal
from follow_input_cases import ANALOG, DSP_CASES, N_SAMPLES, ORDERS, SOS, noise, run_locally, send_all
from process_checks import wait_until
from pyacq.core import OutputStream
from pyacq.core.stream import StreamSpecError
from pyacq.dsp import SosFilter, SpikeDetector
from pyacq.rec import RawRecorder, open_recording


@pytest.mark.parametrize("transfermode", ["plaindata", "sharedmem"])
@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("case", DSP_CASES, ids=str)
def test_dsp_nodes_follow_their_input_in_both_orders(case, order, transfermode):
    """Filters keep their float64 input's dtype, channels and sample rate, SpikeDetector sizes
    its waveforms from the input's sample rate, triggers send their events, in either order, with
    the protocol and transfer mode given to the output's configure(); the data arrives right."""
    run_locally(case, order, transfermode)


@pytest.fixture
def float64_source(closing):
    source = OutputStream(name="source")
    closing(source)
    source.configure(protocol="inproc", transfermode="plaindata", **ANALOG)
    return source


def test_sos_filter_output_dtype_contradicting_the_input_is_refused_at_initialize(float64_source, closing):
    """SosFilter output configured with dtype='float32' before a float64 input connects:
    initialize() raises naming the node, the output, both dtypes and the fix."""
    node = SosFilter(name="lowpass")
    closing(node)
    node.configure(coefficients=SOS)
    node.output.configure(protocol="inproc", dtype="float32")
    node.input.connect(float64_source)
    with pytest.raises(StreamSpecError) as error:
        node.initialize()
    message = str(error.value)
    for part in ("OutputStream 'signals' of SosFilter node 'lowpass'", "configure(dtype='float32')",
                 "dtype='<f8'", "leave dtype out of configure()"):
        assert part in message


def test_recorder_accepts_a_filter_output_configured_before_its_input(float64_source, closing, tmp_path):
    """In the documented order a float64 stream through SosFilter reaches a RawRecorder, which
    records it as float64 with the input's sample rate, equal to scipy's sosfilt."""
    node = SosFilter(name="lowpass")
    closing(node)
    node.configure(coefficients=SOS)
    node.output.configure(protocol="inproc", transfermode="sharedmem", buffer_size=4 * N_SAMPLES)
    node.input.connect(float64_source)
    node.initialize()
    recorder = RawRecorder(name="rec")
    closing(recorder)
    recorder.configure(streams={"filtered": node.output}, dirname=tmp_path / "rec")
    recorder.initialize()
    recorder.start()
    node.start()
    data = noise()
    send_all(float64_source, data)
    assert wait_until(lambda: recorder.tracks["filtered"].expected == N_SAMPLES, 30.0)
    recorder.stop()
    with open_recording(tmp_path / "rec") as recording:
        recorded = recording["filtered"]
        assert recorded.description["dtype"] == "<f8"
        assert recorded.description["sample_rate"] == ANALOG["sample_rate"]
        np.testing.assert_allclose(recorded.data[:], scipy.signal.sosfilt(SOS, data, axis=0),
                                   rtol=0, atol=1e-12)


def test_spike_detector_reconfigured_after_connect_resizes_its_waveforms(float64_source, closing):
    """configure() again after the input connected (a new waveform_window): initialize() ends with
    the waveforms output sized for the new window at the input's sample rate."""
    node = SpikeDetector(name="spikes")
    closing(node)
    node.configure()
    for output in node.outputs.values():
        output.configure(protocol="inproc")
    node.input.connect(float64_source)
    assert node.outputs["waveforms"].params["shape"] == [-1, 3]
    node.configure(waveform_window=(-2e-3, 3e-3))
    node.initialize()
    assert node.outputs["waveforms"].params["shape"] == [-1, 5]
