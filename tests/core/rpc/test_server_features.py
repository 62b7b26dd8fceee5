"""RPCServer features: timers, thread-safe close, and a Qt-free import."""
import subprocess
import sys
import threading

from process_checks import wait_until
from pyacq.core.rpc import RPCClient, RPCServer


def test_timer_calls_back_in_server_thread(child):
    """start_timer() calls the callback repeatedly, in the server's (main) thread."""
    ticker = child.client._import("rpc_test_helpers").Ticker()
    ticker.start(0.02, 2)
    try:
        assert wait_until(lambda: ticker.count >= 6, timeout=20)
    finally:
        ticker.stop()
    assert ticker.count % 2 == 0
    assert set(ticker.thread_names) == {"MainThread"}


def test_close_from_another_thread_stops_run_forever():
    """close() from another thread ends run_forever() and disconnects clients."""
    server = RPCServer()
    thread = threading.Thread(target=server.run_forever, name="server")
    thread.start()
    client = RPCClient(server.address)
    try:
        assert client.ping(timeout=20) == "pong"
        server.close()
        thread.join(20)
        assert not thread.is_alive() and not server.running()
        assert wait_until(lambda: client._read_replies() or client.disconnected(), timeout=20)
    finally:
        client.close()


def test_import_loads_neither_qt_nor_zmq():
    """Importing pyacq.core.rpc loads no Qt (and nothing heavy) until a name is used."""
    code = ("import sys, pyacq.core.rpc as r; "
            "assert not any(m.startswith('PyQt') for m in sys.modules); "
            "assert 'zmq' not in sys.modules; r.RPCServer; "
            "assert not any(m.startswith('PyQt') for m in sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
