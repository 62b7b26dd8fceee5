"""Sending and receiving multipart messages with few Python operations per frame.

pyzmq's ``send_multipart`` and ``recv_multipart`` combine their flags as ``zmq.Flag``
enums and read ``RCVMORE`` with ``getsockopt``, which builds a ``zmq.SocketOption`` enum
each time: about 2 us per frame, more than ZeroMQ's own work for a small frame, and an
RPC round trip moves a dozen frames. These functions pass plain ints and read the
"more" flag of a received ``zmq.Frame`` instead.
"""
import zmq

_SNDMORE = int(zmq.SNDMORE)


def send_frames(sock, frames, copy=True):
    """Send *frames* (bytes or buffers) as one message; with *copy* False, frames of at least
    the socket's ``copy_threshold`` are sent from their own memory (see pyzmq)."""
    last = len(frames) - 1
    for index, frame in enumerate(frames):
        sock.send(frame, _SNDMORE if index < last else 0, copy=copy)


def recv_frames(sock, flags=0):
    """Receive one message as a list of ``zmq.Frame`` (no copy); zmq.Again as ``recv``.

    Receiving a small frame as a Frame costs about as much as receiving it as bytes and
    reading ``RCVMORE``; a large one is not copied.
    """
    frame = sock.recv(flags, copy=False)
    frames = [frame]
    while frame.more:
        frame = sock.recv(flags, copy=False)
        frames.append(frame)
    return frames
