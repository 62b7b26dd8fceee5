"""Writing a node: a gaussian noise source, shown on an oscilloscope.
==================================================================

Shows what a new node type needs: ``_output_specs`` declaring its stream,
``_configure`` to take its settings and describe the stream, ``_start`` /
``_stop`` to run, and ``output.send(chunk, index=...)`` to emit data. The
node is driven by a Qt timer, so it lives in a process with a Qt event loop
(this one, or a NodeGroup created with ``qt=True``). Registering the class
lets a NodeGroup create it by name. Run it with::

    python noise_generator.py              # until the window is closed
    python noise_generator.py --duration 5 --sample-rate 2000
"""
import argparse
import time

import numpy as np
import pyqtgraph as pg
from pyacq.core import Node, register_node_type
from pyacq.viewers import QOscilloscope
from pyqtgraph.Qt import QtCore


class NoiseGenerator(Node):
    """Streams white gaussian noise, one channel, at ``sample_rate`` samples per second.

    A timer fires every ``interval`` seconds; each tick sends every sample due
    since the start, so the rate stays exact even when ticks come late.
    """

    _output_specs = {"signals": dict(streamtype="analogsignal", dtype="float32", shape=(-1, 1))}

    def __init__(self, **kargs):
        Node.__init__(self, **kargs)
        self._timer = QtCore.QTimer()
        self._timer.timeout.connect(self._send_due_samples)
        self._random = np.random.default_rng()

    def _configure(self, sample_rate=1000., interval=0.05, sigma=1.):
        if sample_rate <= 0 or interval <= 0:
            raise ValueError(f"{self._describe()}: sample_rate and interval must be > 0, "
                             f"got {sample_rate!r} and {interval!r}")
        self.sample_rate, self.interval, self.sigma = float(sample_rate), float(interval), float(sigma)
        self.output.spec.update(sample_rate=self.sample_rate, buffer_size=int(10 * self.sample_rate))

    def _initialize(self):
        self.sent = 0

    def _start(self):
        self._t0 = time.monotonic() - self.sent / self.sample_rate
        self._timer.start(int(self.interval * 1000))

    def _stop(self):
        self._timer.stop()

    def _close(self):
        self._timer.stop()

    def _send_due_samples(self):
        due = int((time.monotonic() - self._t0) * self.sample_rate) - self.sent
        if due > 0:
            chunk = self._random.normal(0., self.sigma, size=(due, 1)).astype("float32")
            self.sent += due
            self.output.send(chunk, index=self.sent)


register_node_type(NoiseGenerator)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, help="quit after this many seconds")
    parser.add_argument("--sample-rate", type=float, default=1000., help="samples per second")
    return parser.parse_args()


def main():
    args = parse_args()
    app = pg.mkQApp()

    noise = NoiseGenerator(name="noise")
    noise.configure(sample_rate=args.sample_rate)
    noise.output.configure(protocol="inproc", transfermode="sharedmem")
    noise.initialize()

    viewer = QOscilloscope()
    viewer.configure(with_user_dialog=True)
    viewer.input.connect(noise.output)
    viewer.initialize()
    viewer.show()

    viewer.start()
    noise.start()
    if args.duration is not None:
        QtCore.QTimer.singleShot(int(args.duration * 1000), app.quit)
    app.exec_()

    noise.stop()
    viewer.stop()
    displayed, _ = viewer.history.head()
    print(f"samples sent: {noise.sent}")
    print(f"samples displayed: {displayed}")
    viewer.close()
    noise.close()


if __name__ == "__main__":
    main()
