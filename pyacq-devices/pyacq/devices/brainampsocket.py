"""BrainAmpSocket: BrainAmp EEG through the "Remote Data Access" socket of BrainVision Recorder.

The Recorder (or :class:`pyacq.devices.simulators.RDAServer`, to try a pipeline
without an amplifier) serves every client a start message describing the
channels, then numbered data blocks carrying samples and markers. The node
turns them into two streams: ``signals`` (float32, µV) and ``triggers``
(events whose ``index`` is the absolute sample index in ``signals``).
"""
import logging
import socket
import threading

import numpy as np
from pyacq.core import Node
from pyacq.core.node_thread import NodeThread

from .rda_protocol import (
    DATA_DTYPES,
    HEADER,
    MARKER_DTYPE,
    MSG_KEEPALIVE,
    MSG_START,
    MSG_STOP,
    RDAProtocolError,
    parse_data,
    parse_header,
    parse_start,
)

logger = logging.getLogger(__name__)

#: Seconds allowed to connect and to receive the start message.
CONNECT_TIMEOUT = 5.0
#: Seconds between two checks of the stop request while waiting for data.
POLL_INTERVAL = 0.2
#: Most bytes asked of the socket at once (the receive buffer allocated per read).
READ_SIZE = 64 * 1024


class _Stopped(Exception):
    """The node was asked to stop while a message was being read."""


