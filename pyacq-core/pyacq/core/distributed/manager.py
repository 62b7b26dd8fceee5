"""Manager: the central point of control of a distributed pyacq application.

``create_manager()`` starts a log server in the calling process and a Manager
(in its own process by default). The Manager connects to Host servers,
spawns NodeGroups through them, creates nodes by name, and watches every
NodeGroup process: one that dies is logged with its exit code and listed as
dead, while the others keep running; a call on a proxy to its objects, in any
process that created this Manager, then raises ``RemoteProcessDied`` at once (the
Manager is a witness of ``pyacq.core.rpc.server_deaths``). A Host whose server dies
(its connection drops and its port refuses connections) is listed by
``list_dead_hosts()`` and its NodeGroups as dead, at once too: a dead Host never
makes the Manager's queries wait for a timeout. A NodeGroup that is alive but does not
answer the Manager's heartbeat (its process stopped, or stuck) is reported unresponsive
(``describe_nodegroups()``, and one warning), then responsive again once it answers. ``close()`` (also run at
exit) ends every NodeGroup on every Host, and the default Host it spawned.
"""
import atexit
import ipaddress
import itertools
import logging
import os
import socket
import threading
from typing import Any

from pyacq.core.distributed._heartbeat import Heartbeat
from pyacq.core.distributed._name_reservations import NameReservations
from pyacq.core.distributed._port_probe import refuses_connections
from pyacq.core.distributed._process_logging import forward_stdio_at_any_level
from pyacq.core.distributed.host import check_host_address
from pyacq.core.rpc import curve, server_deaths
from pyacq.core.rpc.client import RPCClient
from pyacq.core.rpc.log import LogServer, get_logger_address, print_records_by_default, start_log_server
from pyacq.core.rpc.proxy import ObjectProxy
from pyacq.core.rpc.server import RPCServer
from pyacq.core.rpc.spawner import ProcessSpawner

logger = logging.getLogger(__name__)

#: Seconds between two checks of the Hosts' NodeGroup processes.
WATCH_INTERVAL = 0.25

#: Seconds allowed for spawning a NodeGroup (a Qt process on a loaded machine is slow to start).
SPAWN_TIMEOUT = 120.0

#: Seconds allowed for a Host to close its NodeGroups.
CLOSE_TIMEOUT = 60.0

#: Seconds a Host server gets to answer a first connection.
CONNECT_TIMEOUT = 10.0

#: Seconds a Host waits for a NodeGroup process to exit once a client lost its connection to it.
DEATH_GRACE = 0.5

#: Seconds a process waits for its Manager to say whether a server died.
WITNESS_TIMEOUT = 5.0


def _host_ip(address):
    return address[len("tcp://"):].rsplit(":", 1)[0].strip("[]")


def _is_loopback(address):
    try:
        return ipaddress.ip_address(_host_ip(address)).is_loopback
    except ValueError:
        return _host_ip(address) == "localhost"


def _local_ip_towards(address):
    """The IP of this machine's interface that routes to *address* (no packet is sent)."""
    ip = _host_ip(address)
    port = int(address.rsplit(":", 1)[1])
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        probe.connect((ip, port))
        return probe.getsockname()[0]


def _server_gone(proxy):
    """True if the RPC server of *proxy* announced that it closed, or its process is known
    dead (to the client this thread used for *proxy*)."""
    client = proxy._client()
    return client.disconnected() or client.dead() is not None


class _NodeGroupRecord:
    """A NodeGroup this Manager created: its name, the key of its Host, the proxy to it, and
    its heartbeat (beaten by the watcher thread)."""

    def __init__(self, name: str, host_key: str, proxy: ObjectProxy) -> None:
        self.name = name
        self.host_key = host_key
        self.proxy = proxy
        self.heartbeat = Heartbeat(name, proxy._rpc_addr)


