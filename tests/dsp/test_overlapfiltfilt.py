"""OverlapFiltfilt: error against offline filtfilt, measured and bounded."""
import numpy as np
import pytest
import scipy.signal
from pyacq.dsp import OverlapFiltfilt
from pyacq.dsp.overlapfiltfilt import impulse_response_length

from .conftest import needs_opencl

RATE = 10000.0
SOS = scipy.signal.iirfilter(4, [300.0, 3000.0], btype="bandpass", fs=RATE, output="sos")
TOLERANCE = 1e-3
# The bound the documentation promises: overlapsize >= impulse_response_length(SOS, TOLERANCE)
# keeps the error below TOLERANCE x the output's peak (plus float32 rounding).
BOUND = TOLERANCE + 1e-5


def run_filter(closing, make_source, make_sink, random_cuts, wait, data, chunksize, overlapsize,
               engine="scipy", **output_params):
    node = OverlapFiltfilt(name="ff")
    closing(node)
    source = make_source()
    source.configure(sample_rate=RATE, dtype="float32", shape=(-1, data.shape[1]))
    node.configure(chunksize=chunksize, overlapsize=overlapsize, coefficients=SOS, engine=engine)
    node.input.connect(source.output)
    node.output.configure(protocol="inproc", **output_params)
    sink = make_sink(node.output)
    node.initialize()
    node.start()
    rng = np.random.default_rng(chunksize + overlapsize)
    source.send_in_chunks(data, random_cuts(len(data), 200, rng))
    wait(lambda: node.processed_until["signals"] == len(data))
    node.stop()  # releases the samples still held, like the end of an offline recording
    sink.receive_until(lambda s: bool(s.indexes) and s.indexes[-1] == len(data))
    return sink


def relative_error(out, data):
    expected = scipy.signal.sosfiltfilt(SOS, data.astype("float64"), axis=0, padtype=None)
    return np.abs(out - expected).max() / np.abs(expected).max()


