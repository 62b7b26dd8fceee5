"""Sound card to oscilloscope, both nodes in this process.
=======================================================

Shows the smallest acquisition-and-display graph: a PyAudio node reads the
default (or chosen) input device and a QOscilloscope draws it; no Manager and
no other process are involved. Run it with::

    python pyaudio_oscope_local.py              # until the window is closed
    python pyaudio_oscope_local.py --duration 5 # quit after 5 s
    python pyaudio_oscope_local.py --device 3   # another input device (see the printed list)

Without a sound card, point PortAudio at a PulseAudio server (``PULSE_SERVER``):
its default source is the default input device.
"""
import argparse

import pyqtgraph as pg
from pyacq.devices import PyAudio
from pyacq.viewers import QOscilloscope


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, help="quit after this many seconds")
    parser.add_argument("--device", type=int, help="PortAudio input device index (default: the default input)")
    return parser.parse_args()


def print_input_devices(dev, chosen):
    """List the devices able to record, marking the one used."""
    print("Input devices:")
    for spec in dev.list_device_specs():
        if spec["maxInputChannels"] > 0:
            mark = "*" if spec["index"] == chosen else " "
            print(f" {mark} {spec['index']}: {spec['name']}")


def main():
    args = parse_args()
    app = pg.mkQApp()

    dev = PyAudio()
    device = dev.default_input_device() if args.device is None else args.device
    print_input_devices(dev, device)
    dev.configure(nb_channel=1, sample_rate=44100., input_device_index=device, format="int16",
                  chunksize=1024)
    dev.output.configure(protocol="inproc", transfermode="plaindata")
    dev.initialize()

    viewer = QOscilloscope()
    viewer.configure(with_user_dialog=True)
    viewer.input.connect(dev.output)
    viewer.initialize()
    # int16 samples span +-32768: this gain maps full scale to the plot's -1..1 range; a
    # 20 ms window shows the periods of a tone (seconds of it would fill the plot).
    viewer.params["decimation_method"] = "min_max"
    viewer.params["xsize"] = 0.02
    viewer.by_channel_params["Signal0", "gain"] = 1 / 32768
    viewer.show()

    dev.start()
    viewer.start()
    # Once the window holds sound, fit the vertical range to it.
    pg.QtCore.QTimer.singleShot(1000, viewer.auto_scale)
    if args.duration is not None:
        pg.QtCore.QTimer.singleShot(int(args.duration * 1000), app.quit)
    app.exec_()

    samples, _ = viewer.history.head()
    viewer.stop()
    dev.stop()
    viewer.close()
    dev.close()
    print(f"samples received: {samples}")
    print(f"frames drawn: {viewer.frame_count}")


if __name__ == "__main__":
    main()
