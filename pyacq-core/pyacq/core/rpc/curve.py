"""ZeroMQ CURVE authentication for RPC servers and tcp streams reachable from the network.

A protected RPCServer holds a secret certificate (``NAME.key_secret``, made by
``pyacq keys DIR --name NAME``) and a directory of authorized client public
certificates (``*.key``); a ZAP authenticator checks every connecting client's
key against that directory (re-read on each connection, so keys can be added
or removed while the server runs). A server always accepts its own key, so the
processes sharing one certificate (a Host and the NodeGroups it spawns) reach
each other.

Proxies travel between processes, so the keys a client needs are kept in a
process-wide keyring rather than passed around:

- ``set_client_certificate(path)``: the certificate this process presents to
  protected servers. Without one, a process that runs a protected server
  presents that server's certificate;
- ``add_server_key(address, public_key)``: *pins* the public key of the server
  at *address* (its 40 Z85 characters, or a certificate file the caller names).
  ``Manager.add_host(server_key=...)``, a ProcessSpawner starting a protected
  child and a protected server of this process pin keys this way;
- ``learn_server_key(address, public_key)``: what a proxy received in a message
  teaches. A proxy to a protected server carries that key in an extra
  ``server_key`` field of its wire form (plain clients ignore it); decoding
  only checks that the field is the text of a key, and the proxy offers it here
  when it first connects.

Messages come from peers that may be wrong or hostile, so what they teach is
limited: a key is learnt only from exactly 40 Z85 characters that decode to 32
bytes (never from a file: no message makes this process read one); a pinned
key is never replaced by a message; a key that conflicts with the one known for
the address (pinned or learnt), or that claims a server this process has reached
without CURVE (``note_plain_server``), is refused with a warning naming the
address. Once a server announces that it closed or its process died,
``forget_server`` drops what messages taught about its address, since its port
may serve another server next. A proxy sent on carries the key this process
knows for its address (``key_to_forward``), not one a message claimed.

A client connects with CURVE exactly when a key is known for the address; a
handshake the server refuses raises ``AuthenticationError`` naming the address.
ZeroMQ is imported on first use only, since every proxy consults the keyring.

A process that runs a protected server protects its tcp streams too
(``stream_authentication``): the stream's publisher is a CURVE server with the
key of that server, authorizes the same clients (under a ZAP domain of its own,
so that a refusal is logged naming the stream), and its params carry the
public key for InputStreams, which present this process's client certificate.
"""
import glob
import logging
import os
import threading

logger = logging.getLogger(__name__)

#: Length of a public or secret key in Z85 text.
Z85_KEY_LENGTH = 40

_lock = threading.Lock()
_server_keys: dict[str, bytes] = {}  # address -> z85 public key
#: addresses whose key was pinned (add_server_key): no message replaces it
_pinned_addresses: set[str] = set()
#: addresses where this process reached a server without CURVE (note_plain_server)
_plain_addresses: set[str] = set()
#: [(public, secret, path)] when set explicitly
_client_certificate: list[tuple[bytes, bytes, str]] = []
#: the protected RPC servers of this process, oldest first
_protected_servers: list["ServerAuthentication"] = []


class AuthenticationError(ConnectionError):
    """A protected RPC server refused this client, or the keys needed to reach it are missing."""


# -- certificate files ---------------------------------------------------------

def create_keys(directory, name):
    """Write a new key pair as ``NAME.key`` (public) and ``NAME.key_secret`` in *directory*.

    Returns the two paths. Existing files are never overwritten: the secret
    of a deployed certificate must not be lost by a typo.
    """
    import zmq.auth
    if not name or os.sep in name or name.startswith("."):
        raise ValueError(f"a certificate name must be a plain file name, got {name!r}")
    paths = [os.path.join(directory, f"{name}.key"), os.path.join(directory, f"{name}.key_secret")]
    existing = [p for p in paths if os.path.exists(p)]
    if existing:
        raise FileExistsError(f"refusing to overwrite existing certificate file {existing[0]}")
    os.makedirs(directory, exist_ok=True)
    public_file, secret_file = zmq.auth.create_certificates(directory, name)
    os.chmod(secret_file, 0o600)
    return public_file, secret_file


def _read_certificate(path):
    """``(public, secret or None)`` of the certificate file *path*, with errors naming it."""
    import zmq.auth
    try:
        return zmq.auth.load_certificate(path)
    except ValueError as exc:
        raise ValueError(f"{path} is not a ZeroMQ certificate: {exc}") from None


