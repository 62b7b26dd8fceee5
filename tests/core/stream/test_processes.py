"""Streams between real processes: shared memory and plaindata given only the params.

The peer process is a fresh interpreter (``subprocess``) running a small
script; the two sides talk over its stdin/stdout, one JSON line at a time,
and every wait on the peer has a timeout.
"""
import json
import os
import selectors
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pyacq.core.stream import InputStream, OutputStream

PEER_TIMEOUT = 30.0
PYACQ_CORE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "pyacq-core"))

WRITER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from pyacq.core.stream import OutputStream
    config = json.loads(sys.argv[1])
    out = OutputStream()
    out.configure(**config)
    print(json.dumps(out.params), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command == "close":
            break
        start, stop = command
        chunk = (np.arange(start, stop)[:, None] * 4 + np.arange(4)).astype("float32")
        out.send(chunk, index=stop)
        print(json.dumps("sent"), flush=True)
    out.close()
""")

READER = textwrap.dedent("""
    import json, sys
    from pyacq.core.stream import InputStream
    inp = InputStream()
    inp.connect(json.loads(sys.stdin.readline()))
    print(json.dumps("connected"), flush=True)
    assert inp.poll(30000)
    index, data = inp.recv(return_data=True)
    print(json.dumps([index, data.tolist()]), flush=True)
    inp.close()
""")


class Peer:
    """A python subprocess driven line by line, with a timeout on every read."""

    def __init__(self, script, *args):
        env = dict(os.environ, PYTHONPATH=PYACQ_CORE + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, env=env,
        )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout, selectors.EVENT_READ)

    def send(self, value):
        self.proc.stdin.write(json.dumps(value) + "\n")
        self.proc.stdin.flush()

    def read(self):
        if not self._selector.select(timeout=PEER_TIMEOUT):
            raise TimeoutError(f"peer process said nothing within {PEER_TIMEOUT} s")
        line = self.proc.stdout.readline()
        assert line, f"peer process exited with code {self.proc.wait(timeout=PEER_TIMEOUT)}"
        return json.loads(line)

    def finish(self):
        """Wait for the peer to exit cleanly."""
        self.proc.stdin.close()
        assert self.proc.wait(timeout=PEER_TIMEOUT) == 0
        self._selector.close()
        self.proc.stdout.close()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=PEER_TIMEOUT)


@pytest.fixture
def peers():
    started = []
    yield lambda *args: started.append(Peer(*args)) or started[-1]
    for peer in started:
        peer.kill()


def _expected(start, stop):
    return (np.arange(start, stop)[:, None] * 4 + np.arange(4)).astype("float32")


@pytest.mark.parametrize("protocol,mode", [
    ("tcp", "sharedmem"), ("ipc", "sharedmem"), ("tcp", "plaindata"), ("ipc", "plaindata"),
])
def test_writer_in_another_process(protocol, mode, peers, streams, leftovers_of):
    """A reader connected with only the params of an OutputStream living in another
    process receives its chunks (shared memory mapped read-only, or plaindata bytes);
    the writer's segment and ipc file are gone when it closes."""
    config = dict(protocol=protocol, transfermode=mode, shape=(-1, 4), buffer_size=64,
                  double=True)
    writer = peers(WRITER, json.dumps(config))
    params = writer.read()
    inp = InputStream()
    streams(inp)
    inp.connect(params)
    for start in range(0, 200, 25):
        writer.send([start, start + 25])
        assert writer.read() == "sent"
        assert inp.poll(10000)
        index, data = inp.recv(return_data=True)
        assert index == start + 25
        np.testing.assert_array_equal(data, _expected(start, start + 25))
    if mode == "sharedmem":
        assert not inp[-10:].flags.writeable
        np.testing.assert_array_equal(inp[150:200], _expected(150, 200))
    assert inp.gap_count == 0
    writer.send("close")
    writer.finish()
    assert not leftovers_of(writer.proc.pid)


def test_reader_exit_leaves_shared_memory_to_writer(peers, streams):
    """A reader process that maps the writer's segment and exits does not remove it:
    the writer keeps streaming to a new reader; the segment goes when the writer closes."""
    out = OutputStream()
    streams(out)
    out.configure(protocol="tcp", transfermode="sharedmem", shape=(-1, 4), buffer_size=64)
    segment = "/dev/shm" + out.params["shm_id"]
    reader = peers(READER)
    reader.send(out.params)
    assert reader.read() == "connected"
    out.send(_expected(0, 10))
    index, data = reader.read()
    assert index == 10 and np.array_equal(data, _expected(0, 10))
    reader.finish()

    assert os.path.exists(segment)
    inp = InputStream()
    streams(inp)
    inp.connect(out)
    out.send(_expected(10, 20))
    assert inp.poll(10000)
    np.testing.assert_array_equal(inp.recv(return_data=True)[1], _expected(10, 20))
    out.close()
    assert not os.path.exists(segment)
