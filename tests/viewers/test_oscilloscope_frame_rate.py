"""QOscilloscope keeps up with its refresh interval while a device streams to it.

A viewer that drew a frame only now and then (a starved or blocked GUI
thread, a refresh that waits for data, a redraw skipped although new samples
arrived) would fall far below the frames its refresh interval allows.
"""
import time

import pytest
from pyacq.devices import NumpyDeviceBuffer
from pyacq.viewers import QOscilloscope

STREAM_SECONDS = 2.0


@pytest.mark.parametrize("nb_channel, sample_rate, refresh_interval", [
    (1, 44100.0, 100),
    (16, 10000.0, 50),
])
def test_draws_at_least_half_the_frames_its_refresh_interval_allows(
        qapp, closing, vt, nb_channel, sample_rate, refresh_interval):
    """Fed by a NumpyDeviceBuffer sending 10 ms chunks, a shown QOscilloscope draws, over
    2 s of streaming, at least half of the frames its refresh interval allows, and receives
    every sample."""
    device = NumpyDeviceBuffer(name="dev")
    closing(device)
    device.configure(nb_channel=nb_channel, sample_interval=1 / sample_rate,
                     chunksize=int(sample_rate / 100))
    device.output.configure(protocol="inproc", transfermode="plaindata")
    device.initialize()
    viewer = QOscilloscope(name="scope")
    closing(viewer)
    viewer.configure(with_user_dialog=False, max_xsize=5.0)
    viewer.input.connect(device.output)
    viewer.initialize()
    viewer.params["refresh_interval"] = refresh_interval
    viewer.resize(600, 400)
    viewer.show()
    qapp.processEvents()
    viewer.start()
    device.start()
    vt.wait_until(qapp, lambda: viewer.history.head()[0] > 0, message="the first samples")
    first_sample, first_frame, started = viewer.history.head()[0], viewer.frame_count, time.monotonic()
    target = first_sample + int(STREAM_SECONDS * sample_rate)
    vt.wait_until(qapp, lambda: viewer.history.head()[0] >= target, timeout=30.0,
                  message=f"{STREAM_SECONDS} s of samples")
    elapsed = time.monotonic() - started
    frames = viewer.frame_count - first_frame
    allowed = elapsed * 1000.0 / refresh_interval
    assert frames >= 0.5 * allowed, (
        f"{frames} frames drawn in {elapsed:.2f} s; its {refresh_interval} ms refresh allows {allowed:.0f}")
    assert viewer.input.gap_count == 0
