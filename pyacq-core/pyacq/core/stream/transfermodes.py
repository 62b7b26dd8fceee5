"""Registry of transfer modes: name -> (sender class, receiver class).

A sender is built as ``Sender(socket, params)`` on the output's publishing
socket; it declares its extra configure() keywords and their defaults in
``Sender.options``, may add entries to ``params`` (what readers need), and
provides ``send(index, data)``, ``reset_index()``, ``close()`` and an
``epoch`` counter bumped by ``reset_index``. A receiver is built as
``Receiver(socket, params)`` and provides ``recv() -> (index, epoch,
n_samples, data or None)``, ``read(start, stop)`` when ``recv`` gives no data,
``returns_data``, ``buffer`` (a RingBuffer or None) and ``close()``.
"""
from .errors import StreamSpecError
from .plaindatastream import PlainDataReceiver, PlainDataSender
from .sharedmemstream import SharedMemReceiver, SharedMemSender

all_transfermodes = {}


def register_transfermode(name, sender_class, receiver_class):
    """Make ``transfermode=name`` available to every OutputStream / InputStream."""
    all_transfermodes[name] = (sender_class, receiver_class)


def get_transfermode(name):
    """Return ``(sender_class, receiver_class)`` for ``name``."""
    try:
        return all_transfermodes[name]
    except (KeyError, TypeError):
        raise StreamSpecError(
            f"unknown transfermode {name!r}; choose one of {sorted(all_transfermodes)}"
        ) from None


register_transfermode("plaindata", PlainDataSender, PlainDataReceiver)
register_transfermode("sharedmem", SharedMemSender, SharedMemReceiver)
