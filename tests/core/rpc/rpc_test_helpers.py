"""Objects that the RPC tests create in spawned processes (imported there by name)."""
import logging
import os
import sys
import threading

import numpy as np


class Calculator:
    """A plain object with state, methods and attributes of every kind."""

    def __init__(self):
        self.value = 0
        self.params = {"dtype": "float32", "shape": [2, 3], "rate": 1000.0}
        self.array = np.arange(6, dtype="float32").reshape(2, 3)
        self.child = Child()

    def add(self, a, b):
        return a + b

    def accumulate(self, x):
        self.value += x
        return self.value

    def fail(self, message):
        raise ValueError(message)

    def make_child(self):
        return Child()

    def identity(self, obj):
        return obj

    def call(self, func, *args):
        return func(*args)

    def is_same(self, a, b):
        return a is b

    def type_name(self, obj):
        return type(obj).__name__

    def sleep(self, seconds):
        threading.Event().wait(seconds)
        return seconds


class Child:
    """Not serializable: always travels as a proxy."""

    def __init__(self):
        self.name = "child"

    def hello(self):
        return f"hello from {os.getpid()}"


class PingPong:
    """Bounces a call to a peer (possibly in another process) n times."""

    def __init__(self, name):
        self.name = name
        self.peer = None

    def set_peer(self, peer):
        self.peer = peer

    def bounce(self, n):
        if n == 0:
            return [self.name]
        return [self.name] + self.peer.bounce(n - 1)


class Ticker:
    """Counts timer callbacks of the server of the thread it lives in."""

    def __init__(self):
        self.count = 0
        self.timer = None
        self.thread_names = []

    def tick(self, step=1):
        self.count += step
        self.thread_names.append(threading.current_thread().name)

    def start(self, interval, step):
        from pyacq.core.rpc import RPCServer
        self.timer = RPCServer.get_server().start_timer(self.tick, interval, step=step)

    def stop(self):
        self.timer.stop()


def object_count():
    """Number of objects the server of this thread keeps for proxies."""
    from pyacq.core.rpc import RPCServer
    return len(RPCServer.get_server()._objects)


def max_request_size():
    from pyacq.core.rpc import RPCServer
    return RPCServer.get_server().max_request_size


def set_max_request_size(size):
    from pyacq.core.rpc import RPCServer
    RPCServer.get_server().max_request_size = size


def current_thread_is_main():
    return threading.current_thread() is threading.main_thread()


def log_and_print(text):
    logging.getLogger("helper").warning("logged: %s", text)
    print(f"printed: {text}")
    print(f"error output: {text}", file=sys.stderr)


def crash_in_thread(text):
    def crash():
        raise RuntimeError(f"uncaught: {text}")
    thread = threading.Thread(target=crash, name="crasher")
    thread.start()
    thread.join(10)
