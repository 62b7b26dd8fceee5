"""SosFilter: streamed output equals scipy.signal.sosfilt on the whole signal."""
import numpy as np
import pytest
import scipy.signal
from pyacq.dsp import SosFilter

from .conftest import needs_opencl

RATE = 10000.0
SOS = scipy.signal.iirfilter(4, [300.0, 3000.0], btype="bandpass", ftype="butter", fs=RATE,
                             output="sos")




def stream_through_filter(closing, source, make_sink, random_cuts, data, seed=0, **configure):
    node = SosFilter(name="sos")
    closing(node)
    source.configure(sample_rate=RATE, dtype=data.dtype.str, shape=(-1, data.shape[1]),
                     nb_channel=data.shape[1],
                     channel_info=[{"name": f"e{i}"} for i in range(data.shape[1])])
    node.configure(**configure)
    node.input.connect(source.output)
    node.output.configure(protocol="inproc", transfermode="plaindata")
    sink = make_sink(node.output)
    node.initialize()
    node.start()
    cuts = random_cuts(len(data), 300, np.random.default_rng(seed))
    source.send_in_chunks(data, cuts)
    out = sink.receive_samples(len(data))
    return node, sink, cuts, out


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_streamed_equals_offline(dtype, closing, source, make_sink, random_cuts):
    """Random chunk sizes give scipy.signal.sosfilt of the whole signal (within the dtype's
    precision), with the input's indexes, dtype, sample rate and channel names."""
    data = np.random.default_rng(1).standard_normal((20000, 5)).astype(dtype)
    _node, sink, cuts, out = stream_through_filter(closing, source, make_sink, random_cuts, data,
                                                  coefficients=SOS)
    expected = scipy.signal.sosfilt(SOS, data.astype("float64"), axis=0)
    assert out.dtype == np.dtype(dtype)
    tolerance = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(out, expected, rtol=0, atol=tolerance * np.abs(expected).max())
    assert sink.indexes == [*cuts, len(data)]
    params = sink.input.params
    assert params["sample_rate"] == RATE and params["nb_channel"] == 5
    assert [c["name"] for c in params["channel_info"]] == ["e0", "e1", "e2", "e3", "e4"]


@needs_opencl
@pytest.mark.parametrize("chunksize", [None, 256])
def test_opencl_engine_equals_scipy_engine(chunksize, closing, source, make_sink, random_cuts):
    """The OpenCL engine gives the scipy engine's result (float32 tolerance), with device
    buffers sized by the first chunk or by chunksize (longer chunks in several passes)."""
    data = np.random.default_rng(2).standard_normal((12000, 6)).astype("float32")
    _, _, _, out = stream_through_filter(closing, source, make_sink, random_cuts, data,
                                         coefficients=SOS, engine="opencl", chunksize=chunksize)
    expected = scipy.signal.sosfilt(SOS, data, axis=0)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5 * np.abs(expected).max())


@needs_opencl
def test_opencl_per_channel_coefficients(closing, source, make_sink, random_cuts):
    """With engine='opencl', coefficients (nb_channel, nb_section, 6) filter each channel
    with its own filter."""
    low = scipy.signal.iirfilter(8, 500.0, btype="lowpass", fs=RATE, output="sos")
    per_channel = np.stack([SOS, low, SOS, low])
    data = np.random.default_rng(3).standard_normal((8000, 4)).astype("float32")
    _, _, _, out = stream_through_filter(closing, source, make_sink, random_cuts, data,
                                         coefficients=per_channel, engine="opencl")
    for channel in range(4):
        expected = scipy.signal.sosfilt(per_channel[channel], data[:, channel])
        np.testing.assert_allclose(out[:, channel], expected, rtol=0,
                                   atol=1e-5 * np.abs(expected).max())


def test_bad_coefficients_and_inputs_are_refused(closing, source):
    """Wrong coefficient shapes, unnormalised sections, per-channel coefficients without
    OpenCL, an unknown engine and integer input are refused with specific errors."""
    node = SosFilter(name="bad")
    closing(node)
    with pytest.raises(TypeError, match="needs coefficients"):
        node.configure()
    with pytest.raises(ValueError, match=r"must have shape \(n_sections, 6\), got \(2, 5\)"):
        node.configure(coefficients=np.ones((2, 5)))
    with pytest.raises(ValueError, match="per-channel coefficients need engine='opencl'"):
        node.configure(coefficients=np.stack([SOS, SOS]))
    with pytest.raises(ValueError, match="normalised with a0 = 1"):
        node.configure(coefficients=SOS * 2)
    with pytest.raises(ValueError, match="unknown engine 'cuda'"):
        node.configure(coefficients=SOS, engine="cuda")
    node.configure(coefficients=SOS)
    source.configure(sample_rate=RATE, dtype="int16", shape=(-1, 2))
    node.input.connect(source.output)
    node.output.configure(protocol="inproc")
    with pytest.raises(TypeError, match="needs floating point .* samples, got dtype int16"):
        node.initialize()


def test_opencl_missing_names_the_package(run_python):
    """Without pyopencl importable, engine='opencl' raises an ImportError naming pyopencl."""
    result = run_python("""
        import sys
        sys.modules["pyopencl"] = None  # makes 'import pyopencl' raise ImportError
        import scipy.signal
        from pyacq.dsp import SosFilter
        from pyacq.dsp.openclsos import HAVE_PYOPENCL
        assert not HAVE_PYOPENCL
        try:
            SosFilter().configure(coefficients=scipy.signal.iirfilter(2, 0.1, btype="low", output="sos"),
                                  engine="opencl")
        except ImportError as exc:
            print(exc)
    """)
    assert "engine='opencl' needs pyopencl (pip install 'pyacq-dsp[opencl]')" in result.stdout


def test_module_flags_and_engine_registries():
    """pyacq 2.0 scripts pick an engine from HAVE_PYOPENCL and the registries: both modules
    export them, the registries map every accepted name (the OpenCL variants too) to a class."""
    import importlib.util

    from pyacq.dsp.overlapfiltfilt import HAVE_PYOPENCL as overlap_has_opencl
    from pyacq.dsp.overlapfiltfilt import sosfiltfilt_engines
    from pyacq.dsp.sosfilter import HAVE_PYOPENCL, sosfilter_engines
    assert HAVE_PYOPENCL is overlap_has_opencl is (importlib.util.find_spec("pyopencl") is not None)
    for registry in (sosfilter_engines, sosfiltfilt_engines):
        assert set(registry) == {"scipy", "opencl", "opencl2", "opencl3"}
        assert registry["opencl2"] is registry["opencl3"] is registry["opencl"]
        assert registry["scipy"].name == "scipy" and registry["opencl"].name == "opencl"


@needs_opencl
@pytest.mark.parametrize("engine", ["opencl2", "opencl3"])
def test_opencl_variant_names_run_the_opencl_engine(engine, closing, source, make_sink, random_cuts):
    """engine='opencl2' or 'opencl3' (pyacq 2.0 names) filters like scipy, per channel too."""
    data = np.random.default_rng(4).standard_normal((6000, 2)).astype("float32")
    per_channel = np.stack([SOS, SOS])
    _, _, _, out = stream_through_filter(closing, source, make_sink, random_cuts, data,
                                         coefficients=per_channel, engine=engine)
    expected = scipy.signal.sosfilt(SOS, data, axis=0)
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-5 * np.abs(expected).max())