@pytest.mark.parametrize("chunksize, overlapsize", [(1024, 512), (500, 120), (256, 512), (64, 200)])
def test_error_against_offline_filtfilt(chunksize, overlapsize, closing, make_source, make_sink,
                                        random_cuts, wait):
    """With overlapsize >= impulse_response_length(coefficients, 1e-3), in both regimes
    (overlapsize below and above chunksize / 2), the output differs from offline
    sosfiltfilt by less than 1e-3 of its peak; indexes follow the input's."""
    assert overlapsize >= impulse_response_length(SOS, TOLERANCE)
    data = (np.random.default_rng(0).standard_normal((20000, 3)) + 2.0).astype("float32")
    sink = run_filter(closing, make_source, make_sink, random_cuts, wait, data, chunksize, overlapsize)
    out = sink.data()
    assert out.shape == data.shape and out.dtype == np.float32
    assert relative_error(out, data) < BOUND
    # first release: at the first chunk boundary beyond overlapsize, up to boundary - overlapsize
    assert sink.indexes[0] == (overlapsize // chunksize + 1) * chunksize - overlapsize
    assert all(b - a == chunksize for a, b in zip(sink.indexes[:-2], sink.indexes[1:-1]))


def test_sharedmem_output_equals_plaindata_output(closing, make_source, make_sink, random_cuts, wait):
    """Released chunks (channel-major in memory) reach a sharedmem reader with the same
    values and indexes as a plaindata reader."""
    data = np.random.default_rng(6).standard_normal((9000, 5)).astype("float32")
    plain = run_filter(closing, make_source, make_sink, random_cuts, wait, data, 700, 150)
    shared = run_filter(closing, make_source, make_sink, random_cuts, wait, data, 700, 150,
                        transfermode="sharedmem", buffer_size=len(data))
    assert shared.indexes == plain.indexes
    np.testing.assert_array_equal(shared.data(), plain.data())


def test_short_overlap_exceeds_the_bound(closing, make_source, make_sink, random_cuts, wait):
    """The bound is not met by chance: an overlap well below the impulse response length
    (30 samples) gives an error above it."""
    data = np.random.default_rng(1).standard_normal((6000, 1)).astype("float32")
    sink = run_filter(closing, make_source, make_sink, random_cuts, wait, data, 1000, 30)
    assert relative_error(sink.data(), data) > 10 * BOUND


def test_input_gap_is_a_gap_in_the_output(closing, make_source, make_sink, wait):
    """Samples lost upstream are not invented: the samples before the gap are released,
    the output index skips exactly as the input's did, and filtering restarts after it."""
    data = np.random.default_rng(2).standard_normal((8000, 2)).astype("float32")
    node = OverlapFiltfilt(name="gap")
    closing(node)
    source = make_source()
    source.configure(sample_rate=RATE, dtype="float32", shape=(-1, 2))
    node.configure(chunksize=500, overlapsize=200, coefficients=SOS)
    node.input.connect(source.output)
    node.output.configure(protocol="inproc")
    sink = make_sink(node.output)
    node.initialize()
    node.start()
    source.output.send(data[:3000], index=3000)
    source.output.send(data[3500:], index=8000)  # samples 3000..3500 lost
    wait(lambda: node.processed_until["signals"] == 8000)
    node.stop()
    sink.receive_until(lambda s: bool(s.indexes) and s.indexes[-1] == 8000)
    assert sink.input.gap_count == 1 and sink.input.lost_samples == 500
    out = sink.data()
    assert len(out) == 7500
    before = scipy.signal.sosfiltfilt(SOS, data[:3000].astype("float64"), axis=0, padtype=None)
    after = scipy.signal.sosfiltfilt(SOS, data[3500:].astype("float64"), axis=0, padtype=None)
    expected = np.concatenate([before, after])
    assert np.abs(out - expected).max() / np.abs(expected).max() < BOUND




@needs_opencl
@pytest.mark.parametrize("chunksize, overlapsize, nb_channel",
                         [(1024, 512, 4), (500, 120, 3), (256, 512, 6), (64, 200, 16)])
def test_opencl_engine_matches(chunksize, overlapsize, nb_channel, closing, make_source, make_sink,
                               random_cuts, wait):
    """The OpenCL engine meets the same bound as the scipy engine in both overlap regimes
    and for channel counts filtered 1, 2, 4 or 8 per work item, and releases the same
    samples at the same indexes; in double precision both engines agree to 1e-6."""
    data = (np.random.default_rng(3).standard_normal((10000, nb_channel)) + 1.0).astype("float32")
    sinks = {engine: run_filter(closing, make_source, make_sink, random_cuts, wait, data, chunksize,
                                overlapsize, engine=engine)
             for engine in ("scipy", "opencl")}
    out = sinks["opencl"].data()
    assert out.shape == data.shape and out.dtype == np.float32
    assert relative_error(out, data) < BOUND
    assert sinks["opencl"].indexes == sinks["scipy"].indexes
    scipy_out = sinks["scipy"].data()
    assert np.abs(out - scipy_out).max() < 1e-6 * np.abs(scipy_out).max()


@needs_opencl
def test_opencl_per_channel_coefficients_and_float64(closing, make_source, make_sink, random_cuts,
                                                      wait):
    """With (n_channels, n_sections, 6) coefficients each channel gets its own filter, and
    float64 input comes out float64, within the bound of offline sosfiltfilt per channel."""
    low = scipy.signal.iirfilter(8, 200.0, btype="lowpass", fs=RATE, output="sos")
    per_channel = np.stack([SOS, low, low, SOS])
    data = np.random.default_rng(4).standard_normal((12000, 4))
    node = OverlapFiltfilt(name="ff")
    closing(node)
    source = make_source()
    source.configure(sample_rate=RATE, dtype="float64", shape=(-1, 4))
    overlapsize = max(impulse_response_length(sos, TOLERANCE) for sos in per_channel)
    node.configure(chunksize=700, overlapsize=overlapsize, coefficients=per_channel, engine="opencl")
    node.input.connect(source.output)
    node.output.configure(protocol="inproc")
    sink = make_sink(node.output)
    node.initialize()
    node.start()
    source.send_in_chunks(data, random_cuts(len(data), 300, np.random.default_rng(5)))
    wait(lambda: node.processed_until["signals"] == len(data))
    node.stop()
    sink.receive_until(lambda s: bool(s.indexes) and s.indexes[-1] == len(data))
    out = sink.data()
    assert out.dtype == np.float64
    for channel, sos in enumerate(per_channel):
        expected = scipy.signal.sosfiltfilt(sos, data[:, channel], padtype=None)
        error = np.abs(out[:, channel] - expected).max() / np.abs(expected).max()
        assert error < BOUND, (channel, error)


def test_bad_sizes_are_refused():
    """chunksize < 1 or a negative overlapsize raise ValueError naming the parameter."""
    node = OverlapFiltfilt()
    with pytest.raises(ValueError, match="chunksize must be an int >= 1"):
        node.configure(chunksize=0, coefficients=SOS)
    with pytest.raises(ValueError, match="overlapsize must be an int >= 0"):
        node.configure(overlapsize=-1, coefficients=SOS)
    node.close()
