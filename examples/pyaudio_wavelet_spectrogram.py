"""Live wavelet spectrogram of the sound card, computed in worker processes.
=========================================================================

Shows a graph spread over processes by a Manager: the PyAudio node runs in
one NodeGroup process, the Morlet wavelet transform of QTimeFreq runs in
another (``nodegroup_friends``), and only the display stays in this process.
At the end it prints the frequency with the most power in the last map shown.
Run it with::

    python pyaudio_wavelet_spectrogram.py              # until the window is closed
    python pyaudio_wavelet_spectrogram.py --duration 5 # quit after 5 s
    python pyaudio_wavelet_spectrogram.py --device 3 --f-stop 8000

Without a sound card, point PortAudio at a PulseAudio server (``PULSE_SERVER``);
the spawned processes inherit the environment.
"""
import argparse

import numpy as np
import pyqtgraph as pg
from pyacq import create_manager
from pyacq.viewers import QTimeFreq


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, help="quit after this many seconds")
    parser.add_argument("--device", type=int, help="PortAudio input device index (default: the default input)")
    parser.add_argument("--f-start", type=float, default=100., help="lowest frequency shown (Hz)")
    parser.add_argument("--f-stop", type=float, default=2000., help="highest frequency shown (Hz)")
    parser.add_argument("--deltafreq", type=float, default=20., help="frequency step (Hz)")
    return parser.parse_args()


def peak_frequency(viewer):
    """Frequency (Hz) of the row with the most power in the map on screen, or None."""
    tfr = viewer.images[0].image
    if tfr is None:
        return None
    power_by_frequency = np.nansum(tfr, axis=0)
    return viewer.params["timefreq", "f_start"] + np.argmax(power_by_frequency) * viewer.params["timefreq", "deltafreq"]


def fit_colour_scale(viewer):
    """Make the brightest point of the map on screen the top of the colour scale, so that
    the tone stands out whatever the input level (the power scales with its square)."""
    tfr = viewer.images[0].image
    if tfr is not None and np.nanmax(tfr) > 0:
        viewer.by_channel_params["Signal0", "clim"] = float(np.nanmax(tfr))


def main():
    args = parse_args()
    app = pg.mkQApp()
    manager = create_manager()
    try:
        acquisition = manager.create_nodegroup(name="acquisition", qt=False)
        dev = acquisition.create_node("PyAudio", name="microphone")
        device = dev.default_input_device() if args.device is None else args.device
        dev.configure(nb_channel=1, sample_rate=44100., input_device_index=device, format="int16",
                      chunksize=1024)
        dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        dev.initialize()

        # One channel: one worker process. With more channels, more workers share the load.
        workers = [manager.create_nodegroup(name="wavelets", qt=False)]
        viewer = QTimeFreq()
        viewer.configure(with_user_dialog=True, nodegroup_friends=workers)
        viewer.input.connect(dev.output)
        viewer.initialize()
        viewer.params["refresh_interval"] = 100
        # Each change is applied at once and must leave f_start < f_stop: widen first.
        viewer.params["timefreq", "f_stop"] = args.f_stop
        viewer.params["timefreq", "f_start"] = args.f_start
        viewer.params["timefreq", "deltafreq"] = args.deltafreq
        viewer.show()

        dev.start()
        viewer.start()
        pg.QtCore.QTimer.singleShot(1500, lambda: fit_colour_scale(viewer))
        if args.duration is not None:
            pg.QtCore.QTimer.singleShot(int(args.duration * 1000), app.quit)
        app.exec_()

        peak = peak_frequency(viewer)
        viewer.stop()
        dev.stop()
        viewer.close()
        print("peak frequency: " + ("no map received" if peak is None else f"{peak:.0f} Hz"))
    finally:
        manager.close()


if __name__ == "__main__":
    main()
