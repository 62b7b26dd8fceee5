"""QTimeFreq offscreen: a 10 Hz burst lights the 10 Hz row of its channel's spectrogram."""
import numpy as np
import pytest
from pyacq.viewers import QTimeFreq
from pyacq.viewers.timefreqworker import MorletTransform

SR = 1000.0


def brightness(rgb):
    return rgb.astype(float).sum(axis=2)


def test_morlet_amplitude_is_calibrated():
    """A sine of amplitude A at a frequency on the grid gives a map peaking at that frequency
    with value ~A in the middle of the window (edges excluded)."""
    transform = MorletTransform(SR, 2000, f_start=2.0, f_stop=60.0, deltafreq=2.0, f0=2.5,
                                normalisation=0.0)
    signal = 3.0 * np.sin(2 * np.pi * 20.0 * np.arange(2000) / SR)
    tfr = transform(signal)
    assert tfr.shape == (transform.n_time, len(transform.freqs))
    middle = tfr[tfr.shape[0] // 4: 3 * tfr.shape[0] // 4]
    assert transform.freqs[np.argmax(middle.mean(axis=0))] == pytest.approx(20.0)
    assert middle[:, np.argmin(abs(transform.freqs - 20.0))].mean() == pytest.approx(3.0, rel=0.05)


def test_morlet_refuses_bad_settings():
    """f_stop above Nyquist, or f_start after f_stop, are refused with the reason."""
    with pytest.raises(ValueError, match="Nyquist"):
        MorletTransform(SR, 1000, 2.0, 600.0, 2.0, 2.5, 0.0)
    with pytest.raises(ValueError, match="f_start < f_stop"):
        MorletTransform(SR, 1000, 50.0, 20.0, 2.0, 2.5, 0.0)


@pytest.mark.parametrize("transfermode", ["plaindata", "sharedmem"])
def test_burst_lights_its_frequency_row(qapp, closing, vt, transfermode):
    """Channel 0 carries a 10 Hz burst, channel 1 zeros: channel 0's plot is brightest on the
    10 Hz row (within one deltafreq), channel 1's plot stays dark. A plaindata input goes
    through an inserted StreamConverter; a sharedmem channel-major input is read in place."""
    extra = dict(buffer_size=5000, axisorder=[1, 0]) if transfermode == "sharedmem" else {}
    source = vt.make_source(2, SR, transfermode=transfermode, **extra)
    closing(source)
    viewer = QTimeFreq(name="tfr")
    closing(viewer)
    viewer.configure(with_user_dialog=True, max_xsize=4.0, nodegroup_friends=None)
    viewer.input.connect(source)
    viewer.initialize()
    assert (viewer.converter is None) == (transfermode == "sharedmem")
    index = vt.start_with_burst(viewer, source)
    worker, poller = viewer.workers[0], viewer._map_pollers[0]
    vt.wait_until(qapp, lambda: worker.map_head == index, message="a map ending with the burst")
    count = worker.map_count
    vt.wait_until(qapp, lambda: poller.chunk_count >= count and poller._latest is None,
                  message="that map drawn")
    viewer.refresh()
    _, _, peak_freq = vt.burst_peak(viewer)
    assert peak_freq == pytest.approx(10.0, abs=1.5), peak_freq
    dark = brightness(vt.grab_rgb(viewer))
    column1, row1 = vt.view_to_widget(viewer, viewer.plots[1], -1.0, 10.0)
    column0, row0 = vt.view_to_widget(viewer, viewer.plots[0], -1.0, 10.0)
    assert dark[row1, column1] < 0.5 * dark[row0, column0]


def test_documented_params_and_validation(qapp, closing, vt):
    """The documented parameter paths exist; out-of-range values are refused at assignment."""
    source = vt.make_source(1, 44100.0, dtype="int16")
    closing(source)
    viewer = QTimeFreq()
    closing(viewer)
    viewer.configure(with_user_dialog=True, max_xsize=5.0, nodegroup_friends=None)
    viewer.input.connect(source)
    viewer.initialize()
    viewer.params["nb_column"] = 4
    viewer.params["refresh_interval"] = 1000
    viewer.params["timefreq", "f_start"] = 50
    viewer.params["timefreq", "f_stop"] = 5000
    viewer.params["timefreq", "deltafreq"] = 500
    viewer.by_channel_params["Signal0", "clim"] = 2500
    assert viewer.workers[0]._settings["f_stop"] == 5000
    assert viewer.images[0].levels[1] == 2500
    with pytest.raises(ValueError, match="colormap"):
        viewer.params["colormap"] = "rainbow-ish"
    with pytest.raises(ValueError, match="f_stop"):
        viewer.params["timefreq", "f_stop"] = 30000.0


def test_have_scipy_flag():
    """pyacq.viewers.qtimefreq.HAVE_SCIPY tells pyacq 2.0 scripts that scipy is there."""
    from pyacq.viewers.qtimefreq import HAVE_SCIPY
    assert HAVE_SCIPY is True
