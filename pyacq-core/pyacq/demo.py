"""``pyacq demo``: a simulated amplifier streaming into a live printout.

A NumpyDeviceBuffer node (plugin ``pyacq-devices``, created by name through the
registry) streams a multi-channel signal at its real rate over a stream; this
process receives every chunk, checks that no sample is lost, and prints once a
second what arrived.
"""
import time

import numpy as np

from pyacq.core.registry import UnknownNodeTypeError, get_node_type
from pyacq.core.stream import InputStream


def run_demo(duration=5.0, nb_channel=8, sample_rate=1000.0, chunksize=50,
             transfermode="plaindata", protocol="tcp", report=print):
    """Run the pipeline for ``duration`` seconds; return ``(samples received, gaps)``."""
    try:
        device_class = get_node_type("NumpyDeviceBuffer")
    except UnknownNodeTypeError:
        raise SystemExit("pyacq demo needs the pyacq-devices plugin: pip install pyacq-devices") from None
    device = device_class(name="simulated_eeg")
    device.configure(nb_channel=nb_channel, sample_interval=1.0 / sample_rate, chunksize=chunksize)
    ring = {"buffer_size": int(10 * sample_rate)} if transfermode == "sharedmem" else {}
    device.output.configure(protocol=protocol, interface="127.0.0.1", transfermode=transfermode, **ring)
    device.initialize()
    receiver = InputStream(name="printout")
    receiver.connect(device.output)
    report(f"{device.name}: {nb_channel} channels at {sample_rate:g} Hz, chunks of {chunksize}, "
           f"{transfermode} over {device.output.params['url']}")
    received = 0
    device.start()
    try:
        started = time.monotonic()
        next_report = started + 1.0
        squares = np.zeros(nb_channel)
        while time.monotonic() - started < duration:
            if not receiver.poll(timeout=200):
                continue
            index, chunk = receiver.recv(return_data=True)
            received += len(chunk)
            squares += np.square(chunk, dtype="float64").sum(axis=0)
            if time.monotonic() >= next_report:
                rms = np.sqrt(squares / max(received, 1))
                report(f"t={time.monotonic() - started:4.1f}s  index={index:7d}  "
                       f"received={received:7d}  gaps={receiver.gap_count}  "
                       f"rms[0:4]={np.array2string(rms[:4], precision=2)}")
                next_report += 1.0
    finally:
        device.stop()
        device.close()
        receiver.close()
    report(f"done: {received} samples received, {receiver.gap_count} gaps, "
           f"{receiver.lost_samples} samples lost")
    return received, receiver.gap_count
