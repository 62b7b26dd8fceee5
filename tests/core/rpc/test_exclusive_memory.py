"""Result arrays sent without a copy only when nothing but the reply can reach their memory."""
import mmap
import threading

import numpy as np
import pytest
import zmq
from pyacq.core.rpc import RPCClient, RPCServer
from pyacq.core.rpc import server as server_module
from pyacq.core.rpc.exclusive_memory import only_holder

BLOCK = 1 << 17  # float64 elements: 1 MiB, sent out of band


def test_an_array_that_owns_its_memory_and_is_held_once_is_exclusive():
    """A fresh array held by the list alone is exclusive; once anything else refers to it (a
    name, a view, a memoryview) it is not."""
    holder = [np.zeros(BLOCK)]
    assert only_holder(holder)
    kept = holder[0]
    assert not only_holder(holder)
    del kept
    view = holder[0][10:]
    assert not only_holder(holder)
    del view
    exported = memoryview(holder[0])
    assert not only_holder(holder)
    del exported
    assert only_holder(holder)


def test_a_window_of_a_kept_array_is_not_exclusive():
    """A view of an array that something else keeps (a ring buffer's window) is not exclusive,
    even though the view itself is held once."""
    ring = np.zeros(BLOCK)
    assert not only_holder([ring[: BLOCK // 2]])
    assert not only_holder([ring.reshape(-1, 8)])


def test_memory_of_a_request_frame_is_exclusive_only_when_named_and_unshared():
    """An array decoded in place from a request frame is exclusive when the frame is one of the
    request's (by id) and nothing else holds the frame or another view of it."""
    holder = [np.frombuffer(zmq.Frame(bytes(8 * BLOCK)), dtype="float64").reshape(-1, 8)]
    frame_ids = {id(holder[0].base.base)}
    assert only_holder(holder, frame_ids)
    assert not only_holder(holder)  # not a frame of this request
    frame = holder[0].base.base
    assert not only_holder(holder, frame_ids)
    del frame
    other = np.frombuffer(holder[0].base.base, dtype="uint8")
    assert not only_holder(holder, frame_ids)
    del other
    assert only_holder(holder, frame_ids)


def test_memory_another_process_may_write_is_never_exclusive():
    """Arrays over a memory map or over bytes are not exclusive, however they are held."""
    with mmap.mmap(-1, 8 * BLOCK) as mapped:
        over_map = [np.frombuffer(mapped, dtype="float64")]
        assert not only_holder(over_map)
        del over_map
    assert not only_holder([np.frombuffer(bytes(8 * BLOCK), dtype="float64")])
    assert not only_holder([[1, 2, 3]])
    assert not only_holder([None])


class Keeper:
    """Keeps an array and hands out the array, a window of it, or a fresh copy."""

    def __init__(self):
        self.data = np.arange(BLOCK, dtype="float64")

    def kept(self):
        return self.data

    def window(self):
        return self.data[: BLOCK // 2]

    def fresh(self):
        return self.data * 2


@pytest.fixture
def served_keeper(monkeypatch):
    """A Keeper served over tcp by an RPCServer in a thread, and how each reply's out-of-band
    frames were sent (``copy_buffers`` of each send that had some)."""
    copies = []
    send_frames = server_module.send_frames

    def recording_send(sock, frames, buffers=(), copy_buffers=True):
        if buffers:
            copies.append(copy_buffers)
        send_frames(sock, frames, buffers, copy_buffers)

    monkeypatch.setattr(server_module, "send_frames", recording_send)
    ready = threading.Event()
    holder = {}

    def serve():
        server = holder["server"] = RPCServer()
        server["keeper"] = Keeper()
        server["numpy"] = np
        ready.set()
        server.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    client = RPCClient(holder["server"].address)
    try:
        yield client, copies
    finally:
        client.close_server()
        client.close()
        thread.join(10)
        assert not thread.is_alive()


def test_server_copies_a_result_it_keeps_and_not_one_only_the_reply_holds(served_keeper):
    """Over tcp, a result the server keeps (an attribute, a window of it) is copied as it is
    sent; a fresh result, and an argument echoed back from the request's own frame, are sent
    from their own memory. Every reply carries the right values."""
    client, copies = served_keeper
    keeper, numpy = client["keeper"], client["numpy"]
    expected = np.arange(BLOCK, dtype="float64")
    assert np.array_equal(keeper.kept(), expected)
    assert np.array_equal(keeper.window(), expected[: BLOCK // 2])
    assert np.array_equal(keeper.fresh(), expected * 2)
    block = np.full(BLOCK, 3.0)
    assert np.array_equal(numpy.asarray(block), block)
    assert copies[-4:] == [True, True, False, False]
