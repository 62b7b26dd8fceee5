"""CURVE authentication of RPC servers: protected servers in real spawned processes."""
import shutil
import threading
import time

import pytest
from pyacq.core.rpc import curve
from pyacq.core.rpc.client import RPCClient

pytestmark = pytest.mark.usefixtures("empty_keyring")


@pytest.fixture
def protected(spawn, keys):
    """A spawned process whose RPC server requires CURVE; this process presents the client key."""
    curve.set_client_certificate(keys.client)
    return spawn(name="protected", certificate=keys.server, authorized_keys=keys.authorized)


def _server_warnings(proc):
    """Start collecting the curve module's log records in *proc*; return the handler (a proxy)."""
    handler = proc.client._import("logging.handlers").MemoryHandler(1000)
    proc.client._import("logging").getLogger("pyacq.core.rpc.curve").addHandler(handler)
    return handler


def test_authorized_client_makes_sync_and_async_calls(protected, keys):
    """A client with an authorized certificate calls a protected server synchronously and
    asynchronously, and the connection really uses the server's key."""
    calc = protected.client._import("rpc_test_helpers").Calculator()
    assert calc.add(2, 3) == 5
    future = calc.add(4, 5, _sync="async")
    assert future.result(timeout=10) == 9
    assert curve.server_key(protected.address) == keys.server_public
    assert RPCClient.get_client(protected.address)._server_key == keys.server_public


def test_proxy_reaches_third_process_with_its_server_key(protected, spawn, keys):
    """A proxy to an object of a protected server, passed to a third process, carries the
    server's public key: with its own client certificate, that process calls the object."""
    calc = protected.client._import("rpc_test_helpers").Calculator()
    third = spawn(name="third")
    third_curve = third.client._import("pyacq.core.rpc.curve")
    third_curve.set_client_certificate(keys.client)
    caller = third.client._import("rpc_test_helpers").Calculator()
    assert caller.call(calc.add, 20, 22) == 42
    assert third_curve.server_key(protected.address) == keys.server_public


def test_third_process_without_certificate_gets_a_clear_error(protected, spawn):
    """A process that learns a protected server's key from a proxy but has no client
    certificate fails at once with an error naming the address and the missing certificate."""
    calc = protected.client._import("rpc_test_helpers").Calculator()
    caller = spawn(name="third").client._import("rpc_test_helpers").Calculator()
    with pytest.raises(Exception) as info:
        caller.call(calc.add, 1, 2, _timeout=20)
    assert "AuthenticationError" in str(info.value)
    assert protected.address in str(info.value)
    assert "no client certificate" in str(info.value)


def test_client_without_keys_is_refused_within_its_timeout(protected, keys):
    """A client that knows no key for a protected server gets AuthenticationError naming the
    address and saying authentication is required, well before its timeout, at each call; with
    the keys back, a new client gets through."""
    curve.forget_keys()
    client = RPCClient.get_client(protected.address)
    assert client._server_key is None
    start = time.monotonic()
    with pytest.raises(curve.AuthenticationError,
                       match=f"{protected.address} requires authentication"):
        client.ping(timeout=10.0)
    assert time.monotonic() - start < 3.0
    with pytest.raises(curve.AuthenticationError):
        client.ping(timeout=10.0)
    curve.add_server_key(protected.address, keys.server_public)
    curve.set_client_certificate(keys.client)
    assert RPCClient.get_client(protected.address).ping(timeout=10.0) == "pong"


