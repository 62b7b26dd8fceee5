"""Multipart messages sent and received frame by frame (pyacq.core.rpc.frames)."""
import numpy as np
import pytest
import zmq
from pyacq.core.rpc.frames import has_message, recv_frames, send_frames


@pytest.fixture
def pair():
    """A connected PAIR of sockets over tcp (frames received are memory of their own)."""
    context = zmq.Context.instance()
    receiver, sender = context.socket(zmq.PAIR), context.socket(zmq.PAIR)
    port = receiver.bind_to_random_port("tcp://127.0.0.1")
    sender.connect(f"tcp://127.0.0.1:{port}")
    receiver.setsockopt(zmq.RCVTIMEO, 10000)
    yield sender, receiver
    sender.close(linger=0)
    receiver.close(linger=0)


@pytest.mark.parametrize("copy_buffers", [True, False])
def test_frames_and_buffers_arrive_as_one_message(pair, copy_buffers):
    """Small frames then buffers (copied or not) arrive as one message of zmq.Frames, in
    order, and the next message starts after it."""
    sender, receiver = pair
    array = np.arange(1 << 16, dtype="float64")
    send_frames(sender, [b"a", b"bc"], [array, memoryview(b"tail")], copy_buffers=copy_buffers)
    send_frames(sender, [b"next"])
    message = recv_frames(receiver)
    assert all(isinstance(frame, zmq.Frame) for frame in message)
    assert [bytes(frame) for frame in message] == [b"a", b"bc", array.tobytes(), b"tail"]
    assert [bytes(frame) for frame in recv_frames(receiver)] == [b"next"]


def test_recv_frames_honours_flags(pair):
    """With NOBLOCK and nothing waiting, recv_frames raises zmq.Again like recv."""
    with pytest.raises(zmq.Again):
        recv_frames(pair[1], zmq.NOBLOCK)


def test_has_message_says_whether_a_message_waits(pair):
    """has_message is False on an idle socket and True once a message has arrived."""
    sender, receiver = pair
    assert not has_message(receiver)
    send_frames(sender, [b"x"])
    receiver.poll(10000)
    assert has_message(receiver)
    recv_frames(receiver)
    assert not has_message(receiver)
