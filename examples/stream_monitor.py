"""Writing a sink node: a monitor that reports what arrives on its input.
======================================================================

Shows the receiving side of a node: ``_input_specs`` declaring an input that
accepts any stream, a ThreadPollInput that waits for chunks in a background
thread and hands each one to the Qt event loop as a signal, and the chunk
index used to notice lost samples. A NumpyDeviceBuffer replays random data as
the source. Run it with::

    python stream_monitor.py              # until Ctrl+C
    python stream_monitor.py --duration 5
"""
import argparse
import signal

import numpy as np
import pyqtgraph as pg
from pyacq.core import Node, register_node_type
from pyacq.core.tools import ThreadPollInput
from pyacq.devices import NumpyDeviceBuffer


class StreamMonitor(Node):
    """Prints one line per chunk received and counts samples, chunks and lost samples.

    A chunk's index is the position just after its last sample, so a chunk whose
    first sample is not where the previous chunk ended means samples were lost.
    """

    _input_specs = {"signals": {}}

    def _configure(self, verbose=True):
        self.verbose = verbose

    def _initialize(self):
        self.chunks = self.samples = self.lost = 0
        self._next_index = None
        self._poller = ThreadPollInput(self.input, return_data=True)
        self._poller.new_data.connect(self._on_chunk)

    def _start(self):
        self._poller.start()

    def _stop(self):
        self._poller.stop()
        if not self._poller.wait(5000):
            raise TimeoutError(f"{self._describe()}: the polling thread did not stop within 5 s")

    def _on_chunk(self, index, data):
        first = index - len(data)
        if self._next_index is not None and first > self._next_index:
            self.lost += first - self._next_index
            print(f"  {first - self._next_index} samples lost before index {first}")
        self._next_index = index
        self.chunks += 1
        self.samples += len(data)
        if self.verbose:
            print(f"chunk up to index {index}: shape {data.shape}, dtype {data.dtype}")


register_node_type(StreamMonitor)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, help="quit after this many seconds")
    return parser.parse_args()


def main():
    args = parse_args()
    app = pg.mkQApp()

    # 7 channels at 100 samples/s, sent as 50-sample chunks: two chunks per second.
    source = NumpyDeviceBuffer(name="source")
    source.configure(nb_channel=7, sample_interval=0.01, chunksize=50,
                     buffer=np.random.randn(2500, 7).astype("float64"))
    source.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    source.initialize()

    monitor = StreamMonitor(name="monitor")
    monitor.configure()
    monitor.input.connect(source.output)
    monitor.initialize()

    monitor.start()
    source.start()
    # Qt's loop does not run Python signal handlers by itself: a timer gives Python a
    # chance to see Ctrl+C, which then quits the loop.
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    wake_up = pg.QtCore.QTimer()
    wake_up.timeout.connect(lambda: None)
    wake_up.start(200)
    if args.duration is not None:
        pg.QtCore.QTimer.singleShot(int(args.duration * 1000), app.quit)
    app.exec_()

    source.stop()
    monitor.stop()
    print(f"chunks received: {monitor.chunks}, samples: {monitor.samples}, lost: {monitor.lost}")
    source.close()
    monitor.close()


if __name__ == "__main__":
    main()
