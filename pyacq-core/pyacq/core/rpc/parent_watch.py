"""Making a spawned process die with its parent, however the parent dies."""
import ctypes
import os
import signal
import sys
import threading

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid, stdin_fd=0, use_pdeathsig=True):
    """Exit this process when the parent process exits.

    Two mechanisms, because neither covers every case alone:

    - on Linux, the kernel sends SIGKILL when the parent dies
      (``prctl(PR_SET_PDEATHSIG)``), even if this process is stuck in C code
      holding the GIL. It fires when the *thread* that spawned us ends, so the
      spawner only asks for it from its main thread;
    - on every platform, a thread blocks on our stdin, a pipe whose only writer
      is the parent: when the parent dies, however it dies, the pipe closes and
      the read returns end-of-file.
    """
    if use_pdeathsig and sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        # The parent died before the death signal was armed.
        os._exit(1)
    thread = threading.Thread(target=_exit_at_eof, args=(stdin_fd,), daemon=True,
                              name="parent-watch")
    thread.start()


def _exit_at_eof(fd):
    while True:
        try:
            if not os.read(fd, 4096):
                break
        except InterruptedError:
            continue
        except OSError:
            break
    os._exit(1)
