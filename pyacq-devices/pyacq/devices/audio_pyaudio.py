"""PyAudio: records from and plays to sound cards through PortAudio (the ``pyaudio`` package).

Recording uses PortAudio's callback mode, so chunks leave the sound card's
thread without an intermediate copy; playback writes the chunks of the
``signals`` input to a blocking PortAudio stream from its own thread.
"""
import logging
import threading

import numpy as np
from pyacq.core import Node
from pyacq.core.node_thread import NodeThread
from pyacq.core.validation import named_channel_info

try:
    import pyaudio
    HAVE_PYAUDIO = True
except ImportError:
    pyaudio = None
    HAVE_PYAUDIO = False

logger = logging.getLogger(__name__)

#: configure(format=...) -> (numpy dtype, name of the PortAudio sample format in pyaudio)
AUDIO_FORMATS = {"int16": ("int16", "paInt16"), "int32": ("int32", "paInt32"),
                 "float32": ("float32", "paFloat32")}

#: PortAudio's paInputOverflow status flag (samples were discarded before the callback).
PA_INPUT_OVERFLOW = 0x2


def require_pyaudio(what):
    """Raise ImportError naming the package to install when PyAudio is missing."""
    if not HAVE_PYAUDIO:
        raise ImportError(f"{what} needs PyAudio: pip install pyaudio (or pip install "
                          "pyacq-devices[audio]; building it needs PortAudio's headers, "
                          "e.g. Debian's portaudio19-dev)")


def portaudio_device_specs(portaudio):
    """Every device PortAudio sees: its info dicts, plus ``hostApiName`` (e.g. 'ALSA')."""
    specs = []
    for index in range(portaudio.get_device_count()):
        info = dict(portaudio.get_device_info_by_index(index))
        info["hostApiName"] = portaudio.get_host_api_info_by_index(info["hostApi"])["name"]
        specs.append(info)
    return specs


class RecordingIndex:
    """Stream index of recorded chunks, with the samples lost to input overflows.

    PortAudio flags an overflow but does not say how many samples it dropped:
    the count is estimated from the ADC timestamps (the time the new chunk
    started minus the time the previous one ended). Each overflow is counted
    and logged; the estimated loss becomes a gap in the stream.
    """

    def __init__(self, sample_rate, describe):
        self.sample_rate = sample_rate
        self.describe = describe
        self.index = 0
        self.overflow_count = 0
        self.lost_samples = 0
        self._expected_adc_time = None

    def next_index(self, n_frames, adc_time, status):
        """Return the index of a chunk of ``n_frames`` whose first sample was sampled at ``adc_time``."""
        lost = 0
        if status & PA_INPUT_OVERFLOW:
            if adc_time > 0 and self._expected_adc_time is not None:
                lost = max(0, round((adc_time - self._expected_adc_time) * self.sample_rate))
            self.overflow_count += 1
            self.lost_samples += lost
            logger.warning("%s: input overflow #%d, %s samples lost", self.describe,
                           self.overflow_count, lost if lost else "an unknown number of")
        self._expected_adc_time = adc_time + n_frames / self.sample_rate if adc_time > 0 else None
        self.index += lost + n_frames
        return self.index


