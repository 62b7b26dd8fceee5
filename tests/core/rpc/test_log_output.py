"""What pyacq's logging prints: each record once, colour only on a terminal, routine events quiet."""
import io
import logging
import re

import numpy as np
from log_collector import Collector
from process_checks import wait_until
from pyacq.core.rpc.log import LogServer, RPCLogHandler
from pyacq.core.stream import InputStream, OutputStream


class Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self):
        return True


def _written(stream, *records):
    handler = RPCLogHandler(stream)
    for record in records:
        handler.handle(record)
    handler.close()
    return stream.getvalue()


def _record(msg, levelno=logging.ERROR):
    return logging.makeLogRecord({"name": "pyacq.test", "msg": msg, "levelno": levelno, "levelname": logging.getLevelName(levelno),
                                  "hostname": "hostA", "process_name": "procB", "thread_name": "thrC"})


def test_rpc_log_handler_colours_only_a_terminal():
    """RPCLogHandler colours source names and levels on a terminal; written to a file or a
    pipe (a stream whose isatty() is False) the same line is plain text."""
    coloured = _written(Terminal(), _record("on a terminal"))
    plain = _written(io.StringIO(), _record("in a file"))
    assert "\x1b[" in coloured
    assert re.sub("\x1b\\[[0-9]+m", "", coloured).startswith("[hostA procB thrC] ")
    assert "\x1b" not in plain
    assert plain.startswith("[hostA procB thrC] ") and plain.rstrip().endswith("ERROR pyacq.test: in a file")


SCRIPT = """
import logging, sys
import pyacq
if sys.argv[1] == "before":
    logging.basicConfig(level=logging.INFO, format="BASIC %(levelname)s %(name)s: %(message)s")
manager = pyacq.create_manager(auto_close_at_exit=False)
if sys.argv[1] == "after":
    logging.basicConfig(level=logging.INFO, format="BASIC %(levelname)s %(name)s: %(message)s")
logging.getLogger("pyacq.test").info("marker record")
manager.close()
"""


def test_records_print_once_under_basic_config(run_python):
    """With logging.basicConfig(level=INFO), called before or after create_manager(), a pyacq
    record is printed once, by the application's handler (its format, its level)."""
    for order in ("before", "after"):
        result = run_python(SCRIPT.replace("sys.argv[1]", repr(order)), timeout=120)
        lines = [line for line in result.stderr.splitlines() if "marker record" in line]
        assert lines == ["BASIC INFO pyacq.test: marker record"], (order, result.stderr)


def test_records_print_without_logging_configured(run_python):
    """An application that configured no logging still sees warnings, through pyacq's
    RPCLogHandler (source names first), once."""
    result = run_python("""
        import logging
        import pyacq
        manager = pyacq.create_manager(auto_close_at_exit=False)
        logging.getLogger("pyacq.test").warning("unconfigured marker")
        manager.close()
        logging.shutdown()
    """, timeout=120)
    lines = [line for line in result.stderr.splitlines() if "unconfigured marker" in line]
    assert len(lines) == 1 and lines[0].startswith("["), result.stderr
    assert lines[0].endswith("WARNING pyacq.test: unconfigured marker") and "\x1b" not in lines[0]


def test_uncaught_thread_exception_reaches_the_log_server_once(spawn):
    """A child's uncaught exception in a thread is one 'pyacq.uncaught' record with its
    traceback; the same traceback does not come again as 'stderr' lines."""
    logger = logging.getLogger("test-log-output-server")
    logger.propagate = False
    collector = Collector()
    logger.addHandler(collector)
    server = LogServer(logger)
    server.start()
    try:
        proc = spawn(name="crashing-child", log_addr=server.address, log_level=logging.INFO)
        helpers = proc.client._import("rpc_test_helpers")
        helpers.crash_in_thread("plugh")
        helpers.log_and_print("after the crash")
        # One socket per process carries its records in order: once the later record is
        # here, anything the crash printed to stderr is here too.
        assert wait_until(lambda: any(r.getMessage() == "logged: after the crash"
                                      for r in list(collector.records)), timeout=20)
    finally:
        server.stop()
        logger.removeHandler(collector)
    crashes = [r for r in collector.records if r.name == "pyacq.uncaught"]
    assert len(crashes) == 1 and "uncaught: plugh" in crashes[0].exc_text
    echoed = [r.getMessage() for r in collector.records
              if r.name == "stderr" and ("plugh" in r.getMessage() or "Traceback" in r.getMessage())]
    assert echoed == []


def test_output_restart_is_logged_at_debug(caplog):
    """A reader seeing its output restart at index 0 (every stop/start of a source) logs it
    at DEBUG, not at INFO."""
    out, inp = OutputStream(), InputStream(name="restart-probe")
    try:
        out.configure(protocol="inproc", shape=(-1, 1))
        inp.connect(out)
        with caplog.at_level(logging.DEBUG, logger="pyacq.core.stream.inputstream"):
            out.send(np.ones((4, 1), "float32"))
            out.reset_buffer_index()
            out.send(np.ones((2, 1), "float32"))
            for _ in range(2):
                assert inp.poll(10000)
                inp.recv()
        assert inp.restart_count == 1
        restarts = [r for r in caplog.records if "restarted at index 0" in r.getMessage()]
        assert [r.levelno for r in restarts] == [logging.DEBUG]
    finally:
        inp.close()
        out.close()
