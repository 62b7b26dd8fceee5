"""The same two nodes, local or remote: the code that drives them does not change.
===============================================================================

A camera node and an image viewer are created in one of three layouts:

* ``camera-remote`` (default): the camera in a NodeGroup process, the viewer here;
* ``all-local``: both nodes in this process, no Manager at all;
* ``all-remote``: both nodes in one NodeGroup process, which also shows the window.

Whatever the layout, ``configure / connect / initialize / start`` are the same
calls: a remote node is an RPC proxy that behaves like the node itself. Each
node prints the process it lives in. Run it with::

    python local_and_remote_nodes.py --layout all-remote
    python local_and_remote_nodes.py --camera 'testsrc=size=320x240:rate=30' --format lavfi --duration 5
"""
import argparse
import os
import time

import pyqtgraph as pg
from pyacq import ImageViewer, WebCamAV, create_manager
from pyacq.core.rpc import ObjectProxy, RPCClient

LAYOUTS = ("camera-remote", "all-local", "all-remote")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.partition("\n")[0])
    parser.add_argument("--layout", choices=LAYOUTS, default="camera-remote")
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


def create_nodes(layout, manager):
    """Return (camera, viewer) placed as *layout* says."""
    if layout == "all-local":
        return WebCamAV(name="cam0"), ImageViewer(name="viewer0")
    nodegroup = manager.create_nodegroup(name="remote_nodes")
    camera = nodegroup.create_node("WebCamAV", name="cam0")
    if layout == "all-remote":
        return camera, nodegroup.create_node("ImageViewer", name="viewer0")
    return camera, ImageViewer(name="viewer0")


def process_of(node):
    """Pid of the process that owns *node*: this one for a local node; for a proxy, ask
    the process behind it (its RPC client imports ``os`` there)."""
    if not isinstance(node, ObjectProxy):
        return os.getpid()
    return RPCClient.get_client(node._rpc_addr)._import("os").getpid()


def run_window(app, viewer, layout, duration):
    """Run until *duration* elapsed, or until the (local or remote) window is closed."""
    if layout != "all-remote":
        if duration is not None:
            pg.QtCore.QTimer.singleShot(int(duration * 1000), app.quit)
        app.exec_()
        return
    deadline = None if duration is None else time.monotonic() + duration
    while viewer.isVisible() and (deadline is None or time.monotonic() < deadline):
        time.sleep(0.2)


def main():
    args = parse_args()
    app = pg.mkQApp() if args.layout != "all-remote" else None
    manager = None if args.layout == "all-local" else create_manager()
    try:
        camera, viewer = create_nodes(args.layout, manager)
        print(f"this process: {os.getpid()}; camera in: {process_of(camera)}; viewer in: {process_of(viewer)}")

        camera.configure(**camera_options(args.camera, args.format))
        protocol = "inproc" if args.layout == "all-local" else "tcp"
        camera.output.configure(protocol=protocol, interface="127.0.0.1", transfermode="plaindata")
        camera.initialize()
        viewer.configure()
        viewer.input.connect(camera.output)
        viewer.initialize()
        viewer.show()

        camera.start()
        viewer.start()
        run_window(app, viewer, args.layout, args.duration)

        viewer.stop()
        camera.stop()
        print(f"frames shown: {viewer.frame_count}")
        viewer.close()
        camera.close()
    finally:
        if manager is not None:
            manager.close()


if __name__ == "__main__":
    main()
