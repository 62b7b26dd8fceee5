"""Sending and receiving multipart messages with few Python operations per frame.

pyzmq's ``send_multipart`` and ``recv_multipart`` combine their flags as ``zmq.Flag``
enums and read ``RCVMORE`` with ``getsockopt``, which builds a ``zmq.SocketOption`` enum
each time: about 2 us per frame, more than ZeroMQ's own work for a small frame, and an
RPC round trip moves a dozen frames. These functions pass plain ints and read the
"more" flag of a received ``zmq.Frame`` instead (and ``has_message`` tests ``EVENTS``
with plain ints too).
"""
import zmq

_SNDMORE = int(zmq.SNDMORE)
_EVENTS = int(zmq.EVENTS)
_POLLIN = int(zmq.POLLIN)


def has_message(sock):
    """True if a message waits on *sock* (read without blocking, with plain ints)."""
    return bool(sock.getsockopt(_EVENTS) & _POLLIN)


def send_frames(sock, frames, buffers=(), copy_buffers=True):
    """Send *frames* (small bytes, copied into the message) then *buffers* (large) as one
    message; with *copy_buffers* False, the buffers are sent from their own memory, which
    must then stay unchanged until ZeroMQ has sent them."""
    send = sock.send
    for frame in frames[:-1]:
        send(frame, _SNDMORE)
    if not buffers:
        send(frames[-1])
        return
    send(frames[-1], _SNDMORE)
    for buffer in buffers[:-1]:
        send(buffer, _SNDMORE, copy=copy_buffers)
    send(buffers[-1], 0, copy=copy_buffers)


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
