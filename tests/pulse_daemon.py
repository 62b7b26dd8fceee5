"""A private PulseAudio daemon for tests that play or record sound through PortAudio.

The daemon has its own runtime directory and socket (nothing is shared with a
desktop session), a 440 Hz tone as the default input and a null sink as the
default output (its monitor records what is played). PortAudio reaches it
through ALSA's ``pulse`` device (Debian's libasound2-plugins), which libpulse
points at the daemon through the environment :func:`running_pulseaudio` yields.
"""
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

SINE_FREQUENCY = 440.0
SAMPLE_RATE = 44100
NULL_SINK = "pyacq_null_sink"
TONE_SINK = "pyacq_tone_sink"


def _wait_for_socket(path, proc, log_path, timeout=30.0):
    """Wait until the daemon accepts connections on ``path``; fail with its log otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"pulseaudio exited with {proc.returncode}:\n{log_path.read_text()}")
        if os.path.exists(path):
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                if probe.connect_ex(str(path)) == 0:
                    return
        time.sleep(0.05)
    pytest.fail(f"pulseaudio did not listen on {path} within {timeout} s:\n{log_path.read_text()}")


@contextlib.contextmanager
def running_pulseaudio(root):
    """Run the daemon with its files in the directory ``root``; yield the environment
    variables that point a client at it. The daemon is stopped on exit (and gets SIGTERM
    if this process dies)."""
    executable, setpriv = shutil.which("pulseaudio"), shutil.which("setpriv")
    if executable is None or setpriv is None or not sys.platform.startswith("linux"):
        pytest.fail("audio tests need a PulseAudio daemon and util-linux's setpriv: apt-get "
                    "install pulseaudio libasound2-plugins (and portaudio19-dev to build PyAudio)")
    runtime = root / "runtime"
    runtime.mkdir(mode=0o700)
    native_socket = root / "native"
    script = root / "daemon.pa"
    # The socket module comes last: once the socket listens, every module is loaded.
    # The tone plays into a sink of its own, whose monitor is the default source: it then
    # arrives in real time, in the blocks the client asks for (module-sine-source would
    # push it in blocks of 2 s, ahead of time).
    script.write_text(
        f"load-module module-null-sink sink_name={NULL_SINK} rate={SAMPLE_RATE}\n"
        f"load-module module-null-sink sink_name={TONE_SINK} rate={SAMPLE_RATE}\n"
        f"load-module module-sine sink={TONE_SINK} frequency={SINE_FREQUENCY:.0f}\n"
        f"set-default-sink {NULL_SINK}\n"
        f"set-default-source {TONE_SINK}.monitor\n"
        f"load-module module-native-protocol-unix socket={native_socket} auth-anonymous=1\n"
    )
    client_conf = root / "client.conf"
    client_conf.write_text("autospawn = no\n")
    daemon_env = {**os.environ, "HOME": str(root), "XDG_RUNTIME_DIR": str(runtime),
                  "XDG_CONFIG_HOME": str(root / "config"), "PULSE_RUNTIME_PATH": str(runtime / "pulse")}
    log_path = root / "pulseaudio.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [setpriv, "--pdeathsig", "TERM", executable, "-n", "-F", str(script), "--daemonize=no",
             "--exit-idle-time=-1", "--use-pid-file=no", "--system=no", "--log-target=stderr"],
            env=daemon_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_for_socket(native_socket, proc, log_path)
        yield {"PULSE_SERVER": f"unix:{native_socket}", "PULSE_CLIENTCONFIG": str(client_conf),
               "JACK_NO_START_SERVER": "1"}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