class RDAConnection:
    """A TCP connection to an RDA server, read one whole message at a time.

    TCP delivers bytes, not messages: every read loops until exactly the
    announced ``nSize`` bytes have arrived, however the reads fragment.
    """

    def __init__(self, host, port, describe):
        self.address = f"{host}:{port}"
        try:
            self.sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
        except OSError as exc:
            raise ConnectionError(
                f"{describe}: cannot reach the RDA server (BrainVision Recorder) at "
                f"{self.address}: {exc}"
            ) from None

    def _read_exactly(self, n, stopping):
        """The next ``n`` bytes; memory grows with the bytes received, never ahead of them
        (a header may declare up to 4 GiB, garbled or not)."""
        pieces = []
        got = 0
        while got < n:
            if stopping is not None and stopping.is_set():
                raise _Stopped
            try:
                piece = self.sock.recv(min(n - got, READ_SIZE))
            except TimeoutError:
                if stopping is None:
                    raise
                continue
            if not piece:
                raise ConnectionError(f"the RDA server at {self.address} closed the connection")
            pieces.append(piece)
            got += len(piece)
        return b"".join(pieces)

    def read_message(self, stopping=None):
        """Return ``(nType, body)`` of the next message.

        Without ``stopping`` the socket timeout applies; with it the read waits
        until a message arrives or ``stopping`` is set (then raises _Stopped).
        """
        size, msg_type = parse_header(self._read_exactly(HEADER.size, stopping))
        return msg_type, self._read_exactly(size - HEADER.size, stopping)

    def read_start(self, describe):
        """Skip keep-alives until the start message; return what parse_start gives."""
        try:
            while True:
                msg_type, body = self.read_message()
                if msg_type == MSG_START:
                    return parse_start(body)
                if msg_type != MSG_KEEPALIVE:
                    raise RDAProtocolError(
                        f"expected the RDA start message first, got a message of type {msg_type}"
                    )
        except TimeoutError:
            raise TimeoutError(
                f"{describe}: the RDA server at {self.address} sent no start message within "
                f"{CONNECT_TIMEOUT} s (is the Recorder monitoring or recording?)"
            ) from None
        except (RDAProtocolError, ConnectionError) as exc:
            raise ConnectionError(f"{describe}: {self.address}: {exc}") from None

    def use_poll_timeout(self):
        """Make each socket read wait at most ``POLL_INTERVAL`` s: a read given ``stopping`` sees it soon."""
        self.sock.settimeout(POLL_INTERVAL)

    def close(self):
        """Shut the connection down and close the socket (a connection already lost is no error)."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class BrainAmpSocket(Node):
    """BrainAmp EEG amplifier (Brain Products) through BrainVision Recorder's RDA socket.

    ``configure(brainamp_host='localhost', brainamp_port=51244)`` connects once
    to learn the channels (names, resolutions) and the sample rate, so an
    unreachable server fails here. Port 51244 serves float32 data, 51234
    int16 data; both are scaled to µV with each channel's resolution.

    Every ``start()`` opens a fresh connection; a connection lost while
    running makes the node ``failed`` (see ``node.error``). A jump in block
    numbers is lost data, not a failure: it is logged, counted since
    ``initialize()`` in ``gap_count`` (jumps), ``lost_blocks`` and
    ``lost_samples``, and appears in ``signals`` as an index that skips the
    lost samples. ``triggers`` need not be configured.
    """

    _output_specs = {
        "signals": dict(streamtype="analogsignal", dtype="float32", shape=(-1, 32), units="uV"),
        "triggers": dict(streamtype="event", dtype=MARKER_DTYPE, shape=(-1,)),
    }
    _optional_outputs = ("triggers",)

    def _configure(self, brainamp_host="localhost", brainamp_port=51244):
        """Connect once to the RDA server to learn its channels and sample rate.

        The channel count, names and resolutions and the sample rate come from
        the server's start message, so nothing about the amplifier is given
        here; a server that does not answer within 5 seconds fails this call.

        Parameters
        ----------
        brainamp_host : str, default 'localhost'
            Host name or IP address of the computer running BrainVision
            Recorder with its Remote Data Access (RDA) server enabled.
        brainamp_port : int, default 51244
            TCP port of the RDA server: 51244 serves float32 samples, 51234
            int16 samples; either way ``signals`` is float32 in uV (each
            channel scaled by its resolution); the int16 port sends half the
            bytes per sample.
        """
        self.brainamp_host = brainamp_host
        self.brainamp_port = brainamp_port
        connection = RDAConnection(brainamp_host, brainamp_port, self._describe())
        try:
            rate, resolutions, names = connection.read_start(self._describe())
        finally:
            connection.close()
        self.sample_rate = rate
        self.nb_channel = len(names)
        self.resolutions = resolutions
        self.channel_info = [{"name": name, "resolution": float(res)}
                             for name, res in zip(names, resolutions)]
        self.outputs["signals"].spec.update(shape=(-1, self.nb_channel), sample_rate=rate,
                                            nb_channel=self.nb_channel,
                                            channel_info=self.channel_info)
        self.outputs["triggers"].spec.update(sample_rate=rate)

    def _initialize(self):
        self._scale = self.resolutions.astype("float32")[None, :]
        self.gap_count = 0
        self.lost_blocks = 0
        self.lost_samples = 0

    def _start(self):
        connection = RDAConnection(self.brainamp_host, self.brainamp_port, self._describe())
        try:
            rate, _, names = connection.read_start(self._describe())
            if len(names) != self.nb_channel or rate != self.sample_rate:
                raise RuntimeError(
                    f"{self._describe()}: the RDA server at {connection.address} now sends "
                    f"{len(names)} channels at {rate} Hz, but the node was configured for "
                    f"{self.nb_channel} channels at {self.sample_rate} Hz; configure it again"
                )
        except BaseException:
            connection.close()
            raise
        connection.use_poll_timeout()
        self._connection = connection
        self._head = 0
        self._last_block = None
        self._stopping = threading.Event()
        self._thread = NodeThread(self, target=self._receive_loop, name=f"{self.name or 'brainamp'}-rda")
        self._thread.start()

    def _stop(self):
        self._stopping.set()
        self._thread.join(timeout=10.0)
        self._connection.close()

    def _receive_loop(self):
        try:
            while True:
                msg_type, body = self._connection.read_message(self._stopping)
                if msg_type in DATA_DTYPES:
                    self._handle_block(*parse_data(body, msg_type, self.nb_channel))
                elif msg_type == MSG_START:
                    rate, _, names = parse_start(body)
                    if len(names) != self.nb_channel or rate != self.sample_rate:
                        raise RDAProtocolError(
                            f"the Recorder restarted with {len(names)} channels at {rate} Hz "
                            f"instead of {self.nb_channel} at {self.sample_rate} Hz"
                        )
                    logger.info("%s: the Recorder started a new acquisition", self._describe())
                    self._last_block = None
                elif msg_type == MSG_STOP:
                    logger.info("%s: the Recorder stopped its acquisition", self._describe())
                elif msg_type != MSG_KEEPALIVE:
                    logger.warning("%s: ignoring an RDA message of unknown type %d",
                                   self._describe(), msg_type)
        except _Stopped:
            return
        except (OSError, RDAProtocolError) as exc:
            if not self._stopping.is_set():
                raise ConnectionError(f"acquisition from {self._connection.address} ended: {exc}") from exc

    def _handle_block(self, block, values, markers):
        n_points = values.shape[0]
        if self._last_block is not None:
            jump = block - self._last_block
            if jump > 1:
                lost = (jump - 1) * n_points
                self.gap_count += 1
                self.lost_blocks += jump - 1
                self.lost_samples += lost
                logger.warning(
                    "%s: %d RDA blocks lost (blocks %d to %d, about %d samples); %d gaps so far",
                    self._describe(), jump - 1, self._last_block + 1, block - 1, lost, self.gap_count,
                )
                self._head += lost
            elif jump <= 0:
                logger.warning("%s: RDA block number went from %d to %d; continuing",
                               self._describe(), self._last_block, block)
        self._last_block = block
        start = self._head
        self._head += n_points
        signals, triggers = self.outputs["signals"], self.outputs["triggers"]
        if n_points:
            signals.send(np.multiply(values, self._scale, dtype="float32"), index=self._head)
        if len(markers) and triggers.configured:
            markers["index"] += start
            triggers.send(markers)
