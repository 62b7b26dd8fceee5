"""SpikeDetector on synthetic recordings with ground-truth spikes at SNR 5."""
import numpy as np
import pytest
from pyacq.dsp import SpikeDetector

RATE = 20000.0


def synthetic_recording(seed, n_seconds=8.0, nb_channel=4, snr=5.0):
    """White gaussian noise (std 1) plus spikes whose trough is -snr: SNR = trough / noise std.

    Each spike is a 0.15 ms-wide gaussian trough followed by a smaller, wider bump; inter-spike
    intervals are 10-90 ms. Returns the float32 recording and the true trough positions.
    """
    rng = np.random.default_rng(seed)
    n = int(n_seconds * RATE)
    t = np.arange(-20, 40) / RATE
    wave = -np.exp(-(t / 1.5e-4) ** 2 / 2) + 0.35 * np.exp(-((t - 4e-4) / 2.5e-4) ** 2 / 2)
    wave /= -wave.min()
    data = rng.standard_normal((n, nb_channel))
    truth = []
    for channel in range(nb_channel):
        positions = np.cumsum(rng.integers(int(0.01 * RATE), int(0.09 * RATE), size=n // 200))
        positions = positions[(positions > 100) & (positions < n - 100)]
        for p in positions:
            data[p - 20:p + 40, channel] += snr * wave
        truth.append(positions)
    return data.astype("float32"), truth


def match(spikes, truth, start, stop):
    """(true positives, truths, detections) among spikes and truths in [start, stop)."""
    true_positives = n_truth = n_found = 0
    for channel, positions in enumerate(truth):
        positions = positions[(positions >= start) & (positions < stop)]
        found = spikes["index"][(spikes["channel"] == channel) & (spikes["index"] >= start)
                                & (spikes["index"] < stop)]
        if len(found) and len(positions):
            true_positives += (np.abs(found[:, None] - positions[None, :]).min(axis=1) <= 1).sum()
        n_truth += len(positions)
        n_found += len(found)
    return true_positives, n_truth, n_found


def test_recall_precision_and_alignment(closing, source, make_sink, random_cuts, wait):
    """At SNR 5, recall and precision are >= 95 % with positions within 1 sample of the
    truth; waveforms are the recording around each peak; both outputs count spikes."""
    data, truth = synthetic_recording(seed=0)
    node = SpikeDetector(name="spikes")
    closing(node)
    source.configure(sample_rate=RATE, dtype="float32", shape=(-1, data.shape[1]))
    node.configure(waveform_window=(-0.5e-3, 1e-3))
    node.input.connect(source.output)
    node.outputs["spikes"].configure(protocol="inproc")
    node.outputs["waveforms"].configure(protocol="inproc")
    spikes_sink = make_sink(node.outputs["spikes"])
    waveform_sink = make_sink(node.outputs["waveforms"])
    node.initialize()
    node.start()
    source.send_in_chunks(data, random_cuts(len(data), 400, np.random.default_rng(1)))
    spikes = spikes_sink.receive_all(node, "signals", len(data), timeout=60)
    waveforms = waveform_sink.receive_samples(len(spikes))
    assert spikes_sink.indexes[-1] == waveform_sink.indexes[-1] == len(spikes)
    assert waveforms.shape == (len(spikes), 30)
    # noise of a 5-sample mean of unit white noise: 1 / sqrt(5) = 0.447 (spikes barely move the MAD)
    np.testing.assert_allclose(node.noise_level, 1 / np.sqrt(5), rtol=0.06)
    true_positives = n_truth = 0
    for channel, positions in enumerate(truth):
        found = spikes["index"][spikes["channel"] == channel]
        distance = np.abs(found[:, None] - positions[None, :])
        matched = distance.min(axis=1) <= 1
        true_positives += matched.sum()
        n_truth += len(positions)
        assert np.all(np.diff(found) >= 20)  # refractory period: 1 ms
    recall, precision = true_positives / n_truth, true_positives / len(spikes)
    assert recall >= 0.95 and precision >= 0.95, (recall, precision)
    rows = spikes["index"][:, None] + np.arange(-10, 20)[None, :]
    np.testing.assert_array_equal(waveforms, data[rows, spikes["channel"][:, None]])
    np.testing.assert_array_equal(spikes["amplitude"], data[spikes["index"], spikes["channel"]])


def test_positive_peaks(closing, source, make_sink, wait):
    """peak_sign='+' finds upward spikes and ignores downward ones."""
    data, truth = synthetic_recording(seed=2, n_seconds=3.0, nb_channel=1)
    data = -data  # troughs become peaks
    node = SpikeDetector()
    closing(node)
    source.configure(sample_rate=RATE, dtype="float32", shape=(-1, 1))
    node.configure(peak_sign="+")
    node.input.connect(source.output)
    for output in node.outputs.values():
        output.configure(protocol="inproc")
    sink = make_sink(node.outputs["spikes"])
    node.initialize()
    node.start()
    source.send_in_chunks(data, list(range(1000, len(data), 1000)))
    spikes = sink.receive_all(node, "signals", len(data))
    distance = np.abs(spikes["index"][:, None] - truth[0][None, :]).min(axis=1)
    assert np.mean(distance <= 1) >= 0.95 and len(spikes) >= 0.95 * len(truth[0])


def test_bad_configuration_is_refused():
    """Invalid peak_sign, waveform_window, threshold or noise_blocks raise ValueError naming them."""
    node = SpikeDetector()
    with pytest.raises(ValueError, match="peak_sign must be '-' or '\\+'"):
        node.configure(peak_sign="both")
    with pytest.raises(ValueError, match="waveform_window must satisfy left <= 0 < right"):
        node.configure(waveform_window=(0.001, 0.002))
    with pytest.raises(ValueError, match="threshold must be a number > 0"):
        node.configure(threshold=-1)
    with pytest.raises(ValueError, match="noise_blocks must be an int >= 1"):
        node.configure(noise_blocks=0)
    node.close()


NOISE_DURATION = 0.5
NOISE_BLOCKS = 5
# A change is followed after NOISE_BLOCKS // 2 + 1 blocks of the new level; the block in
# progress when it happens adds up to one more.
FOLLOW_DELAY = (NOISE_BLOCKS // 2 + 2) * NOISE_DURATION
SMOOTHED_STD = 1 / np.sqrt(5)  # std of the 5-sample mean (0.25 ms) of unit white noise


def detect_following_noise(data, closing, source, make_sink, wait):
    """Stream ``data`` in 0.1 s chunks; return the spikes and, after each chunk,
    (index handled, noise_level then)."""
    node = SpikeDetector(name="drift")
    closing(node)
    source.configure(sample_rate=RATE, dtype="float32", shape=(-1, data.shape[1]))
    node.configure(noise_duration=NOISE_DURATION, noise_blocks=NOISE_BLOCKS)
    node.input.connect(source.output)
    for output in node.outputs.values():
        output.configure(protocol="inproc")
    sink = make_sink(node.outputs["spikes"])
    node.initialize()
    node.start()
    levels = []
    step = int(0.1 * RATE)
    for stop in range(step, len(data) + 1, step):
        source.output.send(data[stop - step:stop], index=stop)
        wait(lambda stop=stop: node.processed_until["signals"] == stop)
        levels.append((stop, node.noise_level))
    return sink.receive_all(node, "signals", len(data)), levels


@pytest.mark.parametrize("gain_before, gain_after", [(1.0, 2.0), (2.0, 1.0)])
def test_noise_level_follows_a_change(gain_before, gain_after, closing, source, make_sink, wait):
    """When the noise (and the spikes with it, SNR 5) changes by 2x at 4 s, noise_level
    reaches the new level (within 10 %) at most FOLLOW_DELAY (2 s) later and stays there;
    before the change it is within 10 % of the old level; recall and precision are >= 95 %
    before the change and from FOLLOW_DELAY after it."""
    data, truth = synthetic_recording(seed=5, n_seconds=9.0)
    change, settled = int(4.0 * RATE), int((4.0 + FOLLOW_DELAY) * RATE)
    data[:change] *= gain_before
    data[change:] *= gain_after
    spikes, levels = detect_following_noise(data, closing, source, make_sink, wait)
    first_block = int(NOISE_DURATION * RATE)
    for index, level in levels:
        if first_block <= index < change:
            np.testing.assert_allclose(level, gain_before * SMOOTHED_STD, rtol=0.1,
                                       err_msg=f"before the change, at {index}")
        elif index >= settled:
            np.testing.assert_allclose(level, gain_after * SMOOTHED_STD, rtol=0.1,
                                       err_msg=f"after the change, at {index}")
    for start, stop in ((0, change), (settled, len(data))):
        true_positives, n_truth, n_found = match(spikes, truth, start, stop)
        recall, precision = true_positives / n_truth, true_positives / n_found
        assert recall >= 0.95 and precision >= 0.95, (start, stop, recall, precision)


def test_noise_level_ignores_a_short_artefact(closing, source, make_sink, wait):
    """A 0.4 s artefact with 4x the noise spoils at most one block estimate: noise_level
    stays within 10 % of the true level throughout, and spikes outside the artefact are
    found with recall and precision >= 95 %."""
    data, truth = synthetic_recording(seed=6, n_seconds=6.0)
    burst = slice(int(3.05 * RATE), int(3.45 * RATE))
    data[burst] += 3.0 * np.random.default_rng(7).standard_normal(data[burst].shape).astype("float32")
    spikes, levels = detect_following_noise(data, closing, source, make_sink, wait)
    for index, level in levels:
        if index >= int(NOISE_DURATION * RATE):
            np.testing.assert_allclose(level, SMOOTHED_STD, rtol=0.1, err_msg=f"at {index}")
    clean = spikes[(spikes["index"] < burst.start - 40) | (spikes["index"] >= burst.stop + 40)]
    true_positives = n_truth = 0
    for start, stop in ((0, burst.start - 40), (burst.stop + 40, len(data))):
        hits, truths, _ = match(clean, truth, start, stop)
        true_positives, n_truth = true_positives + hits, n_truth + truths
    assert true_positives / n_truth >= 0.95 and true_positives / len(clean) >= 0.95
