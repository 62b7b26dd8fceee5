"""Entry point of a process started by ProcessSpawner.

Run as ``python -m pyacq.core.rpc.bootstrap``; reads its configuration (one
json line) from stdin, starts an RPCServer (or a QtRPCServer in a
QApplication, offscreen without a display, falling back to an RPCServer with one
warning line when PyQt5 cannot be imported; one requiring ZeroMQ CURVE when the
configuration names a certificate), reports its address -- or its start-up error with traceback --
to the parent over ZeroMQ, then serves until closed.
"""
import json
import logging
import os
import sys
import traceback


def _start_logging(config):
    from .log import (
        capture_stdio,
        log_exceptions,
        set_logger_address,
        set_process_name,
        set_thread_name,
    )
    set_process_name(config["name"] or f"process-{os.getpid()}")
    set_thread_name("MainThread")
    if config["log_level"] is not None:
        logging.getLogger().setLevel(config["log_level"])
    if config["log_addr"] is not None:
        set_logger_address(config["log_addr"])
        log_exceptions()
        capture_stdio()


#: What a process asked to run Qt prints, as one warning line, when PyQt5 cannot be imported.
NO_QT_WARNING = ("%s: PyQt5 cannot be imported (%s): running a plain RPC server without Qt, so "
                 "its nodes cannot be widgets. Install Qt with: pip install 'pyacq-core[qt]' "
                 "(or ask for qt=False to silence this)")


def has_display():
    """True when Qt can open windows on screen (always on Windows and macOS)."""
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _import_qt_widgets(config):
    """PyQt5's QtWidgets, or None (after one warning line) when PyQt5 cannot be imported.

    Without a display, and unless QT_QPA_PLATFORM says otherwise, Qt renders offscreen in
    this process (Qt would abort looking for an X server).
    """
    if not has_display() and "QT_QPA_PLATFORM" not in os.environ:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    try:
        from PyQt5 import QtWidgets
    except ImportError as exc:
        logging.getLogger("pyacq.core.rpc.bootstrap").warning(NO_QT_WARNING, config["name"] or "process", exc)
        return None
    return QtWidgets


def _start_server(config):
    """Return ``(server, QApplication or None)``: a QtRPCServer when Qt was asked for and
    PyQt5 imports, else a plain RPCServer."""
    keys = dict(certificate=config.get("certificate"), authorized_keys=config.get("authorized_keys"))
    QtWidgets = _import_qt_widgets(config) if config["qt"] else None
    if QtWidgets is None:
        from .server import RPCServer
        return RPCServer(config["address"], **keys), None

    from .qt_server import QtRPCServer
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication([sys.argv[0]])
    app.setQuitOnLastWindowClosed(False)
    server = QtRPCServer(config["address"], **keys)
    server.run_forever()
    return server, app


def main():
    """Run the child of a ProcessSpawner: read its JSON config on stdin, serve until closed."""
    config = json.loads(sys.stdin.readline())
    import zmq

    from .parent_watch import die_with_parent

    # A context of its own, terminated below: term() returns once the report
    # is delivered (or the linger expires), even if this process exits next.
    report_context = zmq.Context()
    report = report_context.socket(zmq.PUSH)
    report.setsockopt(zmq.LINGER, 5000)
    report.connect(config["report_addr"])
    try:
        die_with_parent(config["parent_pid"], use_pdeathsig=config["pdeathsig"])
        _start_logging(config)
        server, app = _start_server(config)
    except BaseException as exc:  # noqa: BLE001 -- any failure must reach the parent
        report.send_string(json.dumps({"error": [
            type(exc).__name__, traceback.format_exception(type(exc), exc, exc.__traceback__)]}))
        report.close()
        report_context.term()
        sys.exit(1)
    report.send_string(json.dumps({"address": server.address, "pid": os.getpid(), "qt": app is not None}))
    report.close()
    report_context.term()
    if app is None:
        server.run_forever()
    else:
        app.exec_()
    sys.stdout.flush()
    sys.stderr.flush()


if __name__ == "__main__":
    main()
