"""Receiving a stream in your own script: no node, just an InputStream.
=====================================================================

A device runs in a NodeGroup (another process, as it would on an acquisition
machine) and streams over tcp; this script connects an
:class:`~pyacq.core.stream.InputStream` to that output through the node's proxy
and reads chunks in a plain loop, as an analysis script or a closed-loop
experiment would. Each chunk comes with the index of its last sample + 1, so
the script knows where it is in the stream; the input counts any samples that
never arrived (``gap_count``, ``lost_samples``). Run it with::

    python receive_in_a_script.py                # 10 s
    python receive_in_a_script.py --duration 3
"""
import argparse
import time

import numpy as np
from pyacq import InputStream, create_manager


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds to receive")
    return parser.parse_args()


def receive(output, duration):
    """Read ``output``'s chunks for ``duration`` seconds; return (samples, mean per channel, input)."""
    stream = InputStream()
    stream.connect(output)  # an OutputStream, a proxy to one, or its params dict
    received, total, first = 0, None, None
    deadline = time.monotonic() + duration
    while time.monotonic() < deadline:
        if not stream.poll(timeout=100):  # ms; a plain recv() would wait forever
            continue
        index, chunk = stream.recv()  # chunk: (samples, channels), read-only
        if first is None:  # index is the chunk's last sample + 1, counted from the start
            first = index - chunk.shape[0]
            print(f"first sample received: number {first} of the stream")
        received += chunk.shape[0]
        total = chunk.sum(axis=0) if total is None else total + chunk.sum(axis=0)
    stream.close()
    return received, total / max(received, 1), stream


def main():
    args = parse_args()
    manager = create_manager()
    try:
        acquisition = manager.create_nodegroup(name="acquisition", qt=False)
        device = acquisition.create_node("NumpyDeviceBuffer", name="eeg")
        device.configure(nb_channel=8, sample_interval=0.001, chunksize=20)
        device.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        device.initialize()
        device.start()
        received, mean, stream = receive(device.output, args.duration)
        device.stop()
        device.close()
    finally:
        manager.close()
    print(f"samples received: {received}")
    print(f"mean of each channel: {np.array2string(mean, precision=3)}")
    print(f"gaps: {stream.gap_count}, samples lost: {stream.lost_samples}")


if __name__ == "__main__":
    main()
