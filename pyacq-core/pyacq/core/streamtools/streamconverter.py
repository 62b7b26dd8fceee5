"""StreamConverter: re-emit a stream with another configuration (e.g. sharedmem -> tcp)."""
from .streamrelay import StreamRelay


class StreamConverter(StreamRelay):
    """Forwards every chunk of input ``'in'`` to output ``'out'``, index unchanged.

    Its ``configure()`` takes no keyword: the output inherits the input's dtype,
    shape and metadata, and its transport is what ``output.configure()`` is
    given::

        conv = StreamConverter()
        conv.configure()
        conv.input.connect(outstream)
        conv.output.configure(protocol='tcp', transfermode='plaindata')
        conv.initialize()
    """

    _output_specs = {"out": {}}

    def process_chunk(self, index, data):
        """Forward the chunk unchanged, at the input's index."""
        self.output.send(data, index=index)
