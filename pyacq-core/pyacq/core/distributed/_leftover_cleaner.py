"""Removing the shared memory and ipc files of NodeGroup processes that could not clean up.

A process killed with SIGKILL (by a user, or by the kernel because its parent
died) runs no cleanup code, so the shared memory segments of its sharedmem
streams (``/dev/shm/pyacq-<pid>-*``) and its ipc socket files stay behind.
The Host gives each NodeGroup process a private temporary directory (where
its ipc files go) and removes it, with the process's segments, once the
process is gone. Should the Host itself be killed, a small watchdog process,
started in a session of its own so that it outlives the Host, does the same
for every NodeGroup process the Host registered with it.

Run as ``python -m pyacq.core.distributed._leftover_cleaner``: reads one json line
``[pid, tmpdir]`` per process to watch from stdin; at end of file (the Host
exited or closed the pipe) it waits for those processes to end, removes what
they left, and exits.
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import time

#: Seconds the watchdog waits for watched processes to end before cleaning anyway.
PROCESS_EXIT_TIMEOUT = 30.0


def shm_segments_of(pid):
    """Paths of the shared memory segments created by process *pid* (Linux)."""
    return glob.glob(f"/dev/shm/pyacq-{int(pid)}-*")


def remove_process_files(pid, tmpdir):
    """Remove the shared memory segments of the ended process *pid* and its *tmpdir*."""
    for path in shm_segments_of(pid):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
    shutil.rmtree(tmpdir, ignore_errors=True)


def process_ended(pid):
    """True once *pid* no longer runs (a zombie counts as ended)."""
    try:
        with open(f"/proc/{int(pid)}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError):
        return True
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


class LeftoverWatchdog:
    """Handle, in the Host, on the watchdog process (see the module docstring)."""

    def __init__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyacq.core.distributed._leftover_cleaner"], stdin=subprocess.PIPE,
            start_new_session=True)

    def watch(self, pid, tmpdir):
        """Register a NodeGroup process and its private temporary directory."""
        self.proc.stdin.write(json.dumps([pid, tmpdir]).encode() + b"\n")
        self.proc.stdin.flush()

    def close(self, timeout=PROCESS_EXIT_TIMEOUT + 5):
        """Tell the watchdog the Host is done; it cleans what is left and exits."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5.0)


def main():
    watched = [json.loads(line) for line in sys.stdin.buffer if line.strip()]
    deadline = time.monotonic() + PROCESS_EXIT_TIMEOUT
    for pid, tmpdir in watched:
        while not process_ended(pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        if process_ended(pid):
            remove_process_files(pid, tmpdir)


if __name__ == "__main__":
    main()
