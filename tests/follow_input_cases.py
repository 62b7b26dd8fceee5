"""Nodes with an input and an output, and how to drive them in either order of the documented steps.

The documented order is ``configure()``, configure the outputs, connect the
inputs, ``initialize()``; many scripts connect the inputs first. Either way a
node whose output follows its input (a filter keeps its input's dtype and
sample rate) must end ``initialize()`` with output params taken from the
connected input, keeping the protocol and transfer mode given to the output's
``configure()``. Each :class:`Case` is one node type: its upstream stream, the
samples sent, the params its output must have and what it must send.
:func:`drive` takes a node, local or an RPC proxy to one in a NodeGroup,
through the steps in the order asked.
"""
import contextlib
import dataclasses
from collections.abc import Callable

import numpy as np
import scipy.signal
from pyacq.core import InputStream, OutputStream, get_node_type

SAMPLE_RATE = 1000.0
N_SAMPLES = 1000
CHUNK = 100
#: The two orders of the documented steps.
ORDERS = ("output_first", "input_first")
SOS = scipy.signal.iirfilter(2, 100.0, btype="lowpass", fs=SAMPLE_RATE, output="sos")
#: An analog float64 input of 3 channels: the output of a node that follows it is float64 too
#: (an OutputStream configured with no dtype would say float32).
ANALOG = dict(streamtype="analogsignal", dtype="float64", shape=(-1, 3), sample_rate=SAMPLE_RATE)
#: Where the pulses of the trigger inputs rise, and where they fall.
RISES, FALLS = (250, 750), (500, 900)


def noise():
    return np.random.default_rng(0).standard_normal((N_SAMPLES, 3))


def pulses(dtype, low, high):
    """Channel 0 at ``high`` during the pulses, ``low`` elsewhere."""
    data = np.full((N_SAMPLES, 3 if dtype == np.float64 else 1), low, dtype=dtype)
    for rise, fall in zip(RISES, FALLS, strict=True):
        data[rise:fall, 0] = high
    return data


def spikes():
    """Noise with three deep troughs on channel 1."""
    data = noise()
    data[[300, 500, 700], 1] = -40.0
    return data


@dataclasses.dataclass
class Case:
    """One node type driven with a real upstream stream.

    ``expected`` holds params the node's output must have after initialize();
    ``expected_output(data)`` what it sends for the upstream ``data`` (compared
    with what arrived, which may stop short of it: a node may hold the last
    samples back until stop()); ``min_items`` how many items must arrive (by
    default all the expected output). ``other_outputs`` are configured with
    the same keywords, at the same step.
    """

    node_type: str
    output: str
    configure: dict
    stream: dict
    expected: dict
    make_data: Callable
    expected_output: Callable = None
    min_items: int = None
    other_outputs: tuple = ()

    def __str__(self):
        return self.node_type

    def items_needed(self, data):
        return len(self.expected_output(data)) if self.min_items is None else self.min_items