class PyAudio(Node):
    """Simple wrapper around PyAudio for input and output to audio devices.

    With ``input_device_index`` the node records: output ``signals``
    (chunks of (chunksize, nb_channel) samples). With
    ``output_device_index`` it plays: input ``signals`` of the same dtype and
    channel count. With both it does both, independently. A direction not
    requested has no stream.

    Parameters
    ----------
    **kargs
        Node's constructor keywords (``name``, ``parent``), passed on unchanged.
    """

    _output_specs = {"signals": dict(streamtype="analogsignal")}
    _input_specs = {"signals": dict(streamtype="analogsignal")}

    def __init__(self, **kargs):
        super().__init__(**kargs)
        self._recorded = self.outputs["signals"]
        self._played = self.inputs["signals"]
        self._pa = None
        self._record_stream = self._play_stream = None
        self._player = None
        self._counter = None

    # -- PortAudio devices --------------------------------------------------

    def _portaudio(self):
        require_pyaudio(self._describe())
        if self._pa is None:
            self._pa = pyaudio.PyAudio()
        return self._pa

    def list_device_specs(self):
        """Return the info dict of every audio device (``index``, ``name``, ``maxInputChannels``, ...)."""
        return portaudio_device_specs(self._portaudio())

    def default_input_device(self):
        """Return the index of the default input device."""
        return self._default_device("input")

    def default_output_device(self):
        """Return the index of the default output device."""
        return self._default_device("output")

    def _default_device(self, direction):
        pa = self._portaudio()
        getter = pa.get_default_input_device_info if direction == "input" else \
            pa.get_default_output_device_info
        try:
            return getter()["index"]
        except OSError:
            raise OSError(f"{self._describe()}: PortAudio has no default {direction} device") from None

    def _device_info(self, index, direction, nb_channel):
        pa = self._portaudio()
        count = pa.get_device_count()
        if not isinstance(index, (int, np.integer)) or not 0 <= index < count:
            raise ValueError(f"{self._describe()}: no audio device with index {index!r} "
                             f"(PortAudio has {count} devices: 0 to {count - 1})")
        info = pa.get_device_info_by_index(int(index))
        key = "maxInputChannels" if direction == "input" else "maxOutputChannels"
        if info[key] < nb_channel:
            raise ValueError(f"{self._describe()}: audio device {index} ({info['name']!r}) has "
                             f"{info[key]} {direction} channels, {nb_channel} requested")
        return info

    # -- lifecycle ------------------------------------------------------------

    def _configure(self, nb_channel=2, sample_rate=44100., input_device_index=None,
                   output_device_index=None, format="int16", chunksize=1024):
        """Choose the devices, the channel count, the rate, the sample format and the chunk size.

        Each chosen device is asked whether it supports this channel count,
        rate and format, so a combination it cannot play or record is refused
        here (ValueError) rather than at initialize().

        Parameters
        ----------
        nb_channel : int, default 2
            Channels recorded and played (>= 1); each chosen device must have
            at least that many input (recording) or output (playback) channels.
        sample_rate : float, default 44100.0
            Samples per second (Hz), rounded to an integer; it must be > 0 and
            supported by the devices.
        input_device_index : int, optional
            PortAudio index of the device to record from (see
            :meth:`list_device_specs`, :meth:`default_input_device`). None: no
            recording, and the node has no output.
        output_device_index : int, optional
            PortAudio index of the device to play to (see
            :meth:`default_output_device`). None: no playback, and the node has
            no input. At least one of the two indexes is required.
        format : {'int16', 'int32', 'float32'}, default 'int16'
            Sample format on the sound card, and the dtype of the streams;
            int16 is the most widely supported, float32 saves a conversion in a
            floating point pipeline.
        chunksize : int, default 1024
            Frames (samples per channel) per chunk, also PortAudio's buffer
            size (>= 1): a chunk is recorded every ``chunksize / sample_rate``
            seconds (23 ms by default); smaller lowers the latency, larger
            lowers the risk of an input overflow on a loaded machine.
        """
        if format not in AUDIO_FORMATS:
            raise ValueError(f"{self._describe()}: unknown format {format!r}; choose one of "
                             f"{list(AUDIO_FORMATS)}")
        if int(nb_channel) != nb_channel or nb_channel < 1 or int(chunksize) != chunksize or chunksize < 1:
            raise ValueError(f"{self._describe()}: nb_channel and chunksize must be positive integers, "
                             f"got {nb_channel!r} and {chunksize!r}")
        if input_device_index is None and output_device_index is None:
            raise ValueError(f"{self._describe()}: give input_device_index (to record) and/or "
                             "output_device_index (to play)")
        rate = round(sample_rate)
        if rate <= 0:
            raise ValueError(f"{self._describe()}: sample_rate must be positive, got {sample_rate!r}")
        nb_channel, chunksize = int(nb_channel), int(chunksize)
        dtype, pa_format_name = AUDIO_FORMATS[format]
        pa_format = getattr(pyaudio, pa_format_name) if HAVE_PYAUDIO else None
        for index, direction in ((input_device_index, "input"), (output_device_index, "output")):
            if index is not None:
                info = self._device_info(index, direction, nb_channel)
                self._check_format(info, direction, rate, nb_channel, pa_format, format)
        self.nb_channel, self.sample_rate, self.format, self.chunksize = nb_channel, rate, format, chunksize
        self.input_device_index, self.output_device_index = input_device_index, output_device_index
        self.dtype, self._pa_format = np.dtype(dtype), pa_format
        self.channel_info = named_channel_info(None, nb_channel)
        stream_spec = dict(dtype=dtype, shape=(-1, nb_channel), sample_rate=float(rate))
        self._recorded.spec.update(stream_spec, nb_channel=nb_channel, channel_info=self.channel_info)
        self._played.spec.update(stream_spec)
        self.outputs = {"signals": self._recorded} if input_device_index is not None else {}
        self.inputs = {"signals": self._played} if output_device_index is not None else {}

    def _check_format(self, info, direction, rate, nb_channel, pa_format, format):
        keywords = {f"{direction}_device": info["index"], f"{direction}_channels": nb_channel,
                    f"{direction}_format": pa_format}
        try:
            self._pa.is_format_supported(rate, **keywords)
        except ValueError as error:
            raise ValueError(f"{self._describe()}: audio device {info['index']} ({info['name']!r}) "
                             f"cannot {'record' if direction == 'input' else 'play'} {nb_channel} "
                             f"channels of {format} at {rate} Hz: {error.args[0]}") from None

    def check_input_specs(self):
        """Refuse to initialize a playing device whose input ``'signals'`` is not connected."""
        if "signals" in self.inputs and not self._played.connected:
            raise RuntimeError(f"{self._describe()} plays: connect its input 'signals' "
                               "before initialize()")

    def _initialize(self):
        if "signals" in self.outputs:
            self._record_stream = self._open_stream(
                "input", input_device_index=self.input_device_index,
                stream_callback=self._on_recorded_chunk)
        if "signals" in self.inputs:
            self._play_stream = self._open_stream("output", output_device_index=self.output_device_index)

    def _open_stream(self, direction, **device):
        try:
            return self._pa.open(format=self._pa_format, channels=self.nb_channel, rate=self.sample_rate,
                                 frames_per_buffer=self.chunksize, start=False,
                                 **{direction: True}, **device)
        except OSError as error:
            index = next(iter(device.values()))
            raise OSError(f"{self._describe()}: cannot open audio device {index} for "
                          f"{direction}: {error}") from error

    def _start(self):
        if self._record_stream is not None:
            self._counter = RecordingIndex(self.sample_rate, self._describe())
            self._record_stream.start_stream()
        if self._play_stream is not None:
            self._play_stream.start_stream()
            self._player = _Player(self, self._played, self._play_stream)
            self._player.start()

    def _stop(self):
        if self._record_stream is not None:
            self._record_stream.stop_stream()
        if self._player is not None:
            self._player.stop()
            self._player = None
            self._play_stream.stop_stream()

    def _close(self):
        for stream in (self._record_stream, self._play_stream):
            if stream is not None:
                stream.close()
        self._record_stream = self._play_stream = None
        for stream in (self._recorded, self._played):
            stream.close()
        if self._pa is not None:
            self._pa.terminate()
            self._pa = None

    @property
    def overflow_count(self):
        """Input overflows (lost recorded samples) since the last start()."""
        return self._counter.overflow_count if self._counter is not None else 0

    @property
    def lost_samples(self):
        """Recorded samples lost to input overflows since the last start() (estimated)."""
        return self._counter.lost_samples if self._counter is not None else 0

    def _on_recorded_chunk(self, in_data, frame_count, time_info, status):
        """PortAudio's callback, in PortAudio's thread: send the chunk with its index."""
        index = self._counter.next_index(frame_count, time_info["input_buffer_adc_time"], status)
        chunk = np.frombuffer(in_data, dtype=self.dtype).reshape(frame_count, self.nb_channel)
        try:
            self._recorded.send(chunk, index=index)
        except Exception as error:  # noqa: BLE001 -- PortAudio's thread must not raise
            self.report_thread_failure(error, "PortAudio recording callback")
            return None, pyaudio.paAbort
        return None, pyaudio.paContinue


class _Player(NodeThread):
    """Writes every chunk received on ``input`` to the PortAudio output ``stream`` until stop()."""

    def __init__(self, node, input, stream):
        self.describe = node._describe()
        super().__init__(node, name=f"{self.describe} playback")
        self.input, self.stream = input, stream
        self._stopping = threading.Event()

    def stop(self, timeout=10.0):
        self._stopping.set()
        self.join(timeout)
        if self.is_alive():
            logger.error("%s: playback did not stop within %.0f s", self.describe, timeout)

    def work(self):
        while not self._stopping.is_set():
            if self.input.poll(timeout=50):
                _, chunk = self.input.recv(return_data=True)
                # pyaudio's write() accepts only bytes (no buffer with a release hook).
                self.stream.write(chunk.tobytes(), num_frames=len(chunk))
