"""QtRPCServer: an RPCServer whose requests run in the Qt GUI thread.

This is the only RPC module that imports Qt.
"""
import threading

import zmq
from PyQt5 import QtCore

from .context import make_socket
from .server import RECEIVE_QUEUE, RPCServer


class _RequestNotifier(QtCore.QObject):
    """Lives in the GUI thread; its signal wakes the Qt event loop for new requests."""

    requests_ready = QtCore.pyqtSignal()


class QtRPCServer(RPCServer):
    """RPCServer that lives in a Qt GUI thread, so requests may create widgets.

    A poller thread owns the network socket and forwards each request to the
    GUI thread through an in-process socket, emitting a signal that wakes the
    Qt event loop; replies travel back the same way. The in-process socket is
    also what a waiting client of the GUI thread polls, so reentrant calls work
    exactly as with RPCServer. No timer polls the network.

    ``run_forever()`` returns at once (Qt's event loop does the serving). With
    *quit_on_close*, closing the server quits the QApplication. *certificate*
    and *authorized_keys* require CURVE authentication, as for RPCServer.

    Parameters
    ----------
    address : str, optional
        Where to bind, as for RPCServer. Default ``tcp://127.0.0.1:*``.
    quit_on_close : bool, optional
        Quit the QApplication when the server closes. Default True (a NodeGroup
        process then exits); False keeps the application running.
    certificate : str or None, optional
        The server's secret certificate, as for RPCServer.
    authorized_keys : str or None, optional
        Directory of the accepted clients' public certificates, as for RPCServer.
    """

    def __init__(self, address="tcp://127.0.0.1:*", quit_on_close=True, certificate=None,
                 authorized_keys=None):
        app = QtCore.QCoreApplication.instance()
        if app is None:
            raise RuntimeError("QtRPCServer needs a QApplication; create one first")
        super().__init__(address, certificate=certificate, authorized_keys=authorized_keys)
        self.quit_on_close = quit_on_close
        bridge_addr = f"inproc://qt-rpc-bridge-{id(self):x}"
        self._router = self._socket
        # The bridge holds at most RECEIVE_QUEUE requests on each side (its replies are not
        # bounded): past that, the poller stops reading the network, as a plain server does.
        self._socket = make_socket(zmq.PAIR)
        self._socket.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE)
        self._socket.bind(bridge_addr)
        self._poller_side = make_socket(zmq.PAIR)
        self._poller_side.setsockopt(zmq.SNDHWM, RECEIVE_QUEUE)
        self._poller_side.connect(bridge_addr)
        self._notifier = _RequestNotifier()
        self._notifier.moveToThread(app.thread())
        self._notifier.requests_ready.connect(self._process_available,
                                              QtCore.Qt.QueuedConnection)
        self._poll_thread = None

    def run_forever(self):
        """Start serving in the Qt event loop of this (GUI) thread; returns immediately."""
        self._bind_to_this_thread()
        self._poll_thread = threading.Thread(target=self._poll_network, daemon=True,
                                             name="QtRPCServer-poller")
        self._poll_thread.start()

    def _wake_up(self):
        self._notifier.requests_ready.emit()

    def _poll_network(self):
        """Poller thread: shuttle frames between the network and the GUI thread.

        A request the bridge has no room for (the GUI thread is busy) is held, and the
        network is not read until the bridge takes it: requests then wait in the ROUTER's
        receive queue, then on their clients' side.
        """
        router, bridge = self._router, self._poller_side
        poller = zmq.Poller()
        poller.register(router, zmq.POLLIN)
        poller.register(bridge, zmq.POLLIN)
        held = None
        while True:
            events = dict(poller.poll(1000))
            if held is not None and events.get(bridge, 0) & zmq.POLLOUT:
                bridge.send_multipart(held, zmq.NOBLOCK)  # there is room: it cannot fail
                held = None
                poller.modify(bridge, zmq.POLLIN)
                poller.register(router, zmq.POLLIN)
                self._notifier.requests_ready.emit()
            elif held is None and router in events:
                while router.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                    frames = router.recv_multipart(zmq.NOBLOCK)
                    try:
                        bridge.send_multipart(frames, zmq.NOBLOCK)
                    except zmq.Again:
                        held = frames
                        poller.unregister(router)
                        poller.modify(bridge, zmq.POLLIN | zmq.POLLOUT)
                        break
                self._notifier.requests_ready.emit()
            if events.get(bridge, 0) & zmq.POLLIN:
                while bridge.getsockopt(zmq.EVENTS) & zmq.POLLIN:
                    frames = bridge.recv_multipart(zmq.NOBLOCK)
                    if frames == [b""]:
                        router.close()
                        bridge.close()
                        return
                    router.send_multipart(frames)

    def _close_sockets(self):
        if self._poll_thread is None:
            self._router.close()
            self._poller_side.close()
        else:
            # The poller forwards everything queued before this marker, then exits.
            self._socket.send_multipart([b""])
            self._poll_thread.join(5.0)
        self._socket.close()
        app = QtCore.QCoreApplication.instance()
        if self.quit_on_close and app is not None:
            app.quit()
