"""StreamRelay: common base of the stream tools, nodes that re-emit what they receive.

It owns the polling thread (started with the node, stopped and joined with
it) and turns an output restart on the input side into one on the output
side, so indexes downstream stay consistent.
"""
from pyacq.core.node import Node

from .inputpoller import InputPoller

#: Metadata a relay's outputs inherit from its input.
INHERITED_PARAMS = ("dtype", "shape", "streamtype", "sample_rate", "units", "scale", "offset")

_JOIN_TIMEOUT = 10.0


class StreamRelay(Node):
    """A node whose one input ``'in'`` feeds ``process_chunk(index, data)``, which
    subclasses define, from a background thread while the node runs.

    Chunks read from shared memory are copied first: the upstream writer
    reuses that memory, and the outputs may hold on to what they are given.
    """

    _input_specs = {"in": {}}

    def _followed_inputs(self, outputname):
        """Every output of a relay follows its input ``'in'``."""
        return ("in",)

    def update_output_specs(self):
        """Derive each output's spec from the input with :meth:`update_output_spec`."""
        for output in self.outputs.values():
            self.update_output_spec(output)

    def update_output_spec(self, output):
        """Copy the input's stream description into ``output``'s spec, once the input is connected."""
        if not self.input.connected:
            return
        for key in INHERITED_PARAMS:
            if key in self.input.params:
                output.spec[key] = self.input.params[key]

    def check_input_specs(self):
        """Refuse to initialize while input ``'in'`` is not connected."""
        if not self.input.connected:
            raise RuntimeError(f"{self._describe()}: connect its input before initialize()")

    def _start(self):
        self._restarts = self.input.restart_count
        self._copy_chunks = self.input.params["transfermode"] != "plaindata"
        self._poller = InputPoller(self.input, self._on_chunk, return_data=True,
                                   name=f"{type(self).__name__}-{self.name}")
        self._poller.start()

    def _stop(self):
        self._poller.stop()
        self._poller.join(timeout=_JOIN_TIMEOUT)
        if self._poller.is_alive():
            raise RuntimeError(f"{self._describe()}: polling thread did not stop")
        self.flush("stop")

    def _on_chunk(self, index, data):
        if self.input.restart_count != self._restarts:
            self._restarts = self.input.restart_count
            self.flush("restart")
            for output in self.outputs.values():
                output.reset_buffer_index()
        self.process_chunk(index, data.copy() if self._copy_chunks else data)

    def flush(self, cause):
        """Settle anything held back: *cause* is ``'stop'`` (the node stops) or ``'restart'``
        (the input restarted, so what follows does not continue what came before)."""