def load_secret_certificate(path):
    """Return ``(public, secret)`` Z85 keys of the secret certificate file *path*."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no certificate file {path}")
    public, secret = _read_certificate(path)
    if secret is None:
        raise ValueError(f"{path} holds only a public key: give the NAME.key_secret file")
    return _checked_key(public, path), _checked_key(secret, path)


def load_public_key(key):
    """Return the Z85 public key *key* (bytes), given as its 40 characters or as a certificate file.

    For keys a user gives (``add_server_key``, ``Manager.add_host(server_key=...)``): a
    text of 40 characters is a key unless it is not one and names an existing file. A
    bad key raises ValueError naming it. Keys from messages never come here (see
    ``learn_server_key``), so that no message makes this process read a file.
    """
    as_text = isinstance(key, (bytes, str)) and len(key) == Z85_KEY_LENGTH
    if as_text and (_key_text(key) is not None or not os.path.isfile(key)):
        return _checked_key(key, "server key")
    path = os.fspath(key)
    if not os.path.isfile(path):
        raise ValueError(f"a public key is 40 Z85 characters or a certificate file, got {key!r}")
    public, _ = _read_certificate(path)
    return _checked_key(public, path)


def find_server_certificate(directory):
    """The one ``*.key_secret`` file of *directory* (a Host's ``--curve-dir``)."""
    found = sorted(glob.glob(os.path.join(directory, "*.key_secret")))
    if len(found) != 1:
        what = "none" if not found else ", ".join(os.path.basename(p) for p in found)
        raise ValueError(f"{directory} must hold exactly one secret certificate (*.key_secret) "
                         f"for the server, found {what}; make one with `pyacq keys {directory} "
                         "--name NAME`")
    return found[0]


#: The Z85 characters, in the order of the digits they stand for.
Z85_ALPHABET = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                ".-:+=^!/*?&<>()[]{}@%$#")
_Z85_DIGITS = {char: digit for digit, char in enumerate(Z85_ALPHABET)}


def is_key_text(text):
    """True if *text* is a CURVE key as text: a str of exactly 40 Z85 characters that
    decode to 32 bytes.

    Pure: nothing but *text* is looked at (a path is just a text that is not a key).
    Five Z85 characters stand for four bytes, and some of them for more than four
    bytes can hold: those are not keys either.
    """
    if type(text) is not str or len(text) != Z85_KEY_LENGTH:
        return False
    digits = _Z85_DIGITS
    for start in range(0, Z85_KEY_LENGTH, 5):
        value = 0
        for char in text[start:start + 5]:
            digit = digits.get(char)
            if digit is None:
                return False
            value = value * 85 + digit
        if value > 0xFFFFFFFF:
            return False
    return True


def _key_text(key):
    """*key* (str or bytes) as key text, or None if it is not one."""
    if isinstance(key, bytes):
        try:
            key = key.decode("ascii")
        except UnicodeDecodeError:
            return None
    return key if is_key_text(key) else None


def _checked_key(key, origin):
    text = _key_text(key)
    if text is None:
        raise ValueError(f"{origin}: not a Z85 CURVE key of {Z85_KEY_LENGTH} characters: {key!r}")
    return text.encode("ascii")


# -- the process-wide keyring --------------------------------------------------

def set_client_certificate(path):
    """Present the secret certificate *path* to protected servers (None: stop presenting one)."""
    with _lock:
        _client_certificate.clear()
        if path is not None:
            _client_certificate.append((*load_secret_certificate(path), os.fspath(path)))


def client_certificate():
    """``(public, secret)`` this process presents to protected servers, or None."""
    with _lock:
        if _client_certificate:
            return _client_certificate[-1][:2]
        return (_protected_servers[-1].public, _protected_servers[-1].secret) if _protected_servers else None


def add_server_key(address, public_key):
    """Pin *public_key* as the key of the server at *address*: connect to it with CURVE.

    *public_key* is the key's 40 Z85 characters or the server's certificate file (see
    ``load_public_key``). A pinned key replaces any key known for *address*, and no
    message replaces it (see ``learn_server_key``).
    """
    key = load_public_key(public_key)
    with _lock:
        _server_keys[address] = key
        _pinned_addresses.add(address)
        _plain_addresses.discard(address)


