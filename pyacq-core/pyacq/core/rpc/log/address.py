"""The log server of this process and the address its records are sent to."""
from .sender import LogSender
from .server import LogServer

_state = {"server": None, "sender": None, "address": None}


def start_log_server(logger):
    """Start the process-wide LogServer, handing received records to *logger*.

    Its address is then returned by ``get_logger_address()``; a remote process
    passes it to ``set_logger_address()`` (ProcessSpawner does this for you).
    """
    if _state["server"] is None:
        server = LogServer(logger)
        server.start()
        _state["server"] = server
    return _state["server"]


def set_logger_address(addr):
    """Send every record of this process (root logger) to the LogServer at *addr*."""
    sender = _state["sender"]
    if sender is None:
        sender = _state["sender"] = LogSender(addr, logger="")
    else:
        sender.connect(addr)
    _state["address"] = addr


def get_logger_address():
    """Return this process's LogServer address, else the last ``set_logger_address``."""
    if _state["server"] is not None:
        return _state["server"].address
    return _state["address"]
