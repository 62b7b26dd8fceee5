"""A first pipeline: simulated signals, a band-pass filter and an oscilloscope.
================================================================================

The three kinds of node in one process: a device (NumpyDeviceBuffer replays a
generated 4-channel test signal at 1 kHz), a processing node (SosFilter, a 1-20 Hz
Butterworth band-pass designed with scipy) and a viewer (QOscilloscope). Each node
walks the same steps: configure, configure its outputs, connect its inputs,
initialize, start; then stop and close. Run it with::

    python first_pipeline.py                # until the window is closed
    python first_pipeline.py --duration 5   # quit after 5 s

It prints how many samples went through the filter and the gaps the viewer saw
(0 unless samples were lost).
"""
import argparse

import pyqtgraph as pg
import scipy.signal
from pyacq.devices import NumpyDeviceBuffer
from pyacq.dsp import SosFilter
from pyacq.viewers import QOscilloscope

SAMPLE_RATE = 1000.0
NB_CHANNEL = 4


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, help="quit after this many seconds")
    return parser.parse_args()


def build_pipeline():
    """The three nodes, configured, connected and initialized."""
    device = NumpyDeviceBuffer(name="device")
    device.configure(nb_channel=NB_CHANNEL, sample_interval=1 / SAMPLE_RATE, chunksize=50)
    device.output.configure(protocol="inproc", transfermode="plaindata")
    device.initialize()

    band_pass = SosFilter(name="band-pass")
    coefficients = scipy.signal.butter(4, [1.0, 20.0], btype="bandpass", output="sos",
                                       fs=SAMPLE_RATE)
    band_pass.configure(coefficients=coefficients)
    band_pass.input.connect(device.output)
    band_pass.output.configure(protocol="inproc", transfermode="plaindata")
    band_pass.initialize()

    viewer = QOscilloscope(name="viewer")
    viewer.configure(with_user_dialog=False)
    viewer.input.connect(band_pass.output)
    viewer.initialize()
    viewer.params["display_labels"] = True
    viewer.params["scale_mode"] = "by_channel"
    return device, band_pass, viewer


def main():
    args = parse_args()
    app = pg.mkQApp()
    nodes = build_pipeline()
    viewer = nodes[-1]
    viewer.show()
    for node in reversed(nodes):  # readers first: nothing is sent before someone listens
        node.start()
    # Once a second of data is on screen, let the viewer choose gains and offsets.
    pg.QtCore.QTimer.singleShot(1000, viewer.auto_scale)
    if args.duration is not None:
        pg.QtCore.QTimer.singleShot(int(args.duration * 1000), app.quit)
    app.exec_()

    samples, _ = viewer.history.head()
    for node in nodes:
        node.stop()
    for node in nodes:
        node.close()
    print(f"samples filtered and drawn: {samples}")
    print(f"gaps seen by the viewer: {viewer.input.gap_count}")


if __name__ == "__main__":
    main()