class Manager:
    """Connects to Hosts, creates NodeGroups and nodes, watches and closes them.

    Create it with ``create_manager()``. Every method is safe to call while
    the watching thread runs.
    """

    def __init__(self) -> None:
        # Held only while the Manager's records are read or changed, never during a spawn
        # or a call to a Host, so that the watcher and every other call go on meanwhile.
        self._lock = threading.RLock()
        # Each held while one thing made on first use is made (the default Host, the
        # default NodeGroup, the NodeGroup create_node() uses on a Host), so that callers
        # asking for it at the same time get the same one. Reentrant: a Manager served by
        # RPC handles other requests in the same thread while it waits for a Host.
        self._default_host_lock = threading.RLock()
        self._default_nodegroup_lock = threading.RLock()
        self._host_nodegroup_lock = threading.RLock()
        self._hosts: dict[str, ObjectProxy] = {}
        self._default_host_key: str | None = None
        self._default_host_spawner: ProcessSpawner | None = None
        self._nodegroups: dict[str, _NodeGroupRecord] = {}
        self._starting = NameReservations("Manager", self._lock, lambda: self._closed)
        self._dead: dict[str, int | None] = {}
        self._dead_on_host: dict[str, str] = {}  # dead NodeGroup -> key of the Host it ran on
        self._dead_servers: dict[str, str] = {}  # address -> description of the NodeGroup's death
        self._dead_hosts: dict[str, str] = {}  # key -> description of the Host's end
        self._host_nodegroups: dict[str, str] = {}
        # Proxies to the nodes create_node() made. The caller's proxy shares our reference
        # to the node, which deleting ours would release: they are kept for the Manager's life.
        self._created_nodes: list[ObjectProxy] = []
        self._default_nodegroup: str | None = None
        self._log_relays: dict[str, Any] = {}
        self._numbers = itertools.count()
        self._closed = False
        self._process_server: RPCServer | None = None
        self._stop_watching = threading.Event()
        self._watcher = None
        self._unreachable: set[str] = set()
        self._stopped_heartbeats: list[Heartbeat] = []  # of NodeGroups gone, for the watcher to stop
        server_deaths.add_witness(self.describe_dead_server)

    def __repr__(self) -> str:
        return f"<Manager: {len(self._hosts)} hosts, {len(self._nodegroups)} NodeGroups>"

    def _check_open(self):
        if self._closed:
            raise RuntimeError("Manager is closed")

    # -- logging -------------------------------------------------------------

    def get_logger_info(self) -> dict[str, Any]:
        """``{'log_addr': address of the log server, 'log_level': level of the root logger}``."""
        return {"log_addr": get_logger_address(), "log_level": logging.getLogger().level}

    def _log_address_for(self, host_address):
        """Where processes of the Host at *host_address* send their log records.

        The log server listens on 127.0.0.1; a Host on another machine sends to
        a relay listening on the interface that routes to it, which hands the
        records on to the log server.
        """
        log_addr = get_logger_address()
        if log_addr is None or host_address is None or _is_loopback(host_address):
            return log_addr
        ip = _local_ip_towards(host_address)
        relay = self._log_relays.get(ip)
        if relay is None:
            relay = LogServer(logging.getLogger(), address=f"tcp://{ip}:*", sort=False)
            relay.start()
            self._log_relays[ip] = relay
        return relay.address

    # -- hosts ---------------------------------------------------------------

    def add_host(self, addr: str, server_key: str | None = None) -> ObjectProxy:
        """Connect to the Host server at *addr* (``tcp://IP:PORT``) and return a proxy to it.

        A Host started with ``--curve-dir`` requires authentication: give its
        public key as *server_key* (its 40 Z85 characters, or its ``NAME.key``
        file), and create the Manager with ``client_certificate``.

        Parameters
        ----------
        addr : str
            The Host server's address, ``tcp://IP:PORT`` (as ``pyacq host`` prints it).
        server_key : str or None, optional
            The Host's public CURVE key, for a Host started with ``--curve-dir``:
            its 40 Z85 characters or its ``NAME.key`` file. Default None (a Host
            without authentication).
        """
        return self.get_host(addr, server_key)

    def get_host(self, addr: str, server_key: str | None = None) -> ObjectProxy:
        """Return (a proxy to) the Host served at *addr*, connecting to it the first time.

        The Host then sends its log records to this Manager's log server, and
        the Manager watches its NodeGroup processes. *server_key*: see ``add_host``.

        Parameters
        ----------
        addr : str
            The Host server's address, ``tcp://IP:PORT`` (as ``pyacq host`` prints it).
        server_key : str or None, optional
            The Host's public CURVE key, for a Host started with ``--curve-dir``:
            its 40 Z85 characters or its ``NAME.key`` file. Default None (a Host
            without authentication).
        """
        with self._lock:
            self._check_open()
            if addr in self._hosts:
                return self._hosts[addr]
            check_host_address(addr)
            if server_key is not None:
                curve.add_server_key(addr, server_key)
            try:
                host = self._connect_host(addr)
            except BaseException:
                if server_key is not None:
                    curve.remove_server_key(addr)
                client = RPCClient.get_client(addr)
                if client is not None:
                    client.close()
                raise
            log_addr = self._log_address_for(addr)
            if log_addr is not None:
                host.connect_log_server(log_addr)
            self._hosts[addr] = host
            self._start_watching()
            return host

    @staticmethod
    def _connect_host(addr):
        client = RPCClient.get_client(addr)
        try:
            client.ensure_connection(timeout=CONNECT_TIMEOUT)
            return client["host"]
        except (TimeoutError, RuntimeError) as exc:
            raise ConnectionError(f"no pyacq Host answers at {addr} ({exc}); is "
                                  f"`pyacq host {addr}` running there?") from None

    def list_hosts(self) -> list[ObjectProxy]:
        """Proxies to the Hosts this Manager is connected to (the default Host included)."""
        with self._lock:
            return list(self._hosts.values())

    def _default_host(self):
        """The Host this Manager spawned on this machine, created on first use."""
        with self._default_host_lock:
            with self._lock:
                self._check_open()
                if self._default_host_key is not None:
                    return self._hosts[self._default_host_key]
            info = self.get_logger_info()
            spawner = ProcessSpawner(name="default-host", log_addr=info["log_addr"],
                                     log_level=info["log_level"] or None)
            try:
                host = spawner.client._import("pyacq.core.distributed.host").create_spawned_host("default")
            except BaseException:
                spawner.close()
                raise
            with self._lock:
                if not self._closed:
                    self._default_host_spawner = spawner
                    self._default_host_key = spawner.address
                    self._hosts[spawner.address] = host
                    self._start_watching()
                    return host
            host.close(_timeout=CLOSE_TIMEOUT)
            spawner.close()
            raise RuntimeError("Manager is closed")

    def _resolve_host(self, host):
        """Return ``(key, host proxy)`` for None (default Host), an address or a Host proxy.

        A Host proxy the Manager does not know yet is recorded by ``_remember_host``
        once a NodeGroup was spawned through it, not before: a proxy to something else
        then leaves no trace in the Manager's records.
        """
        if host is None:
            proxy = self._default_host()
            return self._default_host_key, proxy
        if isinstance(host, str):
            return host, self.get_host(host)
        if isinstance(host, ObjectProxy):
            with self._lock:
                for key, known in self._hosts.items():
                    if known == host or known._rpc_addr == host._rpc_addr:
                        return key, known
            return host._rpc_addr, host
        raise TypeError(f"host must be None, an address 'tcp://IP:PORT' or a Host proxy, got {host!r}")

    def _remember_host(self, key, host):
        """Record *host* (under *key*) and watch it, unless it is known already."""
        with self._lock:
            if key not in self._hosts:
                self._hosts[key] = host
                self._start_watching()

    # -- nodegroups ----------------------------------------------------------

    def create_nodegroup(self, name: str | ObjectProxy | None = None,
                         host: str | ObjectProxy | None = None, qt: bool = True,
                         **kwds: Any) -> ObjectProxy:
        """Spawn a NodeGroup process on *host* (default: this machine) and return a proxy to it.

        *name* names the NodeGroup and its process in log records (default
        ``nodegroup<n>``); *host* is a Host address or proxy; with *qt* the
        process runs a QApplication so that its nodes may be widgets. Other
        keywords go to ``Host.create_nodegroup()``. ``create_nodegroup(host)``
        (a Host proxy or address as only argument) is understood as well.

        A Qt NodeGroup on a machine without a display (neither DISPLAY nor
        WAYLAND_DISPLAY) renders offscreen, unless QT_QPA_PLATFORM says otherwise.
        Where PyQt5 cannot be imported (a headless install), the NodeGroup logs one
        warning line naming the missing package, ``qt=False`` and the install command,
        and runs without Qt: its headless nodes work, widget nodes cannot be created.
        If its process dies, calls on proxies to its objects raise
        ``RemoteProcessDied`` (naming it, its address and exit code) at once.

        Parameters
        ----------
        name : str, optional
            The NodeGroup's name, unique in this Manager, shown in log records.
            Default ``nodegroup<n>``.
        host : str or ObjectProxy, optional
            Where the process runs: a Host's address or a proxy to it. Default:
            this machine's Host.
        qt : bool, optional
            Run a QApplication in the process (default True), needed for widget
            nodes; False for a headless group.
        **kwds
            Passed to ``Host.create_nodegroup()`` (process options such as
            ``log_level``).
        """
        if host is None and name is not None and (
                isinstance(name, ObjectProxy) or (isinstance(name, str) and "://" in name)):
            name, host = None, name
        if name is not None and not isinstance(name, str):
            raise TypeError(f"NodeGroup name must be a string, got {name!r}")
        return self._create_nodegroup(name, host, qt, kwds)[1]

    def _create_nodegroup(self, name, host, qt, kwds):
        """``create_nodegroup()``, returning ``(name, proxy)``.

        The name is reserved while the Host spawns the process (which may take up to
        ``SPAWN_TIMEOUT``), without holding the Manager's lock: a second NodeGroup of
        the same name is refused at once, and a failed spawn frees the name.
        """
        host_key, host_proxy = self._resolve_host(host)
        with self._lock:
            self._check_open()
            if name is None:
                name = self._new_nodegroup_name()
            elif name in self._nodegroups or name in self._starting:
                raise ValueError(f"this Manager already has a NodeGroup named {name!r}: "
                                 "give another name")
            kwds.setdefault("log_addr", self._log_address_for(
                None if host_key == self._default_host_key else host_key))
            self._starting.reserve(name)

        def start():
            kwds.setdefault("log_level", self.get_logger_info()["log_level"] or None)
            manager = self if RPCServer.get_server() is not None else None
            return host_proxy.create_nodegroup(name, manager=manager, qt=qt, _timeout=SPAWN_TIMEOUT,
                                               **kwds)

        def record(proxy):
            self._remember_host(host_key, host_proxy)
            self._nodegroups[name] = _NodeGroupRecord(name, host_key, proxy)
            self._dead.pop(name, None)
            self._dead_on_host.pop(name, None)
            self._dead_servers.pop(proxy._rpc_addr, None)  # a new NodeGroup took the port

        def end(proxy):
            try:
                host_proxy.close_nodegroup(name, _timeout=CLOSE_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 -- closing the Manager may have closed it already
                logger.warning("Manager: NodeGroup %r, started while the Manager closed, could not be "
                               "closed on Host %s (%s)", name, host_key, exc)

        return name, self._starting.spawn(name, start, record, end)

    def _new_nodegroup_name(self):
        while True:
            name = f"nodegroup{next(self._numbers)}"
            if name not in self._nodegroups and name not in self._dead and name not in self._starting:
                return name

    @property
    def default_nodegroup(self) -> ObjectProxy:
        """A NodeGroup (with Qt) on the default Host, created on first use."""
        with self._default_nodegroup_lock:
            with self._lock:
                self._check_open()
                record = (None if self._default_nodegroup is None
                          else self._nodegroups.get(self._default_nodegroup))
                if record is not None:
                    return record.proxy
                name = "default_nodegroup"
                if name in self._nodegroups or name in self._dead or name in self._starting:
                    name = self._new_nodegroup_name()
            name, proxy = self._create_nodegroup(name, None, True, {})
            with self._lock:
                self._default_nodegroup = name
            return proxy

    def list_nodegroups(self) -> list[ObjectProxy]:
        """Proxies to the running NodeGroups of this Manager (dead ones are listed by
        ``list_dead_nodegroups()``)."""
        with self._lock:
            return [record.proxy for record in self._nodegroups.values()]

    def list_dead_nodegroups(self) -> dict[str, int | None]:
        """``{name: exit code}`` of the NodeGroups whose process exited unexpectedly.

        The exit code is None for those that went with their Host (see ``list_dead_hosts``).
        """
        self._check_hosts(answering_only=True)
        with self._lock:
            return dict(self._dead)

    def list_dead_hosts(self) -> dict[str, str]:
        """``{Host address: what happened}`` for the Hosts this Manager used whose server
        closed or died; their NodeGroups are listed by ``list_dead_nodegroups()``."""
        self._check_hosts(answering_only=True)
        with self._lock:
            return dict(self._dead_hosts)

    def describe_nodegroups(self) -> dict[str, dict[str, Any]]:
        """``{name: {'host', 'pid', 'alive', 'exitcode', 'responsive'}}`` for every NodeGroup
        of this Manager.

        ``'responsive'`` is False while a live NodeGroup leaves the Manager's heartbeat
        unanswered for more than ``_heartbeat.UNRESPONSIVE_AFTER`` seconds (its process is
        stopped or stuck), and for a dead one. A Host that does not answer (within its
        calls' timeout) is logged, and its NodeGroups are shown with ``'alive': False``
        and ``'pid': None``.
        """
        self._check_hosts(answering_only=True)
        with self._lock:
            keys = {record.host_key for record in self._nodegroups.values()}
            hosts = {key: self._hosts[key] for key in keys if key in self._hosts}
        by_host: dict[str, dict[str, Any]] = {}
        for key, host in hosts.items():
            try:
                by_host[key] = host.describe_nodegroups()
            except Exception as exc:  # noqa: BLE001 -- a vanished Host has no live NodeGroup
                logger.warning("Manager: Host %s does not answer (%s)", key, exc)
        with self._lock:
            table: dict[str, dict[str, Any]] = {
                name: {"host": self._dead_on_host.get(name), "pid": None, "alive": False,
                       "exitcode": code, "responsive": False}
                for name, code in self._dead.items()}
            for record in self._nodegroups.values():
                info = by_host.get(record.host_key, {}).get(record.name, {})
                table[record.name] = {"host": record.host_key, "pid": info.get("pid"),
                                      "alive": info.get("alive", False),
                                      "exitcode": info.get("exitcode"),
                                      "responsive": record.heartbeat.responsive}
        return table

    def create_node(self, node_class: str, host: str | ObjectProxy | None = None,
                    **kwds: Any) -> ObjectProxy:
        """Create a node of type *node_class* (its name) and return a proxy to it.

        *host* selects where: None for the default NodeGroup, a NodeGroup proxy,
        or a Host (address or proxy), whose NodeGroup for such nodes is spawned
        on first use.

        Parameters
        ----------
        node_class : str
            The node type's name (``'NumpyDeviceBuffer'``, any installed or
            registered type).
        host : str or ObjectProxy, optional
            Where the node lives (see above). Default None: the default NodeGroup.
        **kwds
            Passed to the node's constructor (``name``, ...).
        """
        with self._lock:
            self._check_open()
        nodegroup = self.default_nodegroup if host is None else self._nodegroup_of(host)
        node = nodegroup.create_node(node_class, **kwds)
        with self._lock:
            self._created_nodes.append(node)
        return node

    def _nodegroup_of(self, host):
        """The NodeGroup ``create_node(host=host)`` uses: *host* itself if it is a NodeGroup
        this Manager created or one a Host of this Manager runs (``Host.create_nodegroup()``
        called directly), else the NodeGroup of the Host *host*, spawned on first use."""
        if isinstance(host, ObjectProxy):
            with self._lock:
                for record in self._nodegroups.values():
                    if record.proxy == host:
                        return record.proxy
                hosts = list(self._hosts.items())
            if all(known != host for _, known in hosts):
                for key, known in hosts:
                    if self._host_runs_nodegroup(key, known, host):
                        return host
        host_key, host_proxy = self._resolve_host(host)
        with self._host_nodegroup_lock:
            with self._lock:
                record = self._nodegroups.get(self._host_nodegroups.get(host_key))
                if record is not None:
                    return record.proxy
            name, proxy = self._create_nodegroup(None, host_proxy, True, {})
            with self._lock:
                self._host_nodegroups[host_key] = name
            return proxy

    @staticmethod
    def _host_runs_nodegroup(key, host, nodegroup):
        """Whether the Host *host* runs *nodegroup*; False for a Host that does not answer."""
        if _server_gone(host):
            return False
        try:
            return host.runs_nodegroup(nodegroup, _timeout=CONNECT_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 -- a vanished Host runs no NodeGroup
            logger.warning("Manager: Host %s does not answer (%s)", key, exc)
            return False

    def start_all(self) -> None:
        """Start every initialized node of every NodeGroup."""
        for nodegroup in self.list_nodegroups():
            nodegroup.start_all_nodes()

    def stop_all(self) -> None:
        """Stop every running node of every NodeGroup."""
        for nodegroup in self.list_nodegroups():
            nodegroup.stop_all_nodes()

    # -- watching ------------------------------------------------------------

    def _start_watching(self):
        if self._watcher is None:
            self._watcher = threading.Thread(target=self._watch_hosts, daemon=True,
                                             name="Manager-watch")
            self._watcher.start()

    def _watch_hosts(self):
        while not self._stop_watching.wait(WATCH_INTERVAL):
            self._check_hosts()
            self._beat_hearts()

    def _beat_hearts(self):
        """Beat the heartbeat of every live NodeGroup; stop those of the dead (watcher thread)."""
        with self._lock:
            records = list(self._nodegroups.values())
            stopped, self._stopped_heartbeats = self._stopped_heartbeats, []
        for heartbeat in stopped:
            heartbeat.stop()
        for record in records:
            record.heartbeat.beat()

    def _check_hosts(self, answering_only=False):
        """Ask every Host which NodeGroup processes died; record and log those of this Manager.

        With *answering_only* (a query's check), a Host that did not answer the watcher is
        left to the watcher, so that the query does not wait for its timeout too.
        """
        with self._lock:
            hosts = [(key, host) for key, host in self._hosts.items()
                     if not (answering_only and key in self._unreachable)]
        for key, host in hosts:
            try:
                dead = host.check_spawners(_timeout=CLOSE_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 -- a vanished Host is reported, not fatal
                if self._stop_watching.is_set():
                    return
                if _server_gone(host):
                    self._forget_host(key, died=host._client().dead() is not None)
                elif key not in self._unreachable:
                    self._unreachable.add(key)
                    logger.error("Manager: Host %s does not answer (%s)", key, exc)
                continue
            self._unreachable.discard(key)
            self._record_deaths(key, dead)

    def _record_deaths(self, key, dead):
        """Record and log the deaths (``{name: exit code}``) Host *key* reported, once each."""
        with self._lock:
            for name, code in dead.items():
                record = self._nodegroups.get(name)
                if record is None or record.host_key != key:
                    continue
                self._stopped_heartbeats.append(record.heartbeat)
                del self._nodegroups[name]
                self._dead[name] = code
                self._dead_on_host[name] = key
                how = server_deaths.describe_exit(code)
                self._dead_servers[record.proxy._rpc_addr] = (
                    f"NodeGroup {name!r} at {record.proxy._rpc_addr} on Host {key} died, {how}")
                logger.error("Manager: NodeGroup %r on Host %s died, %s; "
                             "the other NodeGroups keep running", name, key, how)

    def describe_dead_server(self, address: str) -> str | None:
        """How the NodeGroup that served *address* died, in one line, or None if none did.

        Asked by a client whose connection to *address* dropped. The server of a Host (or
        the Host of a NodeGroup) whose port refuses connections died: the Host and its
        NodeGroups are then listed as dead. A NodeGroup that still looks alive gets
        ``DEATH_GRACE`` seconds to be found dead by its Host.

        Parameters
        ----------
        address : str
            The RPC address whose connection dropped.
        """
        with self._lock:
            description = self._dead_servers.get(address)
            if description is not None:
                return description
            host_key = next((key for key, host in self._hosts.items() if host._rpc_addr == address), None)
            record = next((r for r in self._nodegroups.values() if r.proxy._rpc_addr == address), None)
            host = None if record is None else self._hosts.get(record.host_key)
        if host_key is not None:
            return self._find_host_dead(host_key)
        if record is None or host is None:
            return None
        if self._find_host_dead(record.host_key) is None:
            dead = host.wait_for_exit(record.name, DEATH_GRACE, _timeout=DEATH_GRACE + CONNECT_TIMEOUT)
            self._record_deaths(record.host_key, dead)
        with self._lock:
            return self._dead_servers.get(address)

    def _find_host_dead(self, key):
        """If the server of Host *key* refuses connections, list it and its NodeGroups as dead
        and return the description of its death; else None."""
        with self._lock:
            host = self._hosts.get(key)
        if host is None or not refuses_connections(host._rpc_addr, DEATH_GRACE):
            return None
        self._forget_host(key, died=True)
        with self._lock:
            return self._dead_hosts.get(key)

    def _forget_host(self, key, died=False):
        """A Host server that closed (or *died*) takes its NodeGroups with it: list the Host
        and them as dead (logged once)."""
        how = ("died: its server refuses connections (its process was killed or crashed)"
               if died else "closed")
        with self._lock:
            host = self._hosts.pop(key, None)
            if host is None:
                return
            self._unreachable.discard(key)
            self._dead_hosts[key] = f"Host {key} {how}"
            self._dead_servers[host._rpc_addr] = self._dead_hosts[key]
            lost = [name for name, record in self._nodegroups.items() if record.host_key == key]
            for name in lost:
                self._dead_servers[self._nodegroups[name].proxy._rpc_addr] = (
                    f"NodeGroup {name!r} is gone with its Host {key}, which {how}")
                self._stopped_heartbeats.append(self._nodegroups[name].heartbeat)
                del self._nodegroups[name]
                self._dead[name] = None
                self._dead_on_host[name] = key
        logger.error("Manager: Host %s %s; its NodeGroups %s are gone, the other Hosts keep running",
                     key, how, lost)

    # -- closing -------------------------------------------------------------

    def close(self) -> None:
        """Close every NodeGroup on every Host, then the default Host this Manager spawned."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        server_deaths.remove_witness(self.describe_dead_server)
        self._stop_watching.set()
        if self._watcher is not None and self._watcher is not threading.current_thread():
            self._watcher.join(CLOSE_TIMEOUT)
        with self._lock:
            hosts = dict(self._hosts)
            self._nodegroups.clear()
        for key, host in hosts.items():
            if _server_gone(host):
                continue
            try:
                if key == self._default_host_key:
                    host.close(_timeout=CLOSE_TIMEOUT)
                else:
                    host.close_all_nodegroups(_timeout=CLOSE_TIMEOUT)
            except Exception as exc:  # noqa: BLE001 -- close the others anyway
                logger.error("Manager: closing the NodeGroups of Host %s failed: %s", key, exc)
        if self._default_host_spawner is not None:
            try:
                self._default_host_spawner.wait(CLOSE_TIMEOUT)
            except TimeoutError:
                logger.error("Manager: the default Host did not exit; killing it")
            self._default_host_spawner.close()
        for relay in self._log_relays.values():
            relay.stop()
        self._log_relays.clear()
        if self._process_server is not None:
            self._process_server.close()


class _ManagerWitness:
    """Witness of ``server_deaths`` in the process that spawned a Manager: asks the Manager,
    while the Manager's process (run by *spawner*) lives."""

    def __init__(self, manager, spawner):
        self.manager = manager
        self.spawner = spawner

    def __call__(self, address):
        if self.spawner.poll() is not None:
            server_deaths.remove_witness(self)
            return None
        return self.manager.describe_dead_server(address, _timeout=WITNESS_TIMEOUT)


def create_process_manager() -> Manager:
    """Create the Manager of a process spawned for it: closing the Manager ends the process."""
    manager = Manager()
    forward_stdio_at_any_level()
    server = manager._process_server = RPCServer.get_server()
    if server is None:
        raise RuntimeError("create_process_manager() runs in a process spawned for the Manager, "
                           "whose RPCServer serves the calling thread; use create_manager()")
    server["manager"] = manager  # for clients that ask for it by name
    return manager


def _start_logging():
    """Start the log server of this process; records print once (see print_records_by_default)."""
    start_log_server(logging.getLogger())
    print_records_by_default()


def _ensure_rpc_server():
    """Let this thread lend local objects (e.g. an OutputStream) to remote nodes by proxy."""
    if RPCServer.get_server() is None:
        RPCServer().run_lazy()


def _close_spawned_manager(spawner, manager, witness):
    """At exit: close the Manager (if it is still open) and end its process."""
    server_deaths.remove_witness(witness)
    if spawner.poll() is None:
        try:
            spawner.client.ping(timeout=2.0)
            manager.close(_timeout=CLOSE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 -- already closed, or its process is gone
            logger.debug("Manager already closed at exit: %s", exc)
    spawner.close()


def create_manager(mode: str = "rpc", auto_close_at_exit: bool = True,
                   client_certificate: str | None = None) -> Manager | ObjectProxy:
    """Create the Manager: in a new process (*mode* 'rpc', returns a proxy) or here ('local').

    Also starts, in this process, the log server that receives the log
    records, uncaught exceptions and stdout/stderr of every process of the
    application (printed sorted by time, labelled by host, process and
    thread), and an RPC server in the calling thread so that local nodes'
    streams can be connected to remote nodes. With *auto_close_at_exit* the
    Manager is closed when this process exits.

    *client_certificate* (a ``NAME.key_secret`` file made by ``pyacq keys``)
    is what the Manager, and this process, present to Hosts that require
    CURVE authentication (``manager.add_host(addr, server_key=...)``).

    Parameters
    ----------
    mode : {'rpc', 'local'}, optional
        'rpc' (default) runs the Manager in a process of its own and returns a
        proxy to it; 'local' makes it in this process and returns it.
    auto_close_at_exit : bool, optional
        Close the Manager (and every process it started) when this process exits.
        Default True.
    client_certificate : str or None, optional
        Path of the ``NAME.key_secret`` certificate to authenticate with. Default
        None (only Hosts without authentication can be reached).
    """
    if mode not in ("rpc", "local"):
        raise ValueError(f"create_manager(): mode must be 'rpc' or 'local', not {mode!r}")
    if client_certificate is not None:
        client_certificate = os.path.abspath(client_certificate)
        curve.set_client_certificate(client_certificate)
    _start_logging()
    _ensure_rpc_server()
    if mode == "local":
        manager = Manager()
        if auto_close_at_exit:
            atexit.register(manager.close)
        return manager
    spawner = ProcessSpawner(name="manager", log_addr=get_logger_address(),
                             log_level=logging.getLogger().level or None)
    try:
        if client_certificate is not None:
            spawner.client._import("pyacq.core.rpc.curve").set_client_certificate(client_certificate)
        manager = spawner.client._import("pyacq.core.distributed.manager").create_process_manager()
    except BaseException:
        spawner.close()
        raise
    manager._set_proxy_options(timeout=SPAWN_TIMEOUT)
    witness = _ManagerWitness(manager, spawner)
    server_deaths.add_witness(witness)
    # Reap the manager process as soon as it exits (after manager.close()).
    threading.Thread(target=spawner.proc.wait, daemon=True, name="Manager-reaper").start()
    if auto_close_at_exit:
        atexit.register(_close_spawned_manager, spawner, manager, witness)
    return manager
