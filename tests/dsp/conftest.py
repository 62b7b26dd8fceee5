"""Helpers for the pyacq.dsp tests: real streams in, real streams out.

A node under test reads a real OutputStream (``source``) and its outputs are
read by real InputStreams; every wait has a timeout.
"""
import itertools
import time

import numpy as np
import pytest
from pyacq.core import InputStream, OutputStream
from pyacq.dsp.openclsos import HAVE_PYOPENCL, first_device


def opencl_unavailable_reason():
    if not HAVE_PYOPENCL:
        return "pyopencl is not installed (pip install 'pyacq-dsp[opencl]')"
    try:
        first_device()
    except RuntimeError as exc:
        return f"no OpenCL device (install pocl-opencl-icd for the CPU): {exc}"
    return None


needs_opencl = pytest.mark.skipif(opencl_unavailable_reason() is not None,
                                  reason=str(opencl_unavailable_reason()))


class Source:
    """An OutputStream standing in for an upstream device, with helpers to send."""

    def __init__(self):
        self.output = OutputStream(name="source")

    def configure(self, nb_channel=None, channel_info=None, **params):
        # The stream layer takes channel metadata only from the spec, as a device node sets it.
        if nb_channel is not None:
            self.output.spec.update(nb_channel=nb_channel, channel_info=channel_info)
        self.output.configure(protocol="inproc", transfermode="plaindata", **params)
        return self.output

    def send_in_chunks(self, data, cuts, index_offset=0):
        """Send ``data`` cut at the sample positions ``cuts``; return the chunk lengths."""
        bounds = [0, *sorted(set(cuts) - {0, len(data)}), len(data)]
        for start, stop in itertools.pairwise(bounds):
            self.output.send(np.ascontiguousarray(data[start:stop]), index=stop + index_offset)
        return np.diff(bounds)


def _random_cuts(n_samples, mean_chunk, rng, forced=()):
    """Random chunk boundaries (mean length ``mean_chunk``) plus the ``forced`` ones."""
    cuts = np.cumsum(rng.integers(1, 2 * mean_chunk, size=2 * n_samples // mean_chunk + 2))
    return sorted({int(c) for c in cuts if c < n_samples} | set(forced))


def wait_until(condition, timeout=30.0):
    """Wait (polling) until ``condition()`` is true; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"condition not met within {timeout} s"
        time.sleep(0.005)


class Sink:
    """An InputStream reading a node's output and accumulating what arrives."""

    def __init__(self, output):
        self.input = InputStream(name="sink")
        self.input.connect(output)
        self.indexes, self.chunks = [], []

    def receive_until(self, done, timeout=30.0):
        """Receive chunks until ``done(self)`` is true; fail after ``timeout`` s."""
        deadline = time.monotonic() + timeout
        while not done(self):
            assert time.monotonic() < deadline, (
                f"timed out after {timeout} s with {len(self.chunks)} chunks, "
                f"last index {self.indexes[-1] if self.indexes else None}")
            self._receive_one(50)

    def receive_samples(self, n_samples, timeout=30.0):
        self.receive_until(lambda sink: sum(len(c) for c in sink.chunks) >= n_samples, timeout)
        return self.data()

    def receive_all(self, node, input_name, last_index, timeout=30.0):
        """Receive everything ``node`` sends for its input up to ``last_index``.

        Waits until the node has handled that chunk, then reads until the
        output has nothing more queued: a node sends before it marks a chunk
        handled, so nothing it sent can be missed.
        """
        deadline = time.monotonic() + timeout
        while node.processed_until[input_name] != last_index:
            assert time.monotonic() < deadline, (
                f"{node} handled only up to {node.processed_until[input_name]} of {last_index}")
            self._receive_one(50)
        while self._receive_one(200):
            assert time.monotonic() < deadline, "the output never went quiet"
        return self.data()

    def _receive_one(self, timeout_ms):
        if not self.input.poll(timeout_ms):
            return False
        index, data = self.input.recv(return_data=True)
        self.indexes.append(index)
        self.chunks.append(np.array(data))
        return True

    def data(self):
        return np.concatenate(self.chunks) if self.chunks else None


@pytest.fixture
def closing():
    """``closing(node_or_stream)`` registers it to be stopped/closed after the test."""
    things = []
    yield things.append
    for thing in reversed(things):
        if hasattr(thing, "running") and thing.running():
            thing.stop()
        if hasattr(thing, "closed") and callable(thing.closed):
            if not thing.closed():
                thing.close()
        else:
            thing.close()


@pytest.fixture
def make_source(closing):
    """``make_source()``: a new :class:`Source`, closed after the test."""
    def make():
        src = Source()
        closing(src.output)
        return src
    return make


@pytest.fixture
def source(make_source):
    return make_source()


@pytest.fixture
def wait():
    """``wait(condition, timeout=30.0)``: poll until ``condition()`` is true, or fail."""
    return wait_until


@pytest.fixture
def random_cuts():
    """``random_cuts(n_samples, mean_chunk, rng, forced=())``: sorted chunk boundaries."""
    return _random_cuts


@pytest.fixture
def make_sink(closing):
    def make(output):
        sink = Sink(output)
        closing(sink.input)
        return sink
    return make
