"""OverlapFiltfilt: error against offline filtfilt, measured and bounded."""
import numpy as np
import pytest
import scipy.signal
from pyacq.dsp import OverlapFiltfilt
from pyacq.dsp.openclsos import HAVE_PYOPENCL
from pyacq.dsp.overlapfiltfilt import impulse_response_length

RATE = 10000.0
SOS = scipy.signal.iirfilter(4, [300.0, 3000.0], btype="bandpass", fs=RATE, output="sos")
TOLERANCE = 1e-3
# The bound the documentation promises: overlapsize >= impulse_response_length(SOS, TOLERANCE)
# keeps the error below TOLERANCE x the output's peak (plus float32 rounding).
BOUND = TOLERANCE + 1e-5


def run_filter(closing, make_source, make_sink, random_cuts, wait, data, chunksize, overlapsize,
               engine="scipy"):
    node = OverlapFiltfilt(name="ff")
    closing(node)
    source = make_source()
    source.configure(sample_rate=RATE, dtype="float32", shape=(-1, data.shape[1]))
    node.configure(chunksize=chunksize, overlapsize=overlapsize, coefficients=SOS, engine=engine)
    node.input.connect(source.output)
    node.output.configure(protocol="inproc")
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


@pytest.mark.skipif(not HAVE_PYOPENCL, reason="pyopencl is not installed")
def test_opencl_engine_matches(closing, make_source, make_sink, random_cuts, wait):
    """The OpenCL engine meets the same bound as the scipy engine."""
    data = np.random.default_rng(3).standard_normal((10000, 4)).astype("float32")
    sink = run_filter(closing, make_source, make_sink, random_cuts, wait, data, 512, 256, engine="opencl")
    assert relative_error(sink.data(), data) < BOUND


def test_bad_sizes_are_refused():
    """chunksize < 1 or a negative overlapsize raise ValueError naming the parameter."""
    node = OverlapFiltfilt()
    with pytest.raises(ValueError, match="chunksize must be an int >= 1"):
        node.configure(chunksize=0, coefficients=SOS)
    with pytest.raises(ValueError, match="overlapsize must be an int >= 0"):
        node.configure(overlapsize=-1, coefficients=SOS)
    node.close()
