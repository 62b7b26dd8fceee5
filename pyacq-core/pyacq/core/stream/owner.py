"""What a stream needs of the node that owns it.

Streams sit below nodes: they are told of their owner, never import it. A
:class:`~pyacq.core.node.Node` satisfies both protocols; a stream made without
a node (``OutputStream()`` in a script) has no owner. An owner may also have a
``_describe()`` method returning how errors should name it (see
:func:`describe_stream`).
"""
from typing import Any, Protocol


class OutputOwner(Protocol):
    """The owner of an OutputStream: told once the stream is configured."""

    def after_output_configure(self, outputname: str) -> None:
        """The output ``outputname`` is configured (its params exist)."""


class InputOwner(Protocol):
    """The owner of an InputStream: told once the stream is connected."""

    def _input_connected(self, inputname: str) -> None:
        """The input ``inputname`` is connected (its params are known)."""


def describe_stream(kind: str, name: str | None, owner: Any) -> str:
    """How errors name a stream: its *kind* and *name*, then its owner if that describes itself.

    Parameters
    ----------
    kind : str
        ``"OutputStream"`` or ``"InputStream"``.
    name : str or None
        The stream's name; None or an empty name is left out.
    owner : object or None
        The stream's node; named through its ``_describe()``, if it has one.

    Returns
    -------
    str
        For example ``"InputStream 'signals' of SosFilter node 'filter'"``: one text for both
        kinds of stream, so that an error reads the same whichever side raised it.
    """
    describe_owner = getattr(owner, "_describe", None)
    of_owner = f" of {describe_owner()}" if describe_owner is not None else ""
    return f"{kind} {name!r}{of_owner}" if name else f"{kind}{of_owner}"
