"""Writing a processing node: a signal envelope, computed chunk by chunk.
======================================================================

Shows what a processing node needs on :class:`pyacq.dsp.ProcessingNode`, the
base of pyacq's filters and triggers: ``_input_specs`` and ``_output_specs``
naming the streams, ``_output_follows`` saying that the output describes the
same signal as the input (dtype, channels, sample rate), ``update_output_specs``
copying that description when the input connects, ``_chunk_handlers`` naming
the method called for every chunk, in a thread of its own, and
``_reset_processing`` forgetting the state at every start.

The node rectifies each channel and smooths it with a one-pole low-pass (an
amplitude envelope). Its filter state is carried from chunk to chunk, so the
output equals the same computation applied to the whole signal at once, which
the script checks at the end. Run it with::

    python processing_node.py                # 5 s
    python processing_node.py --duration 2
"""
import argparse
import time

import numpy as np
import scipy.signal
from pyacq.core.stream import InputStream
from pyacq.devices import NumpyDeviceBuffer
from pyacq.dsp import ProcessingNode


class Envelope(ProcessingNode):
    """The smoothed absolute value of each channel of a float (time, channel) signal."""

    _input_specs = {"signals": dict(streamtype="analogsignal")}
    _output_specs = {"signals": dict(streamtype="analogsignal")}
    _output_follows = {"signals": ("signals",)}
    _chunk_handlers = {"signals": "_process_signals"}

    def _configure(self, time_constant=0.05):
        """Set the smoothing.

        Parameters
        ----------
        time_constant : float, default 0.05
            Time constant of the low-pass, in seconds: longer is smoother and slower.
        """
        self.time_constant = float(time_constant)

    def update_output_specs(self):
        params = self.inputs["signals"].params
        if params.get("shape") is not None:
            self.forward_signal_params("signals", params)

    def _initialize(self):
        rate = self.inputs["signals"].params["sample_rate"]
        decay = np.exp(-1.0 / (self.time_constant * rate))
        self._b, self._a = np.array([1.0 - decay]), np.array([1.0, -decay])
        self._nb_channel = self.inputs["signals"].params["shape"][1]

    def _reset_processing(self):
        self._state = np.zeros((1, self._nb_channel))

    def _process_signals(self, index, data, lost):
        if lost is None:  # a new stream (first chunk, or the source restarted)
            self._reset_processing()
        envelope, self._state = scipy.signal.lfilter(self._b, self._a, np.abs(data), axis=0,
                                                     zi=self._state)
        self.output.send(envelope.astype(data.dtype), index=index)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, default=5.0, help="seconds to run")
    return parser.parse_args()


def main():
    args = parse_args()
    device = NumpyDeviceBuffer(name="device")
    device.configure(nb_channel=2, sample_interval=0.001, chunksize=25)
    device.output.configure(protocol="inproc", transfermode="plaindata")
    device.initialize()

    envelope = Envelope(name="envelope")
    envelope.configure(time_constant=0.02)
    envelope.input.connect(device.output)
    envelope.output.configure(protocol="inproc", transfermode="plaindata")
    envelope.initialize()

    raw, smoothed = InputStream(), InputStream()
    raw.connect(device.output)
    smoothed.connect(envelope.output)
    envelope.start()
    device.start()
    chunks = {"raw": [], "envelope": []}
    deadline = time.monotonic() + args.duration
    while time.monotonic() < deadline:
        for name, stream in (("raw", raw), ("envelope", smoothed)):
            if stream.poll(timeout=10):
                chunks[name].append(stream.recv()[1])
    device.stop()
    while smoothed.poll(timeout=500):  # the chunks still in the envelope's thread
        chunks["envelope"].append(smoothed.recv()[1])
    envelope.stop()
    for node in (envelope, device):
        node.close()
    raw.close()
    smoothed.close()

    signal = np.concatenate(chunks["raw"])
    result = np.concatenate(chunks["envelope"])[:len(signal)]
    decay = np.exp(-1.0 / (0.02 * 1000.0))
    whole = scipy.signal.lfilter([1.0 - decay], [1.0, -decay], np.abs(signal), axis=0)
    print(f"samples processed: {len(result)}")
    print(f"largest difference from processing the whole signal at once: "
          f"{np.max(np.abs(result - whole)):.2e}")
    print(f"chunks that failed: {envelope.processing_error_count}")


if __name__ == "__main__":
    main()
