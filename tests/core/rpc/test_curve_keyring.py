"""What the keyring learns from messages: decoding is pure, the proxy decides when it connects.

In this process only (the real-process attack is in test_curve.py): a proxy's ``server_key``
is kept by the decoded proxy and checked as text, never read as a path; the keyring learns
it only under the rules of ``curve.learn_server_key``; proxies sent on carry what this
process knows.
"""
import builtins
import logging
import struct
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyacq.core.rpc import curve
from pyacq.core.rpc.client import RPCClient
from pyacq.core.rpc.serializer import all_serializers
from pyacq.core.rpc.server import RPCServer
from zmq.utils import z85

ADDRESS = "tcp://127.0.0.1:5999"
OTHER_ADDRESS = "tcp://127.0.0.1:5998"


pytestmark = pytest.mark.usefixtures("empty_keyring")


@pytest.fixture
def two_keys():
    """Two distinct valid public keys, as text."""
    import zmq
    return zmq.curve_keypair()[0].decode(), zmq.curve_keypair()[0].decode()


@pytest.fixture
def no_file_reads(monkeypatch):
    """Make any open() in this process fail the test: decoding and learning read no file."""
    opened = []

    def refuse(file, *args, **kwds):
        opened.append(file)
        raise AssertionError(f"a file was opened: {file!r}")

    monkeypatch.setattr(builtins, "open", refuse)
    return opened


def keyring():
    """A copy of everything the keyring holds about servers."""
    return (dict(curve._server_keys), set(curve._pinned_addresses), set(curve._plain_addresses))


def proxy_message(ser, address, server_key):
    """A message holding one proxy for *address* whose wire form carries *server_key*."""
    wire = {"___type_name___": "proxy", "rpc_addr": address, "obj_id": 3, "ref_id": 4,
            "type_str": "", "attributes": [], "server_key": server_key}
    return ser.dumps({"obj": wire})


@pytest.mark.parametrize("ser_type", sorted(all_serializers))
def test_decoding_a_proxy_changes_no_keyring(ser_type, two_keys, no_file_reads):
    """A decoded proxy holds the server key its message carried, and the keyring stays as it
    was: empty, or with the key pinned for that address."""
    ser = all_serializers[ser_type]()
    proxy = ser.loads(proxy_message(ser, ADDRESS, two_keys[0]))["obj"]
    assert proxy._server_key == two_keys[0].encode()
    assert keyring() == ({}, set(), set())
    curve.add_server_key(ADDRESS, two_keys[1])
    before = keyring()
    proxy = ser.loads(proxy_message(ser, ADDRESS, two_keys[0]))["obj"]
    assert proxy._server_key == two_keys[0].encode()
    assert keyring() == before
    assert no_file_reads == []


@pytest.mark.parametrize("ser_type", sorted(all_serializers))
def test_server_key_naming_a_file_is_refused_without_reading_it(ser_type, tmp_path, two_keys,
                                                               monkeypatch):
    """A server_key that names a file (holding a ``public-key`` line) or a missing file is
    refused with the same ValueError, which names neither the file's key nor whether it exists;
    no file is opened and the keyring learns nothing."""
    ser = all_serializers[ser_type]()
    path = tmp_path / "server.key"
    path.write_text(f'curve\n    public-key = "{two_keys[0]}"\n')
    message = proxy_message(ser, ADDRESS, str(path))
    opened = []
    monkeypatch.setattr(builtins, "open", lambda file, *a, **k: opened.append(file))
    errors = []
    for exists in (True, False):
        if not exists:
            path.unlink()
        with pytest.raises(ValueError, match="malformed proxy") as info:
            ser.loads(message)
        errors.append(str(info.value))
    assert errors[0] == errors[1]
    assert two_keys[0] not in errors[0] and "exist" not in errors[0]
    assert opened == []
    assert keyring() == ({}, set(), set())


@pytest.mark.parametrize("server_key", [
    "0" * 39, "0" * 41, "#" * 40, "é" + "0" * 39, "", 42, ["0" * 40], None, b"0" * 40])