def learn_server_key(address, public_key):
    """Take the key a received proxy carries for the server at *address*, if it may be
    learnt; return True if the keyring now holds exactly that key for *address*.

    *public_key* (str or bytes) must be a key's 40 Z85 characters (see ``is_key_text``):
    nothing else is taken, and no file is read. A key that differs from the one known
    for *address* (pinned or learnt), or that claims a server this process has reached
    without CURVE, is refused with a warning naming the address: a message cannot make
    this process distrust a server it knows.
    """
    text = _key_text(public_key)
    if text is None:
        logger.warning("refused a server key for %s from a message: not %d Z85 characters "
                       "of a CURVE key", address, Z85_KEY_LENGTH)
        return False
    key = text.encode("ascii")
    with _lock:
        known = _server_keys.get(address)
        if known == key:
            return True
        if known is None and address not in _plain_addresses:
            _server_keys[address] = key
            return True
        if known is None:
            conflict = "this process reached the server there without authentication"
        elif address in _pinned_addresses:
            conflict = "it differs from the key pinned for that address"
        else:
            conflict = "it differs from the key learnt earlier for that address"
    logger.warning("refused the server key %s for %s from a message: %s; keeping what this "
                   "process knows (pin the key with curve.add_server_key if the server "
                   "really changed)", text, address, conflict)
    return False


def note_plain_server(address):
    """Remember that this process reached the server at *address* without CURVE, so that no
    message can make it expect a key there (see ``learn_server_key``)."""
    with _lock:
        if address not in _server_keys:
            _plain_addresses.add(address)


def forget_server(address):
    """The server at *address* closed or died: forget what messages taught about it (a
    learnt key, a plain connection), since its port may serve another server next.
    A pinned key stays: only whoever pinned it removes it (``remove_server_key``)."""
    with _lock:
        _plain_addresses.discard(address)
        if address not in _pinned_addresses:
            _server_keys.pop(address, None)


def server_key(address):
    """The public key known for the server at *address* (bytes), or None."""
    return _server_keys.get(address)


def key_to_forward(address, carried):
    """The key a proxy for *address* sends on, given the key it was received with
    (*carried*, bytes or None): the key this process knows for the address; else none if
    this process reached that server without CURVE; else *carried*, for the receiver to
    check against what it knows."""
    key = _server_keys.get(address)
    if key is None and carried is not None and address not in _plain_addresses:
        return carried
    return key


def remove_server_key(address):
    """Forget the key of the server at *address* (it closed; its port may serve another)."""
    with _lock:
        _server_keys.pop(address, None)
        _pinned_addresses.discard(address)
        _plain_addresses.discard(address)


def forget_keys():
    """Empty the keyring: no client certificate, no server key (servers keep theirs)."""
    with _lock:
        _client_certificate.clear()
        _server_keys.clear()
        _pinned_addresses.clear()
        _plain_addresses.clear()


# -- sockets -------------------------------------------------------------------

def secure_client_socket(sock, address):
    """Set CURVE options on a client socket about to connect to *address*; return the
    ``(server key, client public key)`` used, or ``(None, None)`` when no key is known for
    *address* (a plain connection)."""
    key = server_key(address)
    if key is None:
        return None, None
    own = client_certificate()
    if own is None:
        raise AuthenticationError(
            f"the RPC server at {address} requires authentication (ZeroMQ CURVE), and this "
            "process has no client certificate: call pyacq.core.rpc.curve.set_client_certificate"
            "(path to NAME.key_secret)")
    sock.curve_serverkey = key
    sock.curve_publickey, sock.curve_secretkey = own
    return key, own[0]


def handshake_events():
    """Socket monitor events a client watches: every handshake failure, and success."""
    import zmq
    return (zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
            | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_SUCCEEDED)