def test_repeated_failed_handshakes_without_detail_mean_authentication_is_required():
    """pyzmq 27 / libzmq 4.3.5 may report only HANDSHAKE_FAILED_NO_DETAIL, at every retry, to
    a plain client of a CURVE server: repeated failures tell it the server requires
    authentication; one failure alone decides only when the call times out, and a successful
    handshake starts the count again. A protocol error (libzmq then stops retrying) decides at
    once."""
    import zmq
    no_detail = zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
    watch = curve.HandshakeWatch("tcp://127.0.0.1:5999", None)
    assert watch.verdict_at_timeout() is None
    assert watch.record(no_detail, 0) is None
    assert "requires authentication" in watch.verdict_at_timeout()
    assert watch.record(zmq.EVENT_HANDSHAKE_SUCCEEDED, 0) is None
    assert watch.verdict_at_timeout() is None
    assert watch.record(no_detail, 0) is None
    message = watch.record(no_detail, 0)
    assert "tcp://127.0.0.1:5999 requires authentication (ZeroMQ CURVE)" in message
    assert "server_key=" in message
    fresh = curve.HandshakeWatch("tcp://127.0.0.1:5999", None)
    assert "requires authentication" in fresh.record(zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, 0x11000002)


def test_unauthorized_key_is_refused_logged_and_server_keeps_serving(protected, keys):
    """A client whose key is not authorized is refused (AuthenticationError naming the address
    and its key); the server logs the refused key and goes on serving authorized clients."""
    handler = _server_warnings(protected)
    curve.set_client_certificate(keys.intruder)
    intruder = RPCClient.get_client(protected.address)
    with pytest.raises(curve.AuthenticationError, match="refused this process's client key") as info:
        intruder.ping(timeout=10.0)
    assert protected.address in str(info.value)
    assert keys.intruder_public.decode() in str(info.value)
    curve.set_client_certificate(keys.client)
    assert RPCClient.get_client(protected.address).ping(timeout=10.0) == "pong"
    messages = [record.getMessage() for record in handler.buffer]
    assert any(keys.intruder_public.decode() in m and "not authorized" in m for m in messages), messages


def test_wrong_server_key_is_reported(protected, keys):
    """A client expecting another key than the server's fails with an error saying so; with
    the right key registered, a new client gets through."""
    curve.add_server_key(protected.address, keys.intruder_public)
    with pytest.raises(curve.AuthenticationError, match="is not that server's"):
        RPCClient.get_client(protected.address).ping(timeout=10.0)
    curve.add_server_key(protected.address, keys.server_public)
    assert RPCClient.get_client(protected.address).ping(timeout=10.0) == "pong"


def test_authorized_key_added_while_serving_is_accepted(protected, keys):
    """The authorized directory is read at each connection: a key copied there while the
    server runs is accepted without restarting it."""
    curve.set_client_certificate(keys.intruder)
    with pytest.raises(curve.AuthenticationError):
        RPCClient.get_client(protected.address).ping(timeout=10.0)
    shutil.copy(keys.intruder.replace(".key_secret", ".key"), keys.authorized)
    assert RPCClient.get_client(protected.address).ping(timeout=10.0) == "pong"


def test_protected_server_in_this_process_closes_from_another_thread(keys):
    """A protected server serving in a thread of this process answers clients of this process
    (which present the server's own certificate) and closes when asked from another thread;
    its key and ZAP authenticator go with it."""
    from pyacq.core.rpc.server import RPCServer
    server = RPCServer(certificate=keys.server, authorized_keys=keys.authorized)
    server["answer"] = 42
    thread = threading.Thread(target=server.run_forever, daemon=True)
    thread.start()
    client = RPCClient(server.address)
    try:
        assert client["answer"] == 42
    finally:
        client.close()
        server.close()
        thread.join(10)
    assert not thread.is_alive()
    assert curve.server_key(server.address) is None
    assert curve.client_certificate() is None
    assert curve._authenticators._authenticator is None


