"""ProcessSpawner: start a Python process that serves RPC, and control it."""
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

import zmq

from . import curve, server_deaths
from .client import RPCClient
from .context import get_context
from .errors import RemoteCallException


def _child_environment(env: Mapping[str, str | None] | None) -> dict[str, str]:
    """The environment of a child: a copy of ``os.environ`` taken now, with *env* over it.

    A value of None in *env* leaves that variable out. ``os.environ`` itself is only
    read, so that threads spawning children with different environments at the same
    time do not see each other's variables.
    """
    merged = dict(os.environ)
    for name, value in (env or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged


#: Seconds the spawner waits for its child to exit when a client lost its connection to it.
DEATH_GRACE = 0.5


class ProcessSpawner:
    """Spawn a new process running an RPCServer, connected to ``self.client``.

    The child exits when this process dies, however it dies. A call to the child
    after it died raises ``RemoteProcessDied`` (naming it and its exit code) at
    once: the spawner is a witness of ``server_deaths`` until closed.

    Parameters
    ----------
    name : str, optional
        Names the process in log records.
    address : str
        Where the child's server binds. 127.0.0.1 by default: binding to a public
        address lets anyone on the network run code in it.
    qt : bool
        Run a QApplication and a QtRPCServer in the child, offscreen when there is
        no display and QT_QPA_PLATFORM is unset. Where PyQt5 cannot be imported the
        child says so in one warning line and runs a plain RPCServer (``self.qt``
        tells which).
    log_addr : str, optional
        Address of the LogServer that receives the child's log records, uncaught
        exceptions, stdout and stderr.
    log_level : int, optional
        Level of the child's root logger.
    executable : str, optional
        The Python interpreter to run (default ``sys.executable``).
    certificate, authorized_keys : str, optional
        A ``NAME.key_secret`` file and a directory of client ``NAME.key`` files:
        the child's server then requires ZeroMQ CURVE. This process connects with
        its client certificate (see ``curve.set_client_certificate``), which
        *authorized_keys* must hold unless it is *certificate* itself, and the
        child presents *certificate* when it connects to other protected servers.
    env : mapping of str to (str or None), optional
        Environment variables of the child, merged over a copy of this process's
        ``os.environ`` taken at the call; a value of None leaves that variable out.
        Each spawner builds its child's environment on its own and never changes
        ``os.environ``, so threads spawning with different *env* at the same time
        do not see each other's variables. The child imports pyacq and finds
        plugins as any process of its interpreter does (installed distributions,
        PYTHONPATH): a directory only on this process's ``sys.path`` reaches the
        child only if *env* puts it on PYTHONPATH.

    Raises
    ------
    RemoteCallException
        An error while the child started, carrying the child's traceback.
    RuntimeError
        The child exited before its server started.
    TimeoutError
        The child did not start within ``start_timeout`` seconds.
    """

    #: Seconds to wait for the child to report that its server is running.
    start_timeout = 60.0

    def __init__(self, name: str | None = None, address: str = "tcp://127.0.0.1:*", qt: bool = False,
                 log_addr: str | None = None, log_level: int | None = None,
                 executable: str | None = None, certificate: str | None = None,
                 authorized_keys: str | None = None,
                 env: Mapping[str, str | None] | None = None) -> None:
        self.name = name
        self.qt = qt
        self._closed = False
        self._clients = threading.local()
        server_public_key = None
        if certificate is not None or authorized_keys is not None:
            if certificate is None or authorized_keys is None:
                raise ValueError("a CURVE-protected child needs both certificate and authorized_keys")
            server_public_key = curve.load_secret_certificate(certificate)[0]
            certificate, authorized_keys = os.path.abspath(certificate), os.path.abspath(authorized_keys)
        report = get_context().socket(zmq.PULL)
        report.setsockopt(zmq.LINGER, 0)
        try:
            port = report.bind_to_random_port("tcp://127.0.0.1")
            config = {
                "name": name, "address": address, "qt": qt, "log_addr": log_addr,
                "log_level": log_level, "parent_pid": os.getpid(),
                "pdeathsig": threading.current_thread() is threading.main_thread(),
                "report_addr": f"tcp://127.0.0.1:{port}",
                "certificate": certificate, "authorized_keys": authorized_keys,
            }
            self.proc = subprocess.Popen(
                [executable or sys.executable, "-m", "pyacq.core.rpc.bootstrap"],
                stdin=subprocess.PIPE, env=_child_environment(env))
            stdin = self.proc.stdin
            assert stdin is not None  # stdin=PIPE
            try:
                stdin.write(json.dumps(config).encode() + b"\n")
                stdin.flush()
            except BrokenPipeError:
                pass  # the child died at once; _wait_for_report says how
            status = self._wait_for_report(report)
        finally:
            report.close()
        if "error" in status:
            self._reap()
            type_str, tb = status["error"]
            raise RemoteCallException(type_str, ["Error while starting child process:\n"] + tb)
        #: Address of the child's RPCServer.
        self.address = status["address"]
        #: Whether the child runs Qt: False if *qt* was asked but PyQt5 cannot be imported there.
        self.qt = status.get("qt", False)
        if server_public_key is not None:
            curve.add_server_key(self.address, server_public_key)
        self.client.ensure_connection(timeout=self.start_timeout)
        server_deaths.add_witness(self._describe_death)

    @property
    def client(self) -> RPCClient:
        """The RPCClient connected to the child's RPCServer (one per calling thread).

        Each thread keeps its own client to this child, also once the child's server
        announced that it closed (``client.disconnected()`` then tells so), even if a
        new server later binds the same address.
        """
        clients = self._clients.__dict__
        client = clients.get("client")
        if client is None or client._closed:
            client = RPCClient.get_client(self.address)
            if client is None:
                raise RuntimeError(f"{self.address} is served by this thread, not by the child")
            clients["client"] = client
        return client

    def _wait_for_report(self, report):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if report.poll(100, zmq.POLLIN):
                return json.loads(report.recv())
            if self.proc.poll() is not None:
                self._reap()
                raise RuntimeError(f"child process exited with code {self.proc.returncode} before its RPC "
                                   "server started (see its stderr)")
        self.proc.kill()
        self._reap()
        raise TimeoutError(f"child process did not start within {self.start_timeout:g} s")

    def _describe_death(self, address):
        """Witness of ``server_deaths``: how the child died, if *address* is its server's."""
        if address != self.address:
            return None
        try:
            code = self.proc.wait(DEATH_GRACE)
        except subprocess.TimeoutExpired:
            return None
        name = f"{self.name!r} " if self.name else ""
        return (f"process {name}(pid {self.proc.pid}) serving at {address} exited, "
                f"{server_deaths.describe_exit(code)}")

    def _import(self, module: str, **kwds: Any) -> Any:
        """Import *module* in the child and return a proxy to it."""
        return self.client._import(module, **kwds)

    @property
    def pid(self) -> int:
        """Process id of the child."""
        return self.proc.pid

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the child's RPC server to close (the child then exits).

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the server to acknowledge. Default 5.
        """
        self.client.close_server(timeout=timeout)

    def kill(self) -> None:
        """Kill the child immediately."""
        self.proc.kill()

    def poll(self) -> int | None:
        """Return the child's exit code, or None if it is still running."""
        return self.proc.poll()

    def wait(self, timeout: float = 10) -> int:
        """Wait for the child to exit and return its exit code (TimeoutError after *timeout*).

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait. Default 10.
        """
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TimeoutError(f"child process {self.proc.pid} did not exit within "
                               f"{timeout:g} s") from None

    def close(self, timeout: float = 10.0) -> int | None:
        """Stop the child (killing it if it does not exit within *timeout* s), release all.

        Idempotent; returns the child's exit code.

        Parameters
        ----------
        timeout : float, optional
            Seconds to wait for the server to acknowledge the close, then for the
            child to exit before it is killed. Default 10.
        """
        if not self._closed:
            self._closed = True
            server_deaths.remove_witness(self._describe_death)
            if self.proc.poll() is None:
                try:
                    self.stop(timeout=timeout)
                except (TimeoutError, RuntimeError, ConnectionError):
                    pass
            self.client.close()
            self._reap(timeout)
            curve.remove_server_key(self.address)
        return self.proc.returncode

    def _reap(self, timeout=10.0):
        """Wait for the child to exit; failing that, close its stdin (the parent-death
        signal it watches), and as a last resort kill it."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._close_stdin()
            try:
                self.proc.wait(5.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5.0)
        self._close_stdin()

    def _close_stdin(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