class HandshakeWatch:
    """Tells from a client socket's handshake events whether its server refuses it.

    Which failure event a refused client sees depends on timing and on the libzmq
    build (a plain client meeting a CURVE server may get ``HANDSHAKE_FAILED_PROTOCOL``
    or only ``HANDSHAKE_FAILED_NO_DETAIL``), so no verdict rests on one event kind.
    A status from the server's authenticator (``AUTH``) and a protocol error (after
    which libzmq stops reconnecting) decide at once; failures without detail are
    followed by a reconnection every 0.1 s, and a server whose every attempt fails,
    :attr:`REPEATED_FAILURES` times in a row, is refusing this client. When a call
    times out after failed handshakes only, they decide too.

    *address* is the server's; *server_key_used* the key this client presented
    (None for a plain connection).
    """

    #: Consecutive failures without detail that make a verdict while the call still waits.
    REPEATED_FAILURES = 2

    def __init__(self, address, server_key_used):
        self.address = address
        self.server_key_used = server_key_used
        self.failures = 0
        self.last_event = None
        self.last_value = None

    def record(self, event, value):
        """Take one monitor event into account; return the refusal message once one is certain."""
        import zmq
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self.failures = 0
            return None
        self.failures += 1
        self.last_event, self.last_value = event, value
        if event != zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL or self.failures >= self.REPEATED_FAILURES:
            return self.describe()
        return None

    def verdict_at_timeout(self):
        """The refusal message when a call times out after failed handshakes only, else None."""
        return self.describe() if self.failures else None

    def describe(self):
        """The error message for the failed handshakes with this server."""
        import zmq
        address, event, value = self.address, self.last_event, self.last_value
        if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
            own = client_certificate()
            key = own[0].decode() if own else "?"
            return (f"the RPC server at {address} requires authentication (ZeroMQ CURVE) and "
                    f"refused this process's client key {key} (status {value}): add its public "
                    "certificate to the server's authorized keys")
        if self.server_key_used is None:
            return (f"the RPC server at {address} requires authentication (ZeroMQ CURVE), or "
                    f"speaks another protocol: every handshake with it failed, and this process "
                    f"knows no server key for {address}: register it (manager.add_host(address, "
                    "server_key=...) or pyacq.core.rpc.curve.add_server_key) and set a client "
                    "certificate (create_manager(client_certificate=...) or "
                    "curve.set_client_certificate)")
        if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
            return (f"the CURVE handshake with {address} failed (protocol error {value:#x}): the "
                    "server there does not require authentication, or speaks another protocol")
        return (f"the CURVE handshake with the RPC server at {address} failed: the server key "
                f"registered for {address} ({self.server_key_used.decode()}) is not that server's")


class _CurveServerSide:
    """The CURVE server side of one socket: its keys, the clients it accepts, its ZAP domain.

    The clients accepted are the socket's own key and the public certificates of the
    directory *authorized_keys*, read again at each connection. Each socket has a ZAP
    domain of its own, so that the one authenticator of the process tells which socket a
    refused client tried to reach (see :meth:`refused`).
    """

    def __init__(self, public, secret, authorized_keys):
        self.public, self.secret = public, secret
        self.authorized_keys = authorized_keys
        self.domain = f"pyacq-{os.getpid()}-{id(self):x}"
        self._closed = False

    def describe(self):
        """How log lines name the socket."""
        raise NotImplementedError

    def secure(self, sock):
        """Make *sock* a CURVE server checked by the authenticator of this process."""
        _authenticators.acquire(self)
        sock.zap_domain = self.domain.encode()
        sock.curve_secretkey = self.secret
        sock.curve_publickey = self.public
        sock.curve_server = True

    def is_authorized(self, client_key):
        """True if *client_key* (Z85 bytes) is the socket's own or in the authorized directory."""
        if client_key == self.public:
            return True
        import zmq.auth
        try:
            return client_key in zmq.auth.load_certificates(self.authorized_keys)
        except (OSError, ValueError) as exc:
            logger.error("%s cannot read its authorized keys: %s", self.describe(), exc)
            return False

    def refused(self, peer, client_key):
        """Log that the client at *peer* (None if unknown) with *client_key* was refused."""
        logger.warning("%s refused a client from %s: its CURVE key %s is not authorized (not in %s)",
                       self.describe(), peer or "unknown address",
                       client_key.decode("ascii", "replace"), self.authorized_keys)

    def close(self):
        """Stop authenticating for this socket; returns False if it was closed already."""
        if self._closed:
            return False
        self._closed = True
        _authenticators.release(self)
        return True


class ServerAuthentication(_CurveServerSide):
    """The CURVE side of one protected RPCServer: its keys and its ZAP domain.

    ``secure(socket)`` before binding; ``published(address)`` once bound;
    ``close()`` with the server.
    """

    def __init__(self, certificate, authorized_keys):
        self.certificate = os.fspath(certificate)
        authorized_keys = os.fspath(authorized_keys)
        if not os.path.isdir(authorized_keys):
            raise NotADirectoryError(f"authorized keys: {authorized_keys} is not a directory "
                                     "(of NAME.key public certificates)")
        super().__init__(*load_secret_certificate(self.certificate), authorized_keys)
        self.address = None

    def describe(self):
        """``RPC server at ADDRESS``, for log lines."""
        return f"RPC server at {self.address}"

    def published(self, address):
        """The server is bound at *address*: local clients find its key, without a client
        certificate of its own this process presents the server's, and its tcp streams
        require CURVE with the server's keys."""
        self.address = address
        add_server_key(address, self.public)
        with _lock:
            _protected_servers.append(self)

    def secure_own_client(self, sock):
        """Let *sock* (of this process) reach the server with the server's own key."""
        sock.curve_serverkey = self.public
        sock.curve_publickey = self.public
        sock.curve_secretkey = self.secret

    def close(self):
        """Stop authenticating for this server and forget its certificate and published key."""
        if not super().close():
            return False
        with _lock:
            if self in _protected_servers:
                _protected_servers.remove(self)
            if self.address is not None and _server_keys.get(self.address) == self.public:
                del _server_keys[self.address]
                _pinned_addresses.discard(self.address)
        return True


