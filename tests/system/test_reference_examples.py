"""The core examples of the pyacq 2.0 documentation run as written.

Each example is run verbatim in a fresh interpreter; lines appended after it
only observe the result.
"""
import subprocess
import sys
import textwrap
import time

SIMPLE_STREAM_EXAMPLE = """
import numpy as np
import pyacq
import threading
data = np.array([[1,2], [3,4], [5,6]])
# Create and configure the output stream (sender)
out = pyacq.OutputStream()
out.configure(dtype=data.dtype)
# Create the input stream (receiver) and connect it to
# the output stream
inp = pyacq.InputStream()
inp.connect(out)

# Start a background thread that just receives and prints
# data from the input stream
def receiver():
    global inp
    while True:
        d = inp.recv()
        print("Received: %s" % repr(d))

thread = threading.Thread(target=receiver, daemon=True)
thread.start()

# Send data through the stream
out.send(data)
"""

PROCESS_STREAM_EXAMPLE = """
import pyacq
# Start a local RPC server so that a remote InputStream will be able
# to make configuration requests from a local OutputStream:
s = pyacq.RPCServer()
s.run_lazy()
# Create the output stream in the local process
o = pyacq.OutputStream()
o.configure(dtype=float)
# Spawn a new process and create an InputStream there
p = pyacq.ProcessSpawner()
rpyacq = p.client._import('pyacq')
i = rpyacq.InputStream()
# Connect the streams exactly as if they were local
i.connect(o)
"""

PROXY_EXAMPLE = """
from pyacq.core.rpc import ProcessSpawner
# Start a new process with an RPCServer running inside
proc = ProcessSpawner()
# Ask the remote process to import a module and return a proxy to it
remote_col = proc.client._import('collections')
# Create a new object (an ordered dict) in the remote process
remote_dict = remote_col.OrderedDict()
# Interact with the new object exactly as if it were local:
remote_dict['x'] = 1
assert 'x' in remote_dict.keys()
assert remote_dict['x'] == 1
"""


def run_example(code, appended="", timeout=120):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code) + textwrap.dedent(appended)],
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_simple_stream_between_threads():
    """4.2.1: an array sent on a default OutputStream is printed by the receiving thread.

    The documentation prints the index as 6; by its own definition (absolute index of
    the last sample + 1, samples along axis 0) three samples end at index 3."""
    waiting = "\nimport sys\nsys.stdin.read()\n"  # keeps the process alive until the test is done
    proc = subprocess.Popen([sys.executable, "-c", SIMPLE_STREAM_EXAMPLE + waiting],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 60
        lines = []
        while not any("Received" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, lines
            lines.append(proc.stdout.readline())
        received = "".join(lines[-1:]) + "".join(proc.stdout.readline() for _ in range(2))
        assert received.replace(" ", "").replace("\n", "") == \
            "Received:(3,array([[1,2],[3,4],[5,6]]))"
    finally:
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0, proc.stderr.read()
        proc.stdout.close()
        proc.stderr.close()


def test_stream_between_processes():
    """4.2.2: an InputStream created in a spawned process connects to a local OutputStream
    through its proxy, and then receives what is sent."""
    result = run_example(PROCESS_STREAM_EXAMPLE, """
        import numpy as np
        o.send(np.array([[1.5], [2.5]]))
        index, data = i.recv()
        print(index, data.tolist())
        p.close()
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[-2] == "2 [[1.5], [2.5]]"


def test_remote_ordered_dict():
    """5.2.1: a remote OrderedDict behaves like a local one through its proxy."""
    result = run_example(PROXY_EXAMPLE, "\nproc.close()\nprint('ok')\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
