"""Qt threads that turn stream chunks into Qt signals, for GUI nodes.

Blocking in a QThread and emitting a signal per chunk gives GUI nodes low
latency without a busy QTimer. An exception that ends one is reported to the
node that owns the stream (see :mod:`pyacq.core.node_thread`). This module
imports Qt, so ``pyacq.core.tools`` exposes these classes lazily.
"""
import threading

from pyqtgraph.Qt import QtCore

from pyacq.core.node_thread import run_reporting_failure
from pyacq.core.stream import InputStream, OutputStream

from .inputpoller import poll_chunks


class ThreadPollInput(QtCore.QThread):
    """QThread emitting ``new_data(index, data)`` for each chunk of ``input_stream``.

    Override :meth:`processData` to do something else with each chunk (it runs
    in the thread). ``timeout`` (ms) bounds each wait, so :meth:`stop`
    followed by ``wait()`` returns promptly. The stream must not be used from
    another thread until then.

    Parameters
    ----------
    input_stream : InputStream
        The connected input to receive; an exception ending the thread is reported
        to its node.
    timeout : int, optional
        Milliseconds each wait lasts, so the longest :meth:`stop` takes to be seen.
        Default 200.
    return_data : bool or None, optional
        Receive the samples (True) or only the index (False). Default None: the
        stream's default.
    parent : QObject, optional
        The thread's Qt parent.
    """

    #: Qt signal ``new_data(index, data)``, emitted in the thread for each chunk by the
    #: default :meth:`processData`; a slot connected to it runs in its own object's thread.
    new_data = QtCore.Signal(object, object)

    def __init__(self, input_stream, timeout=200, return_data=None, parent=None):
        QtCore.QThread.__init__(self, parent)
        self.input_stream = input_stream
        self.timeout = timeout
        self.return_data = return_data
        self._stop_requested = threading.Event()

    def start(self, *args):
        """Start polling, also after a stop.

        Parameters
        ----------
        *args
            ``QThread.start``'s optional priority.
        """
        self._stop_requested.clear()
        QtCore.QThread.start(self, *args)

    def run(self):
        """Poll the stream in this thread; an exception that ends it is reported to the stream's node."""
        run_reporting_failure(self._owner_node(), self._poll,
                              f"{type(self).__name__} of {self._watched()}")

    def _poll(self):
        poll_chunks(self.input_stream, self.timeout, self.return_data,
                    self._stop_requested.is_set, self.processData)

    def _owner_node(self):
        return self.input_stream.node

    def _watched(self):
        return f"input {self.input_stream.name!r}"

    def processData(self, index, data):
        """Handle one chunk, in the thread: by default, emit ``new_data(index, data)``.

        Parameters
        ----------
        index : int
            Absolute index after the chunk's last sample.
        data : numpy.ndarray or None
            The chunk's samples, or None when the thread receives indexes only.
        """
        self.new_data.emit(index, data)

    def stop(self):
        """Ask the thread to finish; call ``wait()`` afterwards."""
        self._stop_requested.set()


class ThreadPollOutput(ThreadPollInput):
    """QThread emitting ``new_data(index, data)`` for each chunk *sent* on ``output_stream``.

    It connects a private InputStream to the output when started and closes
    it when the thread ends, so a node can watch what it sends.

    Parameters
    ----------
    output_stream : OutputStream or ObjectProxy
        The configured output to watch, here or (through a proxy) in another process.
    timeout : int, optional
        Milliseconds each wait lasts. Default 200.
    return_data : bool or None, optional
        Receive the samples (True) or only the index (False). Default None: the
        stream's default.
    parent : QObject, optional
        The thread's Qt parent.
    """

    def __init__(self, output_stream, timeout=200, return_data=None, parent=None):
        ThreadPollInput.__init__(self, None, timeout=timeout, return_data=return_data,
                                 parent=parent)
        self.output_stream = output_stream

    def start(self, *args):
        """Connect a new private InputStream to the watched output, then start polling it.

        Parameters
        ----------
        *args
            ``QThread.start``'s optional priority.
        """
        self.input_stream = InputStream(name="ThreadPollOutput")
        self.input_stream.connect(self.output_stream)
        ThreadPollInput.start(self, *args)

    def run(self):
        """Poll as :class:`ThreadPollInput` does, then close the private InputStream."""
        try:
            ThreadPollInput.run(self)
        finally:
            self.input_stream.close()

    def _owner_node(self):
        # A proxy to a remote output has no local node to report to.
        return self.output_stream.node if isinstance(self.output_stream, OutputStream) else None

    def _watched(self):
        return f"output {self.output_stream.name!r}"
