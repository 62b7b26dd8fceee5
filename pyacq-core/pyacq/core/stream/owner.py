"""What a stream needs of the node that owns it.

Streams sit below nodes: they are told of their owner, never import it. A
:class:`~pyacq.core.node.Node` satisfies both protocols; a stream made without
a node (``OutputStream()`` in a script) has no owner. An owner may also have a
``_describe()`` method returning how errors should name it.
"""
from typing import Protocol


class OutputOwner(Protocol):
    """The owner of an OutputStream: told once the stream is configured."""

    def after_output_configure(self, outputname: str) -> None:
        """The output ``outputname`` is configured (its params exist)."""


class InputOwner(Protocol):
    """The owner of an InputStream: told once the stream is connected."""

    def _input_connected(self, inputname: str) -> None:
        """The input ``inputname`` is connected (its params are known)."""
