"""Printing log records in an application that configured no logging.

A library must not add handlers to the application's loggers: a handler on the
root logger prints every record a second time once the application calls
``logging.basicConfig``, and makes a later ``basicConfig`` do nothing. Python
has a place for the output of last resort instead, ``logging.lastResort``,
used only while no handler at all would take a record.
"""
import logging

from .handler import RPCLogHandler


def print_records_by_default():
    """Print records nobody handles through an RPCLogHandler (host, process, thread, time order).

    Records reach it only while the application has configured no handler;
    once it does (before or after this call), its own handlers print each
    record, once. An application that set ``logging.lastResort = None`` keeps
    that choice.
    """
    if logging.lastResort is not None and not isinstance(logging.lastResort, RPCLogHandler):
        logging.lastResort = RPCLogHandler()
