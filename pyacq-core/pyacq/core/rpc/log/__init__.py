"""Log forwarding between processes.

Records, uncaught exceptions and stdout/stderr of every process can be sent to
one LogServer, which hands them to a local logger (RPCLogHandler prints them
sorted by time and coloured by source):

1. in the collecting process, ``start_log_server(logger)`` and attach a
   handler (e.g. ``RPCLogHandler()``) to that logger, or let
   ``print_records_by_default()`` print what no handler takes;
2. in each remote process, ``set_process_name(...)`` and
   ``set_logger_address(address)`` (ProcessSpawner does this when given
   ``log_addr``).
"""
from .address import get_logger_address, set_logger_address, start_log_server
from .exceptions import log_exceptions
from .handler import RPCLogHandler
from .last_resort import print_records_by_default
from .names import (
    get_host_name,
    get_process_name,
    get_thread_name,
    set_host_name,
    set_process_name,
    set_thread_name,
)
from .sender import LogSender
from .server import LogServer
from .stdio import capture_stdio

__all__ = [
    "LogSender",
    "LogServer",
    "RPCLogHandler",
    "capture_stdio",
    "get_host_name",
    "get_logger_address",
    "get_process_name",
    "get_thread_name",
    "log_exceptions",
    "print_records_by_default",
    "set_host_name",
    "set_logger_address",
    "set_process_name",
    "set_thread_name",
    "start_log_server",
]
