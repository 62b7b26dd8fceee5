"""PyAudio against real PortAudio, reaching a private PulseAudio daemon (see conftest.py)."""
import subprocess
import sys

import numpy as np
import pytest
from pulse_daemon import SAMPLE_RATE, SINE_FREQUENCY
from pyacq.core import InputStream, OutputStream, get_node_type
from pyacq.devices import PyAudio
from pyacq.devices.audio_pyaudio import PA_INPUT_OVERFLOW, RecordingIndex

pytest.importorskip("pyaudio", reason="PyAudio is not installed (pip install pyaudio)")

FULL_SCALE = {"int16": 2.0 ** 15, "int32": 2.0 ** 31, "float32": 1.0}


@pytest.fixture
def pulse_index(pulseaudio_server):
    """PortAudio's index of ALSA's ``pulse`` device, which reaches the private daemon."""
    dev = PyAudio(name="probe")
    try:
        indexes = [spec["index"] for spec in dev.list_device_specs() if spec["name"] == "pulse"]
    finally:
        dev.close()
    assert indexes, "PortAudio has no ALSA 'pulse' device: apt-get install libasound2-plugins"
    return indexes[0]


def peak_frequency(signal, sample_rate):
    """Frequency of the spectral peak, refined by parabolic interpolation of the log magnitude."""
    spectrum = np.abs(np.fft.rfft(signal * np.hanning(len(signal))))
    k = int(np.argmax(spectrum[1:-1])) + 1
    a, b, c = np.log(spectrum[k - 1:k + 2] + 1e-12)
    return (k + 0.5 * (a - c) / (a - 2 * b + c)) * sample_rate / len(signal)


def make_recorder(device_nodes, device_index, fmt="int16", nb_channel=1, chunksize=1024):
    dev = PyAudio(name="recorder")
    device_nodes.add(dev)
    dev.configure(nb_channel=nb_channel, sample_rate=SAMPLE_RATE, input_device_index=device_index,
                  format=fmt, chunksize=chunksize)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    inp = InputStream()
    device_nodes.add(inp)
    inp.connect(dev.output)
    dev.initialize()
    return dev, inp


def test_registered_by_entry_point():
    """PyAudio is found by name through the pyacq-devices entry point."""
    assert get_node_type("PyAudio") is PyAudio


