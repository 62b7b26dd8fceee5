"""The example third-party plugin streams real data once created by name."""
import time

import numpy as np
from pyacq.core import InputStream, get_node_type


def test_sine_generator_by_name_streams_sines():
    """SineGenerator, found through its entry point, sends the documented sine waves."""
    node = get_node_type("SineGenerator")(name="sine")
    node.configure(nb_channel=3, sample_rate=2000.0, chunksize=100, frequency=5.0)
    node.output.configure(protocol="inproc", transfermode="plaindata")
    inp = InputStream()
    inp.connect(node.output)
    node.initialize()
    node.start()
    chunks = []
    deadline = time.monotonic() + 30
    while len(chunks) < 5:
        assert time.monotonic() < deadline, "SineGenerator sent nothing for 30 s"
        if inp.poll(timeout=100):
            chunks.append(np.array(inp.recv()[1]))
    node.stop()
    node.close()
    inp.close()
    data = np.concatenate(chunks)
    t = np.arange(len(data))[:, None] / 2000.0
    expected = np.sin(2 * np.pi * np.array([5.0, 10.0, 15.0]) * t)
    np.testing.assert_allclose(data, expected, atol=1e-6)
