"""ProcessingNode: a chunk its handler cannot process is a counted loss, not a failure."""
import logging

import numpy as np
from pyacq.dsp.processingnode import ProcessingNode


class Inverter(ProcessingNode):
    """Sends -x for each chunk x; refuses (raises on) chunks holding NaN."""

    _input_specs = {"signals": dict()}
    _output_specs = {"signals": dict()}
    _output_follows = {"signals": ("signals",)}
    _chunk_handlers = {"signals": "_process_signals"}

    def update_output_specs(self):
        params = self.inputs["signals"].params
        if params.get("shape") is not None:
            self.forward_signal_params("signals", params)

    def _process_signals(self, index, data, lost):
        if np.isnan(data).any():
            raise ValueError("NaN in the chunk")
        self.output.send(-data, index=index)


def test_a_chunk_that_fails_is_counted_and_the_node_goes_on(source, make_sink, closing, wait, caplog):
    """A handler exception loses its chunk only: it is logged once naming the node, the input and
    the chunk's index, processing_error_count (and its former name processing_errors) counts it,
    the node stays running with node.error None, and the next chunks are processed."""
    output = source.configure(dtype="float32", shape=(-1, 2), sample_rate=100.0)
    node = Inverter(name="inv")
    closing(node)
    node.configure()
    node.input.connect(output)
    node.output.configure(protocol="inproc", transfermode="plaindata")
    node.initialize()
    sink = make_sink(node.output)
    node.start()
    chunk = np.ones((10, 2), dtype="float32")
    with caplog.at_level(logging.ERROR, logger="pyacq.dsp.processingnode"):
        output.send(chunk, index=10)
        output.send(np.full((10, 2), np.nan, dtype="float32"), index=20)
        output.send(2 * chunk, index=30)
        wait(lambda: node.processed_until["signals"] == 30)
    assert node.processing_error_count == 1 and node.processing_errors == 1
    assert node.running() and not node.failed() and node.error is None
    records = [r for r in caplog.records if r.name == "pyacq.dsp.processingnode"]
    assert len(records) == 1 and records[0].exc_info is not None
    assert records[0].getMessage() == ("Inverter node 'inv': error while processing the chunk of input "
                                       "'signals' ending at index 20 (1 errors so far)")
    data = sink.receive_samples(20)
    np.testing.assert_array_equal(data, np.concatenate([-chunk, -2 * chunk]))
    assert sink.indexes == [10, 30]
    node.stop()
