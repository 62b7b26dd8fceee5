"""Frames per second and CPU share of the viewers, offscreen, fed at the real rate.

Run: ``QT_QPA_PLATFORM=offscreen python benchmarks/bench_viewers.py [--seconds 4]``.
A thread plays a synthetic source at the nominal rate (its CPU is included:
the process is measured as a whole). QOscilloscope redraws every 10 ms if it
can (fps is frames actually drawn); QTimeFreq every 100 ms (fps is maps
shown per second, all channels).
"""
import argparse
import threading
import time

import numpy as np
import pyqtgraph as pg
from pyacq.core import OutputStream
from pyacq.viewers import QOscilloscope, QTimeFreq


class PacedSource:
    """Sends (chunk, nb_channel) float32 chunks at ``sample_rate`` from a thread."""

    def __init__(self, nb_channel, sample_rate, chunksize):
        self.output = OutputStream(name="bench-source")
        self.output.configure(protocol="inproc", transfermode="plaindata", dtype="float32",
                              shape=(-1, nb_channel), sample_rate=sample_rate)
        rng = np.random.default_rng(0)
        self.chunks = rng.standard_normal((16, chunksize, nb_channel)).astype("float32")
        self.sample_rate, self.chunksize = sample_rate, chunksize
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        started, index = time.monotonic(), 0
        while not self._stop.wait(max(0.0, started + (index + self.chunksize) / self.sample_rate
                                      - time.monotonic())):
            index += self.chunksize
            self.output.send(self.chunks[(index // self.chunksize) % 16], index=index)

    def start(self):
        self._thread.start()

    def close(self):
        self._stop.set()
        self._thread.join(timeout=10)
        self.output.close()


def measure(app, viewer, count_frames, seconds):
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:  # warm-up: buffers fill, caches build
        app.processEvents()
        time.sleep(0.001)
    frames0, cpu0, wall0 = count_frames(), time.process_time(), time.monotonic()
    while time.monotonic() < wall0 + seconds:
        app.processEvents()
        time.sleep(0.001)
    wall = time.monotonic() - wall0
    return (count_frames() - frames0) / wall, (time.process_time() - cpu0) / wall


def run_viewer(app, cls, nb_channel, sample_rate, seconds, setup, count_frames, **configure):
    source = PacedSource(nb_channel, sample_rate, chunksize=max(1, int(sample_rate // 100)))
    viewer = cls(name="bench")
    viewer.configure(**configure)
    viewer.input.connect(source.output)
    viewer.initialize()
    viewer.resize(1200, 800)
    viewer.show()
    setup(viewer)
    viewer.start()
    source.start()
    try:
        return measure(app, viewer, lambda: count_frames(viewer), seconds)
    finally:
        source.close()
        viewer.stop()
        viewer.close()


def oscilloscope_setup(viewer):
    viewer.params["refresh_interval"] = 10
    viewer.params["xsize"] = 3.0
    viewer.params["decimation_method"] = "min_max"
    viewer.params["scale_mode"] = "by_channel"
    viewer.auto_scale()


def timefreq_setup(viewer):
    viewer.params["refresh_interval"] = 100
    viewer.params["timefreq", "f_stop"] = 200.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    app = pg.mkQApp()
    rows = []
    for nb_channel in (16, 64, 256):
        fps, cpu = run_viewer(app, QOscilloscope, nb_channel, 20000.0, args.seconds, oscilloscope_setup,
                              lambda v: v.frame_count, max_xsize=4.0)
        rows.append(("QOscilloscope", nb_channel, 20000, fps, cpu))
    fps, cpu = run_viewer(app, QTimeFreq, 8, 1000.0, args.seconds, timefreq_setup,
                          lambda v: sum(p.chunk_count for p in v._map_pollers), max_xsize=4.0)
    rows.append(("QTimeFreq", 8, 1000, fps, cpu))
    print(f"{'viewer':<16}{'channels':>9}{'rate (Hz)':>11}{'fps':>8}{'CPU (cores)':>13}")
    for name, nb_channel, rate, fps, cpu in rows:
        print(f"{name:<16}{nb_channel:>9}{rate:>11}{fps:>8.1f}{cpu:>13.2f}")


if __name__ == "__main__":
    main()
