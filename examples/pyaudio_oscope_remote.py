"""Sound card in a child process, oscilloscope in this one.
========================================================

Shows a node living in another process without any Manager: a ProcessSpawner
starts a Python process with an RPC server, the PyAudio node is created there
through a proxy, and its stream reaches the local QOscilloscope over TCP. Every
call on ``dev`` below runs in the child process. Run it with::

    python pyaudio_oscope_remote.py              # until the window is closed
    python pyaudio_oscope_remote.py --duration 5 # quit after 5 s
    python pyaudio_oscope_remote.py --device 3   # another input device

Without a sound card, point PortAudio at a PulseAudio server (``PULSE_SERVER``);
the child process inherits the environment.
"""
import argparse
import os

import pyqtgraph as pg
from pyacq.core.rpc import ProcessSpawner
from pyacq.viewers import QOscilloscope


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, help="quit after this many seconds")
    parser.add_argument("--device", type=int, help="PortAudio input device index (default: the default input)")
    return parser.parse_args()


def main():
    args = parse_args()
    app = pg.mkQApp()

    child = ProcessSpawner()
    try:
        remote_devices = child.client._import("pyacq.devices")
        dev = remote_devices.PyAudio()
        child_pid = child.client._import("os").getpid()
        print(f"this process: {os.getpid()}, PyAudio node in process: {child_pid}")
        device = dev.default_input_device() if args.device is None else args.device
        dev.configure(nb_channel=1, sample_rate=44100., input_device_index=device, format="int16",
                      chunksize=1024)
        dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        dev.initialize()

        viewer = QOscilloscope()
        viewer.configure(with_user_dialog=True)
        viewer.input.connect(dev.output)
        viewer.initialize()
        viewer.params["decimation_method"] = "min_max"
        viewer.params["xsize"] = 0.02  # 20 ms: the periods of a tone
        viewer.by_channel_params["Signal0", "gain"] = 1 / 32768  # int16 full scale to -1..1
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
    finally:
        child.close()


if __name__ == "__main__":
    main()
