"""Log forwarding: records, uncaught exceptions, stdout and stderr of spawned processes."""
import io
import logging
import re
import time

import pytest
from log_collector import Collector
from process_checks import wait_until
from pyacq.core.rpc.log import (
    LogSender,
    LogServer,
    RPCLogHandler,
    get_host_name,
    get_process_name,
    get_thread_name,
    set_host_name,
    set_process_name,
    set_thread_name,
)


@pytest.fixture
def log_server():
    logger = logging.getLogger("test-rpc-log-server")
    logger.propagate = False
    collector = Collector()
    logger.addHandler(collector)
    server = LogServer(logger)
    server.start()
    yield server, collector
    server.stop()
    logger.removeHandler(collector)


def test_spawned_process_forwards_logs_stdout_stderr_and_exceptions(spawn, log_server):
    """With log_addr, a child's records, prints, stderr and uncaught errors reach the server."""
    server, collector = log_server
    proc = spawn(name="logging-child", log_addr=server.address, log_level=logging.INFO)
    helpers = proc.client._import("rpc_test_helpers")
    helpers.log_and_print("xyzzy")
    helpers.crash_in_thread("plugh")

    def seen(*parts):
        return any(all(p in m for p in parts) for m in collector.messages())

    assert wait_until(lambda: seen("logged: xyzzy") and seen("printed: xyzzy")
                      and seen("error output: xyzzy") and seen("Unhandled exception"),
                      timeout=20), collector.messages()
    by_message = {r.getMessage(): r for r in collector.records}
    logged = by_message["logged: xyzzy"]
    assert logged.process_name == "logging-child" and logged.levelno == logging.WARNING
    assert logged.name == "helper" and logged.hostname == get_host_name()
    assert by_message["printed: xyzzy"].name == "stdout"
    assert by_message["error output: xyzzy"].name == "stderr"
    crash = next(r for r in collector.records if "Unhandled exception" in r.getMessage())
    assert "uncaught: plugh" in crash.exc_text


def test_log_sender_to_server_in_process(log_server):
    """A LogSender attached to a logger delivers records with their origin and traceback."""
    server, collector = log_server
    sender = LogSender(server.address, logger="test-rpc-sender")
    source = logging.getLogger("test-rpc-sender")
    source.propagate = False
    source.setLevel(logging.DEBUG)
    try:
        try:
            raise KeyError("inner")
        except KeyError:
            source.exception("failed %d", 7)
        assert wait_until(lambda: "failed 7" in collector.messages(), timeout=20)
        record = collector.records[-1]
        assert "KeyError: 'inner'" in record.exc_text
        assert record.process_name == get_process_name()
    finally:
        sender.close()
    assert sender not in source.handlers


def test_log_server_survives_malformed_records(log_server):
    """Garbage sent to a LogServer is dropped; valid records still arrive."""
    import zmq
    server, collector = log_server
    sock = zmq.Context.instance().socket(zmq.PUSH)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(server.address)
    try:
        for junk in [b"\xff\x00", b"[1, 2]", b'{"created": "x", "levelno": "y", "msg": 3}']:
            sock.send(junk)
        sock.send(b'{"msg": "still fine", "levelno": 20, "levelname": "INFO", "created": 1.0}')
        assert wait_until(lambda: "still fine" in collector.messages(), timeout=20)
    finally:
        sock.close()


def test_rpc_log_handler_sorts_and_colours():
    """RPCLogHandler writes records in creation order, with source names and (on a
    terminal) colours."""
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    handler = RPCLogHandler(stream)
    late = logging.makeLogRecord({"msg": "second", "levelno": logging.ERROR,
                                  "levelname": "ERROR", "created": time.time()})
    early = logging.makeLogRecord({"msg": "first", "levelno": logging.INFO,
                                   "levelname": "INFO", "created": late.created - 0.05,
                                   "hostname": "hostA", "process_name": "procB",
                                   "thread_name": "thrC"})
    handler.handle(late)
    handler.handle(early)
    assert wait_until(lambda: "second" in stream.getvalue(), timeout=20)
    handler.close()
    text = stream.getvalue()
    assert text.index("first") < text.index("second")
    assert "\x1b[" in text
    plain = re.sub("\x1b\\[[0-9]+m", "", text)
    assert "[hostA procB thrC]" in plain


def test_names_are_settable():
    """Host, process and thread names used in records can be set and read back."""
    old_host, old_process = get_host_name(), get_process_name()
    try:
        set_host_name("h1")
        set_process_name("p1")
        set_thread_name("t1")
        assert (get_host_name(), get_process_name(), get_thread_name()) == ("h1", "p1", "t1")
    finally:
        set_host_name(old_host)
        set_process_name(old_process)
        set_thread_name(None)


def test_start_log_server_publishes_its_address(child):
    """start_log_server() starts one process-wide server whose address get_logger_address gives."""
    rlog = child.client._import("pyacq.core.rpc.log")
    logger = child.client._import("logging").getLogger("global-test")
    server = rlog.start_log_server(logger)
    assert rlog.start_log_server(logger) == server
    address = rlog.get_logger_address()
    assert address == server.address._get_value() and address.startswith("tcp://127.0.0.1:")