def test_decoding_accepts_only_key_text(server_key):
    """Anything but a str of 40 Z85 characters decoding to 32 bytes is a malformed proxy (a
    missing server_key, None, is a plain proxy); the keyring stays empty."""
    ser = all_serializers["msgpack"]()
    message = proxy_message(ser, ADDRESS, server_key)
    if server_key is None:
        assert ser.loads(message)["obj"]._server_key is None
    else:
        with pytest.raises(ValueError, match="server_key must be a CURVE public key"):
            ser.loads(message)
    assert keyring() == ({}, set(), set())


def test_a_key_is_learnt_when_nothing_is_known(two_keys):
    """A valid key for an address this process knows nothing about is learnt (not pinned)."""
    assert curve.learn_server_key(ADDRESS, two_keys[0]) is True
    assert curve.server_key(ADDRESS) == two_keys[0].encode()
    assert keyring() == ({ADDRESS: two_keys[0].encode()}, set(), set())
    assert curve.learn_server_key(ADDRESS, two_keys[0].encode()) is True


def test_a_pinned_key_is_never_replaced_by_a_message(two_keys, tmp_path, caplog):
    """A key pinned from a certificate file stays when a message offers another: the refusal is
    a warning naming the address and the offered key, never the pinned key or the file's text."""
    public, _ = curve.create_keys(str(tmp_path), "lab")
    curve.add_server_key(ADDRESS, public)
    pinned = curve.server_key(ADDRESS)
    with caplog.at_level(logging.WARNING, logger="pyacq.core.rpc.curve"):
        assert curve.learn_server_key(ADDRESS, two_keys[0]) is False
    assert curve.server_key(ADDRESS) == pinned
    [record] = caplog.records
    message = record.getMessage()
    assert ADDRESS in message and "pinned" in message and two_keys[0] in message
    assert pinned.decode() not in message and "public-key" not in message


def test_a_learnt_key_is_not_replaced_by_another(two_keys, caplog):
    """Once a key is learnt for an address, a message offering another is refused and logged;
    the same key again is agreed with, silently."""
    curve.learn_server_key(ADDRESS, two_keys[0])
    with caplog.at_level(logging.WARNING, logger="pyacq.core.rpc.curve"):
        assert curve.learn_server_key(ADDRESS, two_keys[1]) is False
        assert curve.learn_server_key(ADDRESS, two_keys[0]) is True
    assert curve.server_key(ADDRESS) == two_keys[0].encode()
    [record] = caplog.records
    assert ADDRESS in record.getMessage() and "learnt earlier" in record.getMessage()


def test_no_key_is_learnt_for_a_server_reached_without_curve(two_keys, caplog):
    """A server this process reached without CURVE keeps being reached so: a key a message
    offers for its address is refused and logged."""
    curve.note_plain_server(ADDRESS)
    with caplog.at_level(logging.WARNING, logger="pyacq.core.rpc.curve"):
        assert curve.learn_server_key(ADDRESS, two_keys[0]) is False
    assert curve.server_key(ADDRESS) is None
    assert "without authentication" in caplog.records[0].getMessage()


@pytest.mark.parametrize("bad", ["/etc/passwd", "0" * 39, "#" * 40, "é" + "0" * 39, 987654321])
def test_a_key_is_learnt_only_from_key_text(bad, caplog, no_file_reads):
    """A path or any other text that is not a key teaches nothing, reads no file, and is
    logged by address only (the offered value is not echoed)."""
    with caplog.at_level(logging.WARNING, logger="pyacq.core.rpc.curve"):
        assert curve.learn_server_key(ADDRESS, bad) is False
    assert keyring() == ({}, set(), set())
    message = caplog.records[0].getMessage()
    assert ADDRESS in message and str(bad) not in message
    assert no_file_reads == []


def test_forgetting_a_server_drops_what_messages_taught(two_keys):
    """Once a server closed or died, its learnt key and its plain mark are forgotten (its port
    may serve another server); a pinned key stays."""
    curve.learn_server_key(ADDRESS, two_keys[0])
    curve.note_plain_server(OTHER_ADDRESS)
    curve.forget_server(ADDRESS)
    curve.forget_server(OTHER_ADDRESS)
    assert keyring() == ({}, set(), set())
    curve.add_server_key(ADDRESS, two_keys[1])
    curve.forget_server(ADDRESS)
    assert curve.server_key(ADDRESS) == two_keys[1].encode()


