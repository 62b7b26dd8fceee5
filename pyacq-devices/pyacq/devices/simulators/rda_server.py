"""An RDA server standing in for BrainVision Recorder, to run BrainAmpSocket without an amplifier.

Try a pipeline without hardware::

    from pyacq.devices import BrainAmpSocket
    from pyacq.devices.simulators import RDAServer

    with RDAServer(nb_channel=8, sample_rate=1000., marker_interval=500) as server:
        dev = BrainAmpSocket()
        dev.configure(brainamp_host="127.0.0.1", brainamp_port=server.port)
        ...  # configure dev.outputs['signals'] / ['triggers'], initialize, start

or from a shell, on the Recorder's own port: ``python -m pyacq.devices.simulators.rda_server``.

Every client gets a start message, then data blocks numbered from 1, paced at
the real sample rate, beginning at sample 0 of ``signal`` (looped). Faults to
inject: ``fragment_size`` sends each message in small pieces (the client sees
fragmented reads), ``drop_blocks`` never sends the listed block numbers (the
client must report the gap).
"""
import argparse
import logging
import socket
import threading
import time

import numpy as np

from ..rda_protocol import MSG_DATA_FLOAT32, MSG_DATA_INT16, encode_data, encode_message, encode_start

logger = logging.getLogger(__name__)

#: Seconds between checks of the stop request in the server threads.
_POLL_INTERVAL = 0.1


def default_signal(nb_channel, sample_rate, seconds=10.0):
    """A few seconds of distinct sines per channel, in µV (float32)."""
    t = np.arange(int(seconds * sample_rate))[:, None] / sample_rate
    freqs = 3.0 + 2.0 * np.arange(nb_channel)[None, :]
    return (50.0 * np.sin(2 * np.pi * freqs * t)).astype("float32")