def test_bad_keys_are_refused_with_specific_errors(keys, tmp_path):
    """Half a configuration, a public-only certificate, a malformed key and an existing
    certificate name are each refused with an error naming the problem."""
    from pyacq.core.rpc.server import RPCServer
    with pytest.raises(ValueError, match="needs both certificate"):
        RPCServer(certificate=keys.server)
    with pytest.raises(ValueError, match="holds only a public key"):
        RPCServer(certificate=keys.server.replace(".key_secret", ".key"),
                  authorized_keys=keys.authorized)
    with pytest.raises(NotADirectoryError, match="authorized keys"):
        RPCServer(certificate=keys.server, authorized_keys=str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="not a Z85 CURVE key"):
        curve.add_server_key("tcp://127.0.0.1:5000", "x" * 39 + "~")
    with pytest.raises(FileExistsError, match="refusing to overwrite"):
        curve.create_keys(str(tmp_path / "server"), "server")
    assert curve._authenticators._authenticator is None


def test_client_with_server_key_but_no_certificate_fails_at_once(keys):
    """Knowing a server's key without a client certificate is an immediate, specific error."""
    curve.add_server_key("tcp://127.0.0.1:5999", keys.server_public)
    with pytest.raises(curve.AuthenticationError, match="no client certificate"):
        RPCClient.get_client("tcp://127.0.0.1:5999")


def _curve_warnings(handler):
    return [record.getMessage() for record in handler.buffer]


def test_forged_key_for_a_pinned_server_changes_nothing(protected, spawn, keys):
    """Process P pinned protected server S's key and reached S; a message then hands P a proxy
    for S's address carrying another key. P's keyring keeps S's key, P logs the refusal naming
    S's address, P's calls to S still work, and the proxy P sends on (back to this process, and
    to a third process that calls S through it) carries S's real key."""
    calc = protected.client._import("rpc_test_helpers").Calculator()
    pinning, third = spawn(name="pinning"), spawn(name="third")
    for proc in (pinning, third):
        proc.client._import("pyacq.core.rpc.curve").set_client_certificate(keys.client)
    pinning_curve = pinning.client._import("pyacq.core.rpc.curve")
    pinning_curve.add_server_key(protected.address, keys.server_public.decode())
    handler = _server_warnings(pinning)
    pinning_calc = pinning.client._import("rpc_test_helpers").Calculator()
    assert pinning_calc.call(calc.add, 1, 2) == 3
    forged = dict(calc.add._to_dict(), server_key=keys.intruder_public.decode())
    assert pinning_calc.call(forged, 2, 3) == 5
    assert pinning_curve.server_key(protected.address) == keys.server_public
    assert pinning_calc.call(calc.add, 3, 4) == 7
    sent_on = pinning_calc.identity(forged)
    assert sent_on._server_key == keys.server_public
    third_calc = third.client._import("rpc_test_helpers").Calculator()
    assert pinning_calc.call(third_calc.call, forged, 4, 5) == 9
    assert third.client._import("pyacq.core.rpc.curve").server_key(protected.address) \
        == keys.server_public
    warnings = _curve_warnings(handler)
    assert any(protected.address in m and "pinned" in m for m in warnings), warnings


def test_forged_key_for_a_plain_server_reached_before_changes_nothing(spawn, keys):
    """Process P reached plain server S (no CURVE); a message then hands P a proxy for S's
    address carrying a key. P learns no key for S, logs the refusal naming S's address, its
    calls to S still work, and the proxy P sends on carries no key."""
    plain, reaching = spawn(name="plain"), spawn(name="reaching")
    calc = plain.client._import("rpc_test_helpers").Calculator()
    handler = _server_warnings(reaching)
    reaching_calc = reaching.client._import("rpc_test_helpers").Calculator()
    assert reaching_calc.call(calc.add, 1, 2) == 3
    forged = dict(calc.add._to_dict(), server_key=keys.intruder_public.decode())
    assert reaching_calc.call(forged, 2, 3) == 5
    assert reaching.client._import("pyacq.core.rpc.curve").server_key(plain.address) is None
    assert reaching_calc.call(calc.add, 3, 4) == 7
    assert reaching_calc.identity(forged)._server_key is None
    warnings = _curve_warnings(handler)
    assert any(plain.address in m and "without authentication" in m for m in warnings), warnings
