"""ChannelSplitter: send groups of channels of one stream on separate outputs."""
import numpy as np

from pyacq.core.stream import OutputStream

from .streamrelay import StreamRelay


class ChannelSplitter(StreamRelay):
    """Splits a (time, channel) stream: ``configure(output_channels={name: [channels]})``
    creates one output per name carrying those channels, in that order, with the
    input's indexes. Useful to give each worker of a cluster only its channels.
    """

    _output_specs = {}

    def _configure(self, output_channels=None):
        """Create one output per group of channels.

        Parameters
        ----------
        output_channels : dict of str to list of int, required
            ``{output name: [channel indexes]}``. Each name becomes an output of
            this node (replacing those it had) that carries the input's channels
            at those indexes, in the order given; an index may be negative
            (counted from the last channel) and may appear in several groups.
            Every list must be non-empty and hold integers; leaving the keyword
            out (None) or giving an empty dict is refused. Indexes beyond the
            input's channel count are refused when the input is connected.
        """
        if not isinstance(output_channels, dict) or not output_channels:
            raise ValueError(
                f"{self._describe()}: output_channels must be a non-empty dict "
                "{output name: [channel indexes]}"
            )
        channels = {}
        for name, chans in output_channels.items():
            chans = np.asarray(chans)
            if chans.ndim != 1 or chans.size == 0 or not np.issubdtype(chans.dtype, np.integer):
                raise ValueError(
                    f"{self._describe()}: output {name!r} needs a non-empty list of "
                    f"channel indexes, got {output_channels[name]!r}"
                )
            channels[name] = chans
        for output in self.outputs.values():
            output.close()
        self.channels = channels
        self.outputs = {name: OutputStream(spec={}, node=self, name=name) for name in channels}

    def update_output_spec(self, output):
        """Give ``output`` the input's description, narrowed to its channels.

        Raises
        ------
        ValueError
            The input's samples are not (time, channel), or it lacks a channel the
            output asks for.
        """
        if not self.input.connected:
            return
        shape = self.input.params.get("shape")
        if shape is None or len(shape) != 2:
            raise ValueError(
                f"{self._describe()}: the input must carry (time, channel) samples, "
                f"its shape is {shape!r}"
            )
        chans = self.channels[output.name]
        if chans.max() >= shape[1] or chans.min() < -shape[1]:
            raise ValueError(
                f"{self._describe()}: output {output.name!r} asks for channels "
                f"{chans.tolist()} but the input has {shape[1]}"
            )
        super().update_output_spec(output)
        output.spec["shape"] = [shape[0], len(chans)]

    def process_chunk(self, index, data):
        """Send each output its channels of the chunk, at the input's index."""
        for name, output in self.outputs.items():
            output.send(data[:, self.channels[name]], index=index)