class RDAServer:
    """Serve the RDA protocol on ``host:port`` (port 0 picks a free port, read ``.port``).

    ``signal`` (n_samples, nb_channel) is in µV and loops; it is sent divided by
    each channel's resolution (float32 blocks, or rounded int16 blocks with
    ``data_type='int16'``). ``markers`` lists ``(sample_position, type,
    description)`` at absolute positions from the start of each connection;
    ``marker_interval`` adds a ``('Stimulus', 'S  1')`` marker every that many
    samples. ``keepalive_interval`` (s) sends keep-alive messages the client
    must ignore.

    Parameters
    ----------
    nb_channel : int, optional
        Channels served. Default 8.
    sample_rate : float, optional
        Samples per second per channel, in Hz; blocks are paced to it. Default 1000.
    block_points : int, optional
        Samples per data block. Default 20.
    host : str, optional
        Interface to listen on. Default ``'127.0.0.1'``.
    port : int, optional
        TCP port; 0 (default) picks a free one, read it from ``.port``.
    data_type : {'float32', 'int16'}, optional
        Sample type of the data messages. Default 'float32'.
    resolutions : sequence of float, optional
        µV per unit of each channel, sent in the start message. Default 1 for all.
    channel_names : sequence of str, optional
        Default ``Ch1``, ``Ch2``, ...
    signal : array_like, optional
        ``(n_samples, nb_channel)`` in µV, sent in a loop. Default: a distinct sine
        per channel (50 µV, 3 Hz + 2 Hz per channel index).
    markers : sequence of tuple, optional
        ``(sample_position, type, description)`` markers. Default: none.
    marker_interval : int, optional
        Add a ``('Stimulus', 'S  1')`` marker every that many samples. Default None.
    fragment_size : int, optional
        Send each message in pieces of that many bytes (the client must reassemble
        them). Default None: whole messages.
    drop_blocks : iterable of int, optional
        1-based block numbers never sent (the client must report the gap). Default: none.
    keepalive_interval : float, optional
        Seconds between keep-alive messages. Default None: none sent.
    """

    def __init__(self, nb_channel=8, sample_rate=1000.0, block_points=20, host="127.0.0.1", port=0,
                 data_type="float32", resolutions=None, channel_names=None, signal=None,
                 markers=(), marker_interval=None, fragment_size=None, drop_blocks=(),
                 keepalive_interval=None):
        if data_type not in ("float32", "int16"):
            raise ValueError(f"RDAServer: data_type must be 'float32' or 'int16', got {data_type!r}")
        self.nb_channel = nb_channel
        self.sample_rate = float(sample_rate)
        self.block_points = block_points
        self.msg_type = MSG_DATA_FLOAT32 if data_type == "float32" else MSG_DATA_INT16
        self.resolutions = np.ones(nb_channel) if resolutions is None else np.asarray(resolutions, float)
        self.channel_names = channel_names or [f"Ch{i + 1}" for i in range(nb_channel)]
        self.signal = default_signal(nb_channel, sample_rate) if signal is None else np.asarray(signal)
        if self.signal.ndim != 2 or self.signal.shape[1] != nb_channel:
            raise ValueError(f"RDAServer: signal must have shape (n_samples, {nb_channel}), "
                             f"got {self.signal.shape}")
        if len(self.resolutions) != nb_channel or len(self.channel_names) != nb_channel:
            raise ValueError(f"RDAServer: give {nb_channel} resolutions and channel names")
        raw = self.signal / self.resolutions[None, :]
        if self.msg_type == MSG_DATA_INT16:
            raw = np.clip(np.round(raw), -32768, 32767)
        self._raw = np.concatenate([raw, raw[:block_points]]) if len(raw) >= block_points \
            else np.resize(raw, (len(raw) + block_points, nb_channel))
        self.markers = sorted(markers)
        self.marker_interval = marker_interval
        self.fragment_size = fragment_size
        self.drop_blocks = set(drop_blocks)
        self.keepalive_interval = keepalive_interval
        self._start_message = encode_start(self.sample_rate, self.resolutions, self.channel_names)
        self._listener = socket.create_server((host, port))
        self._listener.settimeout(_POLL_INTERVAL)
        self.host, self.port = self._listener.getsockname()[:2]
        self._stopping = threading.Event()
        self._clients = []
        self._lock = threading.Lock()
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name="rda-server-accept")
        self._accept_thread.start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _accept_loop(self):
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            thread = threading.Thread(target=self._serve_client, args=(sock,), daemon=True,
                                      name="rda-server-client")
            with self._lock:
                self._clients.append((sock, thread))
            thread.start()

    def block_markers(self, block):
        """The marker records of 1-based ``block``: ``(position in block, points, channel, type, desc)``.

        Parameters
        ----------
        block : int
            The block number, from 1 for each connection.
        """
        start = (block - 1) * self.block_points
        stop = start + self.block_points
        found = [(pos - start, 1, -1, kind, desc) for pos, kind, desc in self.markers
                 if start <= pos < stop]
        if self.marker_interval:
            first = -(-start // self.marker_interval) * self.marker_interval
            found += [(pos - start, 1, -1, "Stimulus", "S  1")
                      for pos in range(first, stop, self.marker_interval)]
        return sorted(found)

    def block_message(self, block):
        """The complete data message of 1-based ``block``.

        Parameters
        ----------
        block : int
            The block number, from 1 for each connection.
        """
        position = ((block - 1) * self.block_points) % (len(self._raw) - self.block_points)
        values = self._raw[position:position + self.block_points]
        return encode_data(block, values, self.block_markers(block), self.msg_type)

    def _send(self, sock, message):
        if not self.fragment_size:
            sock.sendall(message)
            return
        for offset in range(0, len(message), self.fragment_size):
            sock.sendall(message[offset:offset + self.fragment_size])
            time.sleep(0.0002)

    def _serve_client(self, sock):
        try:
            self._send(sock, self._start_message)
            started = time.monotonic()
            next_keepalive = started + (self.keepalive_interval or 0)
            block = 1
            while not self._stopping.wait(max(0.0, started + block * self.block_points / self.sample_rate
                                              - time.monotonic())):
                if block not in self.drop_blocks:
                    self._send(sock, self.block_message(block))
                block += 1
                if self.keepalive_interval and time.monotonic() >= next_keepalive:
                    self._send(sock, encode_message(10000))
                    next_keepalive += self.keepalive_interval
        except OSError as exc:
            logger.debug("RDA client left: %s", exc)
        finally:
            sock.close()

    def close(self):
        """Stop serving, disconnect every client and join the threads."""
        self._stopping.set()
        self._listener.close()
        self._accept_thread.join(timeout=5.0)
        with self._lock:
            clients, self._clients = self._clients, []
        for sock, thread in clients:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            thread.join(timeout=5.0)


def main(argv=None):
    """Serve simulated RDA data until interrupted (Ctrl-C)."""
    parser = argparse.ArgumentParser(description="Simulated BrainVision Recorder RDA server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=51244)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--marker-interval", type=int, default=1000)
    args = parser.parse_args(argv)
    with RDAServer(nb_channel=args.channels, sample_rate=args.rate, host=args.host, port=args.port,
                   marker_interval=args.marker_interval) as server:
        print(f"RDA server on {server.host}:{server.port}; Ctrl-C to stop", flush=True)
        try:
            while True:
                time.sleep(1.0)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