CORE_CASES = [
    Case("StreamConverter", "out", {}, ANALOG,
         dict(dtype="<f8", shape=[-1, 3], sample_rate=SAMPLE_RATE), noise, lambda data: data),
    Case("ChannelSplitter", "pair", dict(output_channels={"pair": [2, 0]}), ANALOG,
         dict(dtype="<f8", shape=[-1, 2], sample_rate=SAMPLE_RATE), noise,
         lambda data: data[:, [2, 0]]),
    Case("ChunkResizer", "out", dict(chunksize=64), ANALOG,
         dict(dtype="<f8", shape=[64, 3], sample_rate=SAMPLE_RATE), noise, lambda data: data,
         min_items=N_SAMPLES // 64 * 64),
]

DSP_CASES = [
    Case("SosFilter", "signals", dict(coefficients=SOS), ANALOG,
         dict(dtype="<f8", shape=[-1, 3], sample_rate=SAMPLE_RATE, nb_channel=3), noise,
         lambda data: scipy.signal.sosfilt(SOS, data, axis=0)),
    Case("OverlapFiltfilt", "signals", dict(coefficients=SOS, chunksize=200, overlapsize=100), ANALOG,
         dict(dtype="<f8", shape=[-1, 3], sample_rate=SAMPLE_RATE, nb_channel=3), noise,
         min_items=N_SAMPLES - 200),
    Case("SpikeDetector", "waveforms", dict(noise_duration=0.1), ANALOG,
         # waveform_window (-1 ms, 1.5 ms) at the input's 1 kHz: 1 sample before the peak, 2 after.
         dict(dtype="<f4", shape=[-1, 3]), spikes, min_items=3, other_outputs=("spikes",)),
    Case("AnalogTrigger", "events", {}, ANALOG, dict(dtype="<i8", shape=[-1]),
         lambda: pulses(np.float64, -1.0, 1.0), lambda data: np.array(RISES)),
    Case("DigitalTrigger", "events", {},
         dict(streamtype="digitalsignal", dtype="uint8", shape=(-1, 1), sample_rate=SAMPLE_RATE),
         dict(dtype="<i8", shape=[-1]), lambda: pulses(np.uint8, 0, 1), lambda data: np.array(RISES)),
]


def output_keywords(protocol, transfermode):
    """What a user passes to the node's output configure(): transport only."""
    extra = {"buffer_size": 4 * N_SAMPLES} if transfermode == "sharedmem" else {}
    return dict(protocol=protocol, transfermode=transfermode, **extra)


def drive(case, order, node, source, output_kwargs):
    """configure() ``node``, then configure its output and connect its input to ``source`` in
    ``order``, then initialize(); return the output (a proxy for a remote node)."""
    node.configure(**case.configure)
    outputs = [node.outputs[name] for name in (case.output, *case.other_outputs)]
    if order == "output_first":
        for output in outputs:
            output.configure(**output_kwargs)
        node.input.connect(source)
    else:
        node.input.connect(source)
        for output in outputs:
            output.configure(**output_kwargs)
    node.initialize()
    return outputs[0]


def check_params(case, params, output_kwargs):
    """The output's params follow the input and keep the user's transport."""
    for key, value in {**case.expected, **output_kwargs}.items():
        assert params[key] == value, f"{case}: output {key}={params[key]!r}, expected {value!r}"


def send_all(source, data):
    for stop in range(CHUNK, len(data) + 1, CHUNK):
        source.send(np.ascontiguousarray(data[stop - CHUNK:stop]))


def receive(case, data, reader, timeout_ms=30000):
    """Receive until the items ``case`` needs for ``data`` arrived; return them."""
    chunks, count, needed = [], 0, case.items_needed(data)
    while count < needed:
        assert reader.poll(timeout_ms), f"{case}: only {count} of {needed} items arrived"
        _, chunk = reader.recv(return_data=True)
        chunks.append(np.array(chunk))
        count += len(chunk)
    return np.concatenate(chunks)


def check_received(case, data, received, params):
    """What arrived has the output's dtype and shape and, where known, the expected values."""
    assert received.dtype == np.dtype(params["dtype"]), f"{case}: received {received.dtype}"
    assert list(received.shape[1:]) == params["shape"][1:], f"{case}: received {received.shape}"
    if case.expected_output is not None:
        expected = case.expected_output(data)
        np.testing.assert_allclose(received, expected[:len(received)], rtol=0, atol=1e-12,
                                   err_msg=str(case))


def shut(node):
    """Stop ``node`` if it runs and close it if it is not closed (local or proxy)."""
    if node.running():
        node.stop()
    if not node.closed():
        node.close()


def run_locally(case, order, transfermode):
    """Drive a node of ``case`` made in this thread in ``order`` (inproc streams) and check
    its output; the streams and the node are closed on the way out."""
    with contextlib.ExitStack() as cleanup:
        node = get_node_type(case.node_type)(name="node")
        cleanup.callback(shut, node)
        _run(case, order, node, "inproc", transfermode, cleanup)


def run_in_nodegroup(case, order, transfermode, nodegroup):
    """The same for a node created by name in ``nodegroup`` (tcp streams to and from it)."""
    with contextlib.ExitStack() as cleanup:
        node = nodegroup.create_node(case.node_type, name=f"{case}-{order}-{transfermode}")
        cleanup.callback(shut, node)
        _run(case, order, node, "tcp", transfermode, cleanup)


def _run(case, order, node, protocol, transfermode, cleanup):
    source = OutputStream(name="source")
    cleanup.callback(source.close)
    source.configure(protocol=protocol, transfermode="plaindata", **case.stream)
    kwargs = output_keywords(protocol, transfermode)
    output = drive(case, order, node, source, kwargs)
    params = output.params
    if not isinstance(params, dict):  # a proxy to a remote node's params
        params = params._get_value()
    check_params(case, params, kwargs)
    reader = InputStream(name="reader")
    cleanup.callback(reader.close)
    reader.connect(output)
    node.start()
    data = case.make_data()
    send_all(source, data)
    check_received(case, data, receive(case, data, reader), params)
