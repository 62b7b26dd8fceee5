"""Host: the service on each machine that spawns and ends NodeGroup processes.

Run a Host server with ``pyacq host tcp://IP:PORT`` (or
``python -m pyacq.core.host tcp://IP:PORT``); a Manager then connects to it
with ``manager.add_host('tcp://IP:PORT')``. The NodeGroups a Host spawns bind
their RPC servers to the Host's own interface, so whoever reaches the Host
reaches its NodeGroups.

Anyone who can reach a Host server can run code on its machine: serve on
127.0.0.1, on a private network, or require authentication with
``pyacq host tcp://IP:PORT --curve-dir DIR``: DIR holds the Host's secret
certificate (one ``NAME.key_secret``, made by ``pyacq keys DIR --name NAME``)
and ``DIR/authorized/`` the public certificates (``*.key``) of the Managers
allowed in. The NodeGroup servers the Host spawns then require the same keys,
and present the Host's certificate when they connect to protected servers.

A Host watches the Managers it spawned NodeGroups for (``_manager_watch``): when one's
process dies, killed or crashed, without closing them, the Host closes that Manager's
NodeGroups within about a second, so that none keeps holding its devices, and stays up,
ready for the next Manager.
"""
import argparse
import ipaddress
import itertools
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
from typing import Any

from pyacq.core.distributed._leftover_cleaner import LeftoverWatchdog, remove_process_files
from pyacq.core.distributed._manager_watch import ManagerWatch
from pyacq.core.distributed._name_reservations import NameReservations
from pyacq.core.distributed._process_logging import forward_stdio_at_any_level
from pyacq.core.rpc import server_registry
from pyacq.core.rpc.curve import find_server_certificate
from pyacq.core.rpc.log import get_logger_address, log_exceptions, set_host_name, set_logger_address
from pyacq.core.rpc.proxy import ObjectProxy
from pyacq.core.rpc.server import RPCServer
from pyacq.core.rpc.spawner import ProcessSpawner

logger = logging.getLogger(__name__)

#: Seconds between two checks of the NodeGroup processes when ``poll_procs`` is on.
POLL_INTERVAL = 0.25

#: Seconds a NodeGroup process gets to close cleanly before it is killed.
CLOSE_TIMEOUT = 10.0

class _NodeGroupProcess:
    """What the Host knows of one NodeGroup process it spawned."""

    def __init__(self, name: str, spawner: ProcessSpawner, nodegroup: ObjectProxy, tmpdir: str,
                 manager_address: str | None) -> None:
        self.name = name
        self.spawner = spawner
        self.nodegroup = nodegroup
        self.tmpdir = tmpdir
        #: The address of the RPC server of the Manager it belongs to, if any.
        self.manager_address = manager_address
        self.exitcode: int | None = None

    @property
    def pid(self) -> int:
        return self.spawner.pid


