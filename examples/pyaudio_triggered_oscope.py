"""Sound waves aligned on their rising edge.
=========================================

Shows QTriggeredOscilloscope: an analog trigger finds where the signal
crosses a threshold upwards, and the viewer stacks the sweeps around each
crossing, so that a periodic sound stands still on the screen. The trigger
and the accumulator are nodes of their own, tuned through ``viewer.trigger``
and ``viewer.triggeraccumulator``. Run it with::

    python pyaudio_triggered_oscope.py              # until the window is closed
    python pyaudio_triggered_oscope.py --duration 5 # quit after 5 s
    python pyaudio_triggered_oscope.py --threshold 2000 --device 3

Without a sound card, point PortAudio at a PulseAudio server (``PULSE_SERVER``).
"""
import argparse

import pyqtgraph as pg
from pyacq.devices import PyAudio
from pyacq.viewers import QTriggeredOscilloscope


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, help="quit after this many seconds")
    parser.add_argument("--device", type=int, help="PortAudio input device index (default: the default input)")
    parser.add_argument("--threshold", type=float, default=1000.,
                        help="trigger level, in int16 sample units (default: 1000)")
    return parser.parse_args()


def main():
    args = parse_args()
    app = pg.mkQApp()

    dev = PyAudio()
    device = dev.default_input_device() if args.device is None else args.device
    dev.configure(nb_channel=1, sample_rate=44100., input_device_index=device, format="int16",
                  chunksize=1024)
    dev.output.configure(protocol="inproc", transfermode="plaindata")
    dev.initialize()

    viewer = QTriggeredOscilloscope()
    viewer.configure(with_user_dialog=True)
    viewer.input.connect(dev.output)
    viewer.initialize()
    viewer.trigger.params["threshold"] = args.threshold
    viewer.trigger.params["front"] = "+"
    # Every upward crossing starts a sweep: a steady tone triggers once per period.
    # For noisy sounds, 'after-stable' keeps only the last crossing of a burst.
    viewer.trigger.params["debounce_mode"] = "no-debounce"
    viewer.triggeraccumulator.params["stack_size"] = 3
    viewer.triggeraccumulator.params["left_sweep"] = -0.005
    viewer.triggeraccumulator.params["right_sweep"] = 0.01
    viewer.by_channel_params["Signal0", "gain"] = 1 / 32768  # int16 full scale to -1..1
    viewer.show()

    dev.start()
    viewer.start()
    if args.duration is not None:
        pg.QtCore.QTimer.singleShot(int(args.duration * 1000), app.quit)
    app.exec_()

    sweeps = viewer.triggeraccumulator.total_trig
    viewer.stop()
    dev.stop()
    viewer.close()
    dev.close()
    print(f"sweeps stacked: {sweeps}")


if __name__ == "__main__":
    main()
