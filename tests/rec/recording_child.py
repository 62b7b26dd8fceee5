"""A recording process for the tests that need one of their own (killed, or given a disk limit).

Usage: ``python recording_child.py MODE RECORDER DIRNAME [LIMIT_BYTES]``.

* ``kill``: records known samples (8 channels, chunks of 1000) without end and
  prints the stream index recorded after each chunk; the test SIGKILLs it.
* ``full``: records under RLIMIT_FSIZE = LIMIT_BYTES (writes past it fail with
  EFBIG, like a full disk) and prints a JSON report of how the recorder failed.
* ``denied``: configures a recorder in DIRNAME and prints the error as JSON.
"""
import importlib.util
import json
import os
import resource
import signal
import sys
import time

from pyacq.core import get_node_type

spec = importlib.util.spec_from_file_location(
    "recording_helpers", os.path.join(os.path.dirname(os.path.abspath(__file__)), "conftest.py"))
helpers = importlib.util.module_from_spec(spec)
spec.loader.exec_module(helpers)

NB_CHANNEL, CHUNK = 8, 1000


def make_recorder(recorder_name, dirname):
    output = helpers.analog_output(NB_CHANNEL, 1000.0)
    recorder = get_node_type(recorder_name)(name="child")
    recorder.configure(streams={"signals": output}, dirname=dirname)
    recorder.initialize()
    recorder.start()
    return output, recorder


def record_until_killed(recorder_name, dirname):
    output, recorder = make_recorder(recorder_name, dirname)
    track = recorder.tracks["signals"]
    index = 0
    while True:
        index += CHUNK
        output.send(helpers.known_signal(CHUNK, NB_CHANNEL, index - CHUNK), index=index)
        helpers.wait_for(lambda index=index: track.expected == index, what="the chunk to be recorded")
        print(index, flush=True)


def record_until_full(recorder_name, dirname, limit):
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    output, recorder = make_recorder(recorder_name, dirname)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    track = recorder.tracks["signals"]
    index, deadline = 0, time.monotonic() + 60
    while recorder.error is None and time.monotonic() < deadline:
        index += CHUNK
        output.send(helpers.known_signal(CHUNK, NB_CHANNEL, index - CHUNK), index=index)
        helpers.wait_for(lambda index=index: track.expected == index or recorder.error is not None,
                         what="the chunk to be recorded or refused")
    report = {"running": recorder.running(), "failed": recorder.failed(),
              "error_message": recorder.error_message(), "sent": index, "recorded": track.position}
    try:
        recorder.stop()
    except OSError as exc:
        report.update(stop_error=type(exc).__name__, message=str(exc), errno=exc.errno)
    report["error_after_stop"] = type(recorder.error).__name__
    try:
        recorder.start()
    except RuntimeError as exc:
        report["restart_refused"] = str(exc)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    recorder.close()
    print(json.dumps(report), flush=True)


def configure_denied(recorder_name, dirname):
    output = helpers.analog_output(NB_CHANNEL, 1000.0)
    recorder = get_node_type(recorder_name)(name="child")
    try:
        recorder.configure(streams={"signals": output}, dirname=dirname)
        print(json.dumps({"error": None}))
    except OSError as exc:
        print(json.dumps({"error": type(exc).__name__, "message": str(exc), "errno": exc.errno}))
    finally:
        recorder.close()
        output.close()


if __name__ == "__main__":
    mode, recorder_name, dirname = sys.argv[1:4]
    if mode == "kill":
        record_until_killed(recorder_name, dirname)
    elif mode == "full":
        record_until_full(recorder_name, dirname, int(sys.argv[4]))
    elif mode == "denied":
        configure_denied(recorder_name, dirname)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
