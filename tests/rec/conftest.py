"""Helpers of the recorder tests: a device thread streaming known data as fast as it is recorded."""
import os
import shutil
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from pyacq.core import OutputStream

EVENT_DTYPE = np.dtype([("index", "<i8"), ("label", "S8")])
CHILD_SCRIPT = os.path.join(os.path.dirname(__file__), "recording_child.py")


def known_signal(n_samples, nb_channel, start=0):
    """float32 samples that identify their position: exact integers below 2**24."""
    index = np.arange(start, start + n_samples, dtype=np.int64)[:, None]
    return ((index * nb_channel + np.arange(nb_channel)) % (1 << 24)).astype(np.float32)


def analog_output(nb_channel, sample_rate, name="signals", **params):
    """A configured analog OutputStream with channel names, as a device would declare it."""
    output = OutputStream(spec=dict(channel_info=[{"name": f"ch{i}"} for i in range(nb_channel)],
                                    nb_channel=nb_channel), name=name)
    output.configure(protocol="tcp", transfermode="plaindata", shape=(-1, nb_channel),
                     dtype="float32", sample_rate=sample_rate, units="uV", scale=0.5, offset=1.0,
                     **params)
    return output


def event_output():
    output = OutputStream(name="events")
    output.configure(protocol="tcp", transfermode="plaindata", streamtype="event", shape=(-1,),
                     dtype=EVENT_DTYPE)
    return output


def wait_for(condition, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.002)


class DeviceThread(threading.Thread):
    """Sends ``chunks`` with their ``indexes`` on ``output`` as fast as ``track`` records them.

    At most ``window`` chunks are in flight, so no ZeroMQ queue overflows: every
    gap the recorder sees is one the test declared with an index jump.
    """

    def __init__(self, output, chunks, indexes, track, window=50):
        super().__init__(daemon=True)
        self.output, self.chunks, self.indexes, self.track, self.window = (
            output, chunks, indexes, track, window)
        self.error = None

    def run(self):
        try:
            for k, (chunk, index) in enumerate(zip(self.chunks, self.indexes, strict=True)):
                if k >= self.window:
                    behind = self.indexes[k - self.window]
                    wait_for(lambda behind=behind: (self.track.expected or 0) >= behind,
                             what=f"the recorder to reach index {behind}")
                self.output.send(chunk, index=index)
        except Exception as exc:  # noqa: BLE001 -- re-raised in the test thread by finish()
            self.error = exc

    def finish(self, timeout=60.0):
        self.join(timeout)
        assert not self.is_alive(), "device thread did not finish"
        if self.error is not None:
            raise self.error


@pytest.fixture
def run_child():
    """Run tests/rec/recording_child.py with arguments; yield a function returning the Popen."""
    procs = []

    def start(*args, prefix=()):
        proc = subprocess.Popen([*prefix, sys.executable, CHILD_SCRIPT, *map(str, args)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)


def unprivileged_prefix():
    """Command prefix dropping root's power to ignore file permissions (none when not root)."""
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.fail("running as root, the permission test needs util-linux's setpriv to drop "
                    "capabilities (apt-get install util-linux)")
    return (setpriv, "--inh-caps=-all", "--bounding-set=-all", "--")