def stream_authentication(stream):
    """The CURVE side for a tcp stream of this process, named *stream* in log lines, or None
    when this process runs no protected RPC server (its streams then stay plain).

    The stream takes the keys and the authorized directory of the newest protected server
    of this process: whoever may call into the process may read its streams.
    """
    with _lock:
        server = _protected_servers[-1] if _protected_servers else None
    return None if server is None else StreamAuthentication(server, stream)


class StreamAuthentication(_CurveServerSide):
    """The CURVE side of one tcp stream publisher, with the keys of the protected *server*.

    A refused subscriber receives nothing. Each refused key (or a subscriber without
    CURVE) is logged once per stream, naming it; every refusal is counted in
    :attr:`refusals`, since a refused subscriber retries its handshake about ten times a
    second.
    """

    def __init__(self, server, stream):
        super().__init__(server.public, server.secret, server.authorized_keys)
        self.stream = stream
        self.url = None
        #: How many subscriber handshakes this stream refused.
        self.refusals = 0
        self._logged = set()
        self._count_lock = threading.Lock()

    @property
    def server_key(self):
        """The stream's public key as text, for its params."""
        return self.public.decode("ascii")

    def describe(self):
        """The stream and its address, for log lines."""
        return f"{self.stream} at {self.url}"

    def refused(self, peer, client_key):
        """Count a refused subscriber; log it the first time its key (or None: no CURVE
        key, a handshake that failed) is refused."""
        with self._count_lock:
            self.refusals += 1
            first = client_key not in self._logged
            self._logged.add(client_key)
        if not first:
            return
        if client_key is None:
            logger.warning("%s refused a subscriber%s: its handshake failed (it presented no CURVE "
                           "key or expected another server key); it receives nothing, and "
                           "later refusals of this kind are only counted", self.describe(),
                           f" from {peer}" if peer else "")
            return
        logger.warning("%s refused a subscriber from %s: its CURVE key %s is not authorized (not "
                       "in %s); it receives nothing, and later refusals of this key are only "
                       "counted", self.describe(), peer or "unknown address",
                       client_key.decode("ascii", "replace"), self.authorized_keys)


class _AuthenticatorPool:
    """One ZAP authenticator thread per process (ZeroMQ allows one handler per context),
    shared by its protected sockets, each under a ZAP domain of its own; it stops with the last."""

    def __init__(self):
        self._lock = threading.Lock()
        self._authenticator = None
        self._servers = {}

    def acquire(self, server_side):
        with self._lock:
            if self._authenticator is None:
                from zmq.auth.thread import ThreadAuthenticator

                from .context import get_context

                class _Authenticator(ThreadAuthenticator):
                    """Remembers the peer of the request being checked, for the refusal's log line."""

                    peer = None

                    async def handle_zap_message(self, msg):
                        self.peer = msg[3].decode("utf-8", "replace") if len(msg) > 3 else None
                        await super().handle_zap_message(msg)

                self._authenticator = _Authenticator(get_context(), log=logging.getLogger("zmq.auth"))
                self._authenticator.start()
            self._servers[server_side.domain] = server_side
            self._authenticator.configure_curve_callback(server_side.domain, _KeyChecker(self))

    def release(self, server_side):
        with self._lock:
            if self._servers.pop(server_side.domain, None) is None:
                return
            self._authenticator.credentials_providers.pop(server_side.domain, None)
            if not self._servers:
                self._authenticator.stop()
                self._authenticator = None

    def check(self, domain, client_key):
        server_side = self._servers.get(domain)
        if server_side is None:
            return False
        if server_side.is_authorized(client_key):
            return True
        server_side.refused(getattr(self._authenticator, "peer", None), client_key)
        return False


class _KeyChecker:
    """The credentials provider pyzmq's authenticator calls for each CURVE client."""

    def __init__(self, pool):
        self._pool = pool

    def callback(self, domain, key):
        return self._pool.check(domain, key)


_authenticators = _AuthenticatorPool()