@pytest.mark.parametrize("fmt", ["int16", "int32", "float32"])
def test_records_the_sine_source(pulse_index, device_nodes, fmt, receive_chunks):
    """Recording the daemon's 440 Hz sine source gives contiguous chunks of the chosen
    dtype, the documented stream params, a spectral peak within 1 Hz of 440 Hz and an
    amplitude scaled to the format's full scale."""
    dev, inp = make_recorder(device_nodes, pulse_index, fmt=fmt)
    assert dev.inputs == {} and list(dev.outputs) == ["signals"]
    params = inp.params
    assert params["sample_rate"] == SAMPLE_RATE and params["nb_channel"] == 1
    assert params["shape"] == [-1, 1] and np.dtype(params["dtype"]) == np.dtype(fmt)
    assert params["channel_info"] == [{"name": "ch0"}]
    dev.start()
    indexes, data, _ = receive_chunks(inp, int(1.5 * SAMPLE_RATE))
    dev.stop()
    assert data.dtype == np.dtype(fmt) and data.shape[1] == 1
    assert indexes == [1024 * (k + 1) for k in range(len(indexes))]
    assert inp.gap_count == 0 and dev.overflow_count == 0
    signal = data[:, 0].astype("float64") / FULL_SCALE[fmt]
    assert abs(peak_frequency(signal, SAMPLE_RATE) - SINE_FREQUENCY) < 1.0
    amplitude = np.sqrt(2) * signal[SAMPLE_RATE // 2:].std()
    assert 0.05 < amplitude <= 1.0, amplitude


def test_plays_a_tone_recorded_back_from_the_null_sink_monitor(pulse_index, pulseaudio_server, device_nodes,
                                                                monkeypatch, receive_chunks):
    """A 1000 Hz tone sent to a playing PyAudio node reaches the null sink: a second node
    recording the sink's monitor finds its frequency (within 1 Hz) and amplitude."""
    tone_frequency, amplitude, chunksize = 1000.0, 0.5, 1024
    player = PyAudio(name="player")
    device_nodes.add(player)
    player.configure(nb_channel=1, sample_rate=SAMPLE_RATE, output_device_index=pulse_index,
                     format="float32", chunksize=chunksize)
    assert player.outputs == {} and list(player.inputs) == ["signals"]
    source = OutputStream(spec=dict(dtype="float32", shape=(-1, 1), sample_rate=SAMPLE_RATE))
    device_nodes.add(source)
    source.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    player.input.connect(source)
    player.initialize()

    monkeypatch.setenv("PULSE_SOURCE", f"{pulseaudio_server}.monitor")
    recorder, inp = make_recorder(device_nodes, pulse_index, fmt="float32")

    n_chunks = int(4 * SAMPLE_RATE / chunksize)
    t = np.arange(n_chunks * chunksize) / SAMPLE_RATE
    tone = (amplitude * np.sin(2 * np.pi * tone_frequency * t)).astype("float32")[:, None]
    player.start()
    recorder.start()
    for k in range(n_chunks):
        source.send(tone[k * chunksize:(k + 1) * chunksize])
    _, data, _ = receive_chunks(inp, int(2.5 * SAMPLE_RATE))
    recorder.stop()
    player.stop()
    played = data[-SAMPLE_RATE:, 0].astype("float64")
    assert abs(peak_frequency(played, SAMPLE_RATE) - tone_frequency) < 1.0
    assert np.sqrt(2) * played.std() == pytest.approx(amplitude, rel=0.1)
    assert inp.gap_count == 0


def test_restart_and_close_with_one_direction(pulse_index, device_nodes, receive_chunks):
    """A recording node restarts at index 0 after stop(); a node with only one direction
    closes cleanly, and so does one configured but never initialized."""
    dev, inp = make_recorder(device_nodes, pulse_index)
    for _ in range(2):
        dev.start()
        indexes, _, _ = receive_chunks(inp, 2048)
        dev.stop()
        assert indexes[0] == 1024
        inp.empty_queue()
    assert inp.restart_count >= 1 and inp.gap_count == 0
    dev.close()
    assert dev.closed()

    player = PyAudio(name="only-player")
    player.configure(nb_channel=2, output_device_index=pulse_index)
    player.close()
    assert player.closed()


def test_default_devices_and_device_specs(pulse_index, device_nodes):
    """list_device_specs() gives PortAudio's info dicts with their index and name;
    default_input_device() / default_output_device() return indexes of devices able to
    record / play, as the documented examples use them."""
    dev = PyAudio(name="specs")
    device_nodes.add(dev)
    specs = dev.list_device_specs()
    assert [spec["index"] for spec in specs] == list(range(len(specs)))
    pulse = specs[pulse_index]
    assert pulse["name"] == "pulse" and pulse["hostApiName"] == "ALSA"
    assert pulse["maxInputChannels"] >= 1 and pulse["maxOutputChannels"] >= 1
    assert specs[dev.default_input_device()]["maxInputChannels"] >= 1
    assert specs[dev.default_output_device()]["maxOutputChannels"] >= 1


def test_bad_configuration_is_refused(pulse_index, device_nodes):
    """Unknown devices, too many channels, an unknown format and no direction at all are
    refused at configure() with a message naming the problem."""
    dev = PyAudio(name="bad")
    device_nodes.add(dev)
    with pytest.raises(ValueError, match=r"no audio device with index 999 \(PortAudio has \d+ devices"):
        dev.configure(input_device_index=999)
    with pytest.raises(ValueError, match=r"'pulse'\) has \d+ input channels, 1000 requested"):
        dev.configure(nb_channel=1000, input_device_index=pulse_index)
    with pytest.raises(ValueError, match=r"unknown format 'int8'; choose one of \['int16', 'int32', 'float32'\]"):
        dev.configure(input_device_index=pulse_index, format="int8")
    with pytest.raises(ValueError, match="give input_device_index .* and/or output_device_index"):
        dev.configure()
    assert not dev.configured()


def test_player_requires_connected_input(pulse_index, device_nodes):
    """initialize() of a playing node whose input is not connected names the missing input."""
    dev = PyAudio(name="lonely")
    device_nodes.add(dev)
    dev.configure(nb_channel=1, output_device_index=pulse_index)
    with pytest.raises(RuntimeError, match="connect its input 'signals' before initialize"):
        dev.initialize()


def test_overflow_is_counted_and_shown_as_gap(caplog):
    """An input overflow flagged by PortAudio is counted and logged; the samples lost,
    estimated from the ADC timestamps, make the index skip (a gap receivers see)."""
    counter = RecordingIndex(sample_rate=1000, describe="PyAudio node 'x'")
    assert counter.next_index(100, adc_time=10.0, status=0) == 100
    assert counter.next_index(100, adc_time=10.1, status=0) == 200
    assert counter.next_index(100, adc_time=10.25, status=PA_INPUT_OVERFLOW) == 350
    assert counter.overflow_count == 1 and counter.lost_samples == 50
    assert "input overflow #1, 50 samples lost" in caplog.text
    assert counter.next_index(100, adc_time=0.0, status=PA_INPUT_OVERFLOW) == 450
    assert counter.overflow_count == 2 and "an unknown number of samples lost" in caplog.text


def test_without_pyaudio_the_node_names_the_package():
    """Without PyAudio the module imports (HAVE_PYAUDIO False) and configure() raises an
    ImportError telling what to install."""
    code = (
        "import sys; sys.modules['pyaudio'] = None\n"
        "from pyacq.devices.audio_pyaudio import HAVE_PYAUDIO, PyAudio\n"
        "assert HAVE_PYAUDIO is False\n"
        "try:\n"
        "    PyAudio().configure(input_device_index=0)\n"
        "except ImportError as e:\n"
        "    print(e)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "needs PyAudio: pip install pyaudio" in result.stdout


def test_runs_in_a_spawned_nodegroup_created_by_name(pulse_index, spawned_nodegroup):
    """A PyAudio node created by name in a Manager's spawned NodeGroup lists its devices as the
    documented examples do, and streams the 440 Hz sine to a receiver in this process."""
    dev = spawned_nodegroup.create_node("PyAudio", name="remote-audio")
    names = {spec["index"]: spec["name"] for spec in dev.list_device_specs()}
    assert names[pulse_index] == "pulse"
    dev.configure(nb_channel=1, sample_rate=44100., input_device_index=pulse_index,
                  format="int16", chunksize=1024)
    _, data, params = spawned_nodegroup.stream(dev, "signals", SAMPLE_RATE)
    assert params["sample_rate"] == SAMPLE_RATE and data.dtype == np.int16
    assert abs(peak_frequency(data[:, 0].astype("float64"), SAMPLE_RATE) - SINE_FREQUENCY) < 1.0
