"""Camera frames shown live, the camera read in its own process.
=============================================================

Shows a video graph across processes: a Manager spawns a NodeGroup that owns
the WebCamAV node (so decoding never stalls the display) and a local
ImageViewer draws the newest frame. Run it with::

    python webcam_viewer.py                 # first camera, until the window is closed
    python webcam_viewer.py --camera 1      # second camera
    python webcam_viewer.py --camera 'testsrc=size=320x240:rate=30' --format lavfi --duration 5

``--camera`` is a camera number, or a name, path, file or URL that ffmpeg opens;
``--format`` names the ffmpeg demuxer (``v4l2``, ``dshow``, ``avfoundation``,
``lavfi`` for a synthetic test picture when there is no camera).
"""
import argparse

import pyqtgraph as pg
from pyacq import ImageViewer, create_manager


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--duration", type=float, help="quit after this many seconds")
    parser.add_argument("--camera", default="0", help="camera number, or a name/path/URL ffmpeg opens")
    parser.add_argument("--format", help="ffmpeg demuxer (default: the platform's camera format)")
    return parser.parse_args()


def camera_options(camera, fmt):
    """``WebCamAV.configure`` keywords for a camera number or name."""
    options = dict(camera_num=int(camera)) if camera.isdigit() else dict(camera_name=camera)
    if fmt is not None:
        options["format"] = fmt
    return options


def main():
    args = parse_args()
    app = pg.mkQApp()
    manager = create_manager()
    try:
        nodegroup = manager.create_nodegroup(name="camera", qt=False)
        dev = nodegroup.create_node("WebCamAV", name="cam0")
        dev.configure(**camera_options(args.camera, args.format))
        dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
        dev.initialize()
        print(f"video: {dev.output.params['shape'][1:]} at {dev.output.params['sample_rate']:g} frames/s")

        viewer = ImageViewer()
        viewer.configure()
        viewer.input.connect(dev.output)
        viewer.initialize()
        viewer.show()

        dev.start()
        viewer.start()
        if args.duration is not None:
            pg.QtCore.QTimer.singleShot(int(args.duration * 1000), app.quit)
        app.exec_()

        viewer.stop()
        dev.stop()
        viewer.close()
        print(f"frames shown: {viewer.frame_count}")
    finally:
        manager.close()


if __name__ == "__main__":
    main()