class Host:
    """Spawns NodeGroup processes on this machine, watches them, and closes them.

    *name* names the Host in log records. With *poll_procs*, a thread calls
    ``check_spawners()`` every ``POLL_INTERVAL`` seconds, so that a NodeGroup
    process that dies is logged (with its exit code) even if nobody asks.
    A Host made in a thread that runs an RPCServer publishes itself there as
    ``'host'``, so that ``Manager.get_host(server.address)`` reaches it.

    Parameters
    ----------
    name : str
        The Host's name, shown in log records and in its NodeGroups' default names.
    poll_procs : bool, optional
        Watch the NodeGroup processes from a thread of the Host's own. Default
        False: they are checked when asked (``check_spawners()``).
    """

    def __init__(self, name: str, poll_procs: bool = False) -> None:
        self.name = name
        self._processes: dict[str, _NodeGroupProcess] = {}
        self._dead: dict[str, int | None] = {}
        self._lock = threading.RLock()
        self._starting = NameReservations(f"Host {name!r}", self._lock, lambda: self._closed)
        self._numbers = itertools.count()
        self._watchdog = None
        self._manager_watch: ManagerWatch | None = None
        self._closed = False
        self._stop_polling = threading.Event()
        self._poll_thread = None
        self._process_server: RPCServer | None = None
        self._spawned_hosts: list[tuple[ProcessSpawner, ObjectProxy]] = []  # (spawner, proxy to its Host) for each spawn()
        server = server_registry.get_server()
        if server is not None:
            server["host"] = self
        if poll_procs:
            self._poll_thread = threading.Thread(target=self._poll_processes, daemon=True,
                                                 name=f"Host-{name}-watch")
            self._poll_thread.start()

    def __repr__(self) -> str:
        return f"<Host {self.name!r} with {len(self._processes)} NodeGroups>"

    # -- spawning ------------------------------------------------------------

    def create_nodegroup(self, name: str | None = None, manager: Any = None, qt: bool = True,
                         **kwds: Any) -> ObjectProxy:
        """Spawn a process running a NodeGroup and return (a proxy to) the NodeGroup.

        *name* names the process in log records (default: ``<host>-nodegroup<n>``);
        *manager* is (a proxy to) the Manager it belongs to: should that Manager's process
        die, the Host closes the NodeGroup (see the module docstring); with *qt* the process runs a
        QApplication and a QtRPCServer, so that its nodes may be widgets.
        Other keywords go to ProcessSpawner (``log_addr``, ``log_level``,
        ``executable``, ``address``). A Host that requires CURVE authentication
        gives its NodeGroups its own keys; nobody else chooses them.

        Parameters
        ----------
        name : str, optional
            The NodeGroup's name, unique on this Host. Default
            ``<host>-nodegroup<n>``.
        manager : ObjectProxy, optional
            The Manager the NodeGroup belongs to. Default None.
        qt : bool, optional
            Run a QApplication and a QtRPCServer in the process. Default True.
        **kwds
            Passed to ProcessSpawner.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError(f"Host {self.name!r} is closed")
            if name is None:
                name = f"{self.name}-nodegroup{next(self._numbers)}"
            if name in self._processes or name in self._starting:
                raise ValueError(f"Host {self.name!r} already runs a NodeGroup named {name!r}: "
                                 "give another name")
            self._starting.reserve(name)
        proc = self._starting.spawn(
            name, lambda: self._start_nodegroup_process(name, manager, qt, kwds),
            self._record_process, lambda started: self._end_process(started, force=False))
        return proc.nodegroup

    def _start_nodegroup_process(self, name, manager, qt, kwds):
        """Spawn the process of NodeGroup *name* and create the group there.

        Runs without the Host's lock (a spawn takes seconds, during which the Host
        keeps watching its other processes). The child gets a private TMPDIR,
        where its ipc files go, through its own environment.
        """
        kwds.setdefault("address", f"tcp://{self._nodegroup_interface()}:*")
        kwds.setdefault("log_addr", get_logger_address())
        kwds.update(self._nodegroup_keys(kwds))
        this_host = self if RPCServer.get_server() is not None else None
        tmpdir = tempfile.mkdtemp(prefix="pyacq-nodegroup-")
        try:
            spawner = ProcessSpawner(name=name, qt=qt, env={"TMPDIR": tmpdir}, **kwds)
        except BaseException:
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        with self._lock:
            if not self._closed:  # else create_nodegroup ends the process itself
                if self._watchdog is None:
                    self._watchdog = LeftoverWatchdog()
                self._watchdog.watch(spawner.pid, tmpdir)
        try:
            module = spawner.client._import("pyacq.core.distributed.nodegroup")
            nodegroup = module.create_process_nodegroup(this_host, manager)
        except BaseException:
            spawner.close(timeout=CLOSE_TIMEOUT)
            remove_process_files(spawner.pid, tmpdir)
            raise
        manager_address = manager._rpc_addr if isinstance(manager, ObjectProxy) else None
        return _NodeGroupProcess(name, spawner, nodegroup, tmpdir, manager_address)

    def _record_process(self, proc):
        """Record the NodeGroup process *proc* that just started (the Host's lock is held)."""
        self._processes[proc.name] = proc
        self._dead.pop(proc.name, None)
        if proc.manager_address is not None:
            if self._manager_watch is None:
                self._manager_watch = ManagerWatch(f"Host-{self.name}", self._close_nodegroups_of)
            self._manager_watch.watch(proc.manager_address)
        logger.info("Host %r: NodeGroup %r started (process %d)", self.name, proc.name, proc.pid)

    def spawn(self, name: str, **kwds: Any) -> tuple[ProcessSpawner, ObjectProxy]:
        """Start a child process running a Host named *name*; return ``(spawner, host)``.

        *host* is a proxy to the new Host, which creates NodeGroups in processes of its
        own, as pyacq 2.0 scripts start a Host in a child process. Keywords go to
        ProcessSpawner (``address``, ``qt``, ``log_addr``...; log records go to this
        process's log server by default). The child is one of :attr:`spawners`, and
        ``close()`` closes it, with its NodeGroups.

        Parameters
        ----------
        name : str
            The new Host's name (and its process's).
        **kwds
            Passed to ProcessSpawner; ``qt`` defaults to False and ``log_addr``
            to this process's log server.
        """
        with self._lock:
            if self._closed:
                raise RuntimeError(f"Host {self.name!r} is closed")
        kwds.setdefault("log_addr", get_logger_address())
        kwds.setdefault("qt", False)
        spawner = ProcessSpawner(name=name, **kwds)
        try:
            host = spawner.client._import("pyacq.core.distributed.host").create_spawned_host(name)
        except BaseException:
            spawner.close(timeout=CLOSE_TIMEOUT)
            raise
        with self._lock:
            if not self._closed:
                self._spawned_hosts.append((spawner, host))
                logger.info("Host %r: Host %r started (process %d)", self.name, name, spawner.pid)
                return spawner, host
        self._close_spawned_host(spawner, host)
        raise RuntimeError(f"Host {self.name!r} closed while Host {name!r} was starting; "
                           "its process was ended")

    @property
    def spawners(self) -> list[ProcessSpawner]:
        """The ProcessSpawners of the processes this Host runs: its NodeGroups and the Hosts
        it spawned (``spawn()``), while they run."""
        with self._lock:
            return ([proc.spawner for proc in self._processes.values()]
                    + [spawner for spawner, _ in self._spawned_hosts])

    def _nodegroup_interface(self):
        """The IP this Host's RPC server listens on; NodeGroups listen there too."""
        server = RPCServer.get_server()
        if server is None or not server.address.startswith("tcp://"):
            return "127.0.0.1"
        return server.address[len("tcp://"):].rsplit(":", 1)[0]

    def _nodegroup_keys(self, kwds):
        """``certificate`` and ``authorized_keys`` for a NodeGroup's ProcessSpawner: the Host's
        own when its server requires CURVE (a protected Host spawns no unprotected server)."""
        server = RPCServer.get_server()
        if server is None or server.certificate is None:
            return {}
        for name in ("certificate", "authorized_keys"):
            if name in kwds:
                raise ValueError(f"Host {self.name!r} requires CURVE authentication: its NodeGroups "
                                 f"use the Host's keys, {name!r} cannot be chosen")
        return {"certificate": server.certificate, "authorized_keys": server.authorized_keys}

    # -- watching ------------------------------------------------------------

    def _poll_processes(self):
        while not self._stop_polling.wait(POLL_INTERVAL):
            try:
                self.check_spawners()
            except Exception:
                logger.exception("Host %r: checking the NodeGroup processes failed", self.name)

    def check_spawners(self) -> dict[str, int | None]:
        """Find the NodeGroup processes that exited unexpectedly; return ``{name: exit code}``.

        Each death is logged once, as an error naming the NodeGroup and its
        exit code, and the files the process left (shared memory, ipc sockets)
        are removed. The returned dict holds every death since the NodeGroup
        was created, so that any number of Managers may poll it.
        """
        with self._lock:
            for name, proc in list(self._processes.items()):
                code = proc.spawner.poll()
                if code is None:
                    continue
                proc.exitcode = code
                del self._processes[name]
                self._dead[name] = code
                proc.spawner.close()
                remove_process_files(proc.pid, proc.tmpdir)
                logger.error("Host %r: NodeGroup %r (process %d) exited unexpectedly with exit code %s",
                             self.name, name, proc.pid, code)
            return dict(self._dead)

    def wait_for_exit(self, name: str, timeout: float) -> dict[str, int | None]:
        """Wait at most *timeout* s for the process of NodeGroup *name* to exit, then return
        ``check_spawners()``: a Manager asks when a client lost its connection to the group.

        Parameters
        ----------
        name : str
            The NodeGroup's name.
        timeout : float
            Seconds to wait for its process to exit.
        """
        with self._lock:
            proc = self._processes.get(name)
        if proc is not None:
            try:
                proc.spawner.wait(timeout)
            except TimeoutError:
                pass
        return self.check_spawners()

    def list_nodegroups(self) -> list[str]:
        """Names of the NodeGroups running on this Host."""
        with self._lock:
            return list(self._processes)

    def runs_nodegroup(self, nodegroup: ObjectProxy) -> bool:
        """True if *nodegroup* (a proxy) is the NodeGroup of a process this Host runs: a
        Manager asks when given a NodeGroup that it did not create itself.

        Parameters
        ----------
        nodegroup : ObjectProxy
            A proxy to a NodeGroup.
        """
        with self._lock:
            return any(proc.nodegroup == nodegroup for proc in self._processes.values())

    def describe_nodegroups(self) -> dict[str, dict[str, Any]]:
        """``{name: {'pid', 'alive', 'exitcode'}}`` for every NodeGroup spawned, dead ones included."""
        self.check_spawners()
        with self._lock:
            table = {name: {"pid": proc.pid, "alive": True, "exitcode": None}
                     for name, proc in self._processes.items()}
            for name, code in self._dead.items():
                table.setdefault(name, {"pid": None, "alive": False, "exitcode": code})
            return table

    # -- closing -------------------------------------------------------------

    def close_nodegroup(self, name: str, force: bool = False) -> None:
        """Close the NodeGroup *name* (its nodes, then its process); *force* kills it at once.

        Parameters
        ----------
        name : str
            The NodeGroup's name (KeyError if this Host runs none of that name).
        force : bool, optional
            Kill the process without closing its nodes. Default False.
        """
        with self._lock:
            proc = self._processes.pop(name, None)
        if proc is None:
            raise KeyError(f"Host {self.name!r} runs no NodeGroup named {name!r}")
        self._end_process(proc, force)

    def close_all_nodegroups(self, force: bool = False) -> None:
        """Close every NodeGroup of this Host; *force* kills the processes without closing nodes.

        Parameters
        ----------
        force : bool, optional
            Kill the processes at once. Default False.
        """
        with self._lock:
            processes, self._processes = list(self._processes.values()), {}
        self._end_processes(processes, force)

    def _close_nodegroups_of(self, manager_address):
        """The Manager served at *manager_address* is gone: close its NodeGroups (logged)."""
        with self._lock:
            if self._closed:
                return
            orphans = [proc for proc in self._processes.values() if proc.manager_address == manager_address]
            for proc in orphans:
                del self._processes[proc.name]
        if not orphans:
            return
        logger.error("Host %r: the Manager at %s is gone (its connection dropped and its port refuses "
                     "connections); closing its NodeGroups %s", self.name, manager_address,
                     [proc.name for proc in orphans])
        self._end_processes(orphans, force=False)

    def _end_process(self, proc, force):
        self._end_processes([proc], force)

    def _end_processes(self, processes, force):
        """End NodeGroup processes together: all are asked to close their nodes at once, so
        closing N NodeGroups takes as long as the slowest, not the sum (a Manager's close
        waits on this within its own timeout)."""
        if force:
            for proc in processes:
                proc.spawner.kill()
        else:
            closing = []
            for proc in processes:
                try:
                    closing.append((proc, proc.nodegroup.close(_sync="async", _timeout=CLOSE_TIMEOUT)))
                except Exception as exc:  # noqa: BLE001 -- the process is ended below anyway
                    self._log_unclean_close(proc, exc)
            for proc, future in closing:
                try:
                    future.result(timeout=CLOSE_TIMEOUT)
                except Exception as exc:  # noqa: BLE001 -- the process is ended below anyway
                    self._log_unclean_close(proc, exc)
        for proc in processes:
            proc.exitcode = proc.spawner.close(timeout=CLOSE_TIMEOUT)
            remove_process_files(proc.pid, proc.tmpdir)

    def _log_unclean_close(self, proc, exc):
        logger.warning("Host %r: NodeGroup %r did not close cleanly (%s); ending its process",
                       self.name, proc.name, exc)

    def connect_log_server(self, address: str) -> None:
        """Forward this Host's own log records and uncaught exceptions to the LogServer at *address*.

        Does nothing when this process already sends its records somewhere
        (a Host spawned by a Manager does from the start).

        Parameters
        ----------
        address : str
            The LogServer's address (``tcp://IP:PORT``).
        """
        if get_logger_address() is None:
            set_logger_address(address)
            log_exceptions()

    def close(self) -> None:
        """Close every NodeGroup and stop watching; the Host cannot spawn afterwards."""
        with self._lock:
            self._closed = True
        self._stop_polling.set()
        if self._poll_thread is not None and self._poll_thread is not threading.current_thread():
            self._poll_thread.join(5.0)
        if self._manager_watch is not None:
            self._manager_watch.close()
        self.close_all_nodegroups()
        self._close_spawned_hosts()
        if self._watchdog is not None:
            self._watchdog.close()
            self._watchdog = None
        if self._process_server is not None:
            self._process_server.close()

    def _close_spawned_hosts(self):
        with self._lock:
            spawned, self._spawned_hosts = self._spawned_hosts, []
        for spawner, host in spawned:
            self._close_spawned_host(spawner, host)

    def _close_spawned_host(self, spawner, host):
        try:
            host.close(_timeout=CLOSE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 -- the process is ended below anyway
            logger.warning("Host %r: the Host it spawned in process %d did not close "
                           "cleanly (%s); ending the process", self.name, spawner.pid, exc)
        spawner.close(timeout=CLOSE_TIMEOUT)


def create_spawned_host(name: str) -> Host:
    """Create the Host of a process spawned for it: closing the Host ends the process.

    Used by the Manager for its default Host.
    """
    host = Host(name, poll_procs=True)
    forward_stdio_at_any_level()
    host._process_server = RPCServer.get_server()
    return host


def check_host_address(address: str) -> str:
    """Return *address* if it is ``tcp://IP:PORT`` with a concrete IP; ValueError otherwise."""
    if not address.startswith("tcp://") or ":" not in address[len("tcp://"):]:
        raise ValueError(f"a Host address looks like tcp://IP:PORT, got {address!r}")
    ip, port = address[len("tcp://"):].rsplit(":", 1)
    try:
        parsed = ipaddress.ip_address(ip.strip("[]"))
    except ValueError:
        raise ValueError(f"{address!r}: {ip!r} is not an IP address") from None
    if parsed.is_unspecified:
        raise ValueError(f"{address!r}: give the IP of the interface to serve on, not {ip}: "
                         "NodeGroups listen on the Host's IP and clients must be able to reach it")
    if port != "*" and not port.isdigit():
        raise ValueError(f"{address!r}: port must be a number or '*'")
    return address


def curve_keys(curve_dir: str) -> tuple[str, str]:
    """``(certificate, authorized_keys)`` of a Host's ``--curve-dir``: its one ``*.key_secret``
    file and its ``authorized/`` directory; ValueError naming what is missing."""
    certificate = find_server_certificate(curve_dir)
    authorized = os.path.join(curve_dir, "authorized")
    if not os.path.isdir(authorized):
        raise ValueError(f"{curve_dir} has no authorized/ directory: put there the public "
                         "certificates (NAME.key) of the clients this Host accepts")
    return certificate, authorized


def run_host_server(address: str, name: str | None = None, curve_dir: str | None = None) -> int:
    """Serve a Host at *address* until interrupted (Ctrl-C or SIGTERM close its NodeGroups).

    With *curve_dir*, clients must authenticate with ZeroMQ CURVE (see the
    module docstring). Prints ``pyacq host <name> serving at <address>`` once
    ready, then, for a protected Host, the public key clients need.
    """
    check_host_address(address)
    keys = curve_keys(curve_dir) if curve_dir is not None else (None, None)
    name = name or socket.gethostname()
    set_host_name(name)
    server = RPCServer(address, certificate=keys[0], authorized_keys=keys[1])
    host = Host(name, poll_procs=True)
    server["host"] = host

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        # Announced inside the try: Ctrl-C right after the announcement still closes cleanly.
        print(f"pyacq host {name} serving at {server.address}", flush=True)
        if curve_dir is not None:
            public_key = server._authentication.public.decode()
            print(f"pyacq host {name} requires CURVE authentication: "
                  f"manager.add_host({server.address!r}, server_key={public_key!r})", flush=True)
        server.run_forever()
    except KeyboardInterrupt:
        logger.info("Host %r interrupted: closing its NodeGroups", name)
    finally:
        signal.signal(signal.SIGTERM, previous)
        host.close()
        server.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m pyacq.core.host tcp://IP:PORT [--name NAME] [--curve-dir DIR]``."""
    parser = argparse.ArgumentParser(prog="pyacq host",
                                     description="serve a pyacq Host: Managers spawn NodeGroups here")
    parser.add_argument("address", help="tcp://IP:PORT to serve on (IP of a private interface)")
    parser.add_argument("--name", help="name of this host in log records (default: hostname)")
    parser.add_argument("--curve-dir", metavar="DIR",
                        help="require ZeroMQ CURVE authentication: DIR holds this Host's "
                             "NAME.key_secret and authorized/ the clients' NAME.key files")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        check_host_address(args.address)
        if args.curve_dir is not None:
            curve_keys(args.curve_dir)
    except ValueError as exc:
        parser.error(str(exc))
    return run_host_server(args.address, args.name, args.curve_dir)


if __name__ == "__main__":
    sys.exit(main())