def test_proxy_sent_on_carries_the_key_this_process_knows(two_keys):
    """A proxy's wire form carries the key known for its address (the pinned one rather than
    the one it came with); the key it came with if none is known; none for a server reached
    without CURVE."""
    ser = all_serializers["msgpack"]()
    forged = ser.loads(proxy_message(ser, ADDRESS, two_keys[1]))["obj"]
    assert forged._to_dict()["server_key"] == two_keys[1]
    curve.add_server_key(ADDRESS, two_keys[0])
    assert forged._to_dict()["server_key"] == two_keys[0]
    assert forged.some_attribute._to_dict()["server_key"] == two_keys[0]
    plain = ser.loads(proxy_message(ser, OTHER_ADDRESS, two_keys[1]))["obj"]
    curve.note_plain_server(OTHER_ADDRESS)
    assert "server_key" not in plain._to_dict()


def test_proxy_offers_its_key_when_it_connects(two_keys, tmp_path):
    """A received proxy offers its key to the keyring when it first connects: learnt when
    nothing was known; refused when another key is pinned, and the client uses the pinned one."""
    _, secret = curve.create_keys(str(tmp_path), "client")
    curve.set_client_certificate(secret)
    ser = all_serializers["msgpack"]()
    proxy = ser.loads(proxy_message(ser, ADDRESS, two_keys[0]))["obj"]
    assert curve.server_key(ADDRESS) is None
    client = proxy._client()
    try:
        assert isinstance(client, RPCClient)
        assert curve.server_key(ADDRESS) == two_keys[0].encode()
        assert client._server_key == two_keys[0].encode()
    finally:
        client.close()
    curve.add_server_key(OTHER_ADDRESS, two_keys[1])
    forged = ser.loads(proxy_message(ser, OTHER_ADDRESS, two_keys[0]))["obj"]
    client = forged._client()
    try:
        assert client._server_key == two_keys[1].encode()
    finally:
        client.close()


Z85_TEXT = st.text(alphabet=curve.Z85_ALPHABET, min_size=40, max_size=40)
ANY_TEXT = st.text(min_size=40, max_size=40)


def _z85_decodes(text):
    try:
        return len(z85.decode(text.encode("ascii"))) == 32
    except (ValueError, KeyError, struct.error):
        return False


@given(st.one_of(Z85_TEXT, ANY_TEXT, st.binary(min_size=40, max_size=40)))
def test_load_public_key_refuses_every_bad_40_character_key_with_a_value_error(key):
    """Every 40-character str or bytes is either a key (its Z85 decodes to 32 bytes, ASCII
    only) or refused by ``load_public_key`` with a ValueError naming it: never struct.error
    (Z85 groups above 2**32) nor a wrong key (non-ASCII replaced by '?')."""
    text = key.decode("latin-1") if isinstance(key, bytes) else key
    valid = text.isascii() and _z85_decodes(text)
    assert curve.is_key_text(text) is valid
    if valid:
        assert curve.load_public_key(key) == text.encode("ascii")
        return
    with pytest.raises(ValueError) as info:
        curve.load_public_key(key)
    assert repr(key) in str(info.value)


@pytest.mark.parametrize("key", ["#" * 40, "%%%%%" + "0" * 35, "é" + "0" * 39])
def test_load_public_key_names_keys_that_struct_or_ascii_used_to_break(key):
    """The 40-character keys that raised struct.error (a group above 2**32) or became another
    key (non-ASCII read as '?') raise ValueError naming the key."""
    with pytest.raises(ValueError, match="not a Z85 CURVE key"):
        curve.load_public_key(key)


def test_a_plain_server_is_marked_when_it_answers_and_forgotten_when_it_closes():
    """A client without a key that gets a reply marks its server's address as reached without
    CURVE; once the server says it closed, the mark is gone (its port may serve another)."""
    server = RPCServer()
    thread = threading.Thread(target=server.run_forever, daemon=True)
    thread.start()
    client = RPCClient(server.address)
    try:
        assert client.ping() == "pong"
        assert server.address in curve._plain_addresses
        server.close()
        thread.join(10)
        deadline = time.monotonic() + 10
        while not client.disconnected() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert client.disconnected()
        assert server.address not in curve._plain_addresses
    finally:
        client.close()
        server.close()
