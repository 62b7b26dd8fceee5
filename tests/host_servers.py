"""Starting and stopping ``pyacq host`` servers (``python -m pyacq.core.host``) for tests.

Importable from every test module: tests/conftest.py puts this folder on sys.path.
"""
import signal
import subprocess
import sys


def start_host_server(address, prefix=(), name="testhost"):
    """Start `python -m pyacq.core.host ADDRESS` (under *prefix*); return (process, bound address)."""
    proc = subprocess.Popen([*prefix, sys.executable, "-m", "pyacq.core.host", address, "--name", name],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = proc.stdout.readline()
    if "serving at" not in line:
        proc.kill()
        proc.wait(10)
        raise AssertionError(f"host server did not start: {line!r}")
    return proc, line.split("serving at")[1].strip()


def stop_host_server(proc):
    """Ctrl-C the Host server *proc* (killing it if it does not exit within 30 s); return its
    exit status."""
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()
