"""Nodes in a spawned NodeGroup in both orders of the documented steps: a node whose output
follows its input gets the input's params whether its output is configured first or last."""
import pytest
from follow_input_cases import ANALOG, CORE_CASES, DSP_CASES, ORDERS, SOS, run_in_nodegroup
from pyacq.core import OutputStream
from pyacq.core.rpc import RemoteCallException


@pytest.mark.parametrize("order", ORDERS)
def test_remote_nodes_follow_their_input_in_both_orders(manager, order):
    """Every stream tool, filter, spike detector and trigger, created by name in a NodeGroup and
    fed over tcp from here, ends initialize() with output params from its input and the
    protocol and transfer mode (plaindata, sharedmem) given to its output; the data a reader
    here receives is right."""
    nodegroup = manager.create_nodegroup(name=f"steps-{order}", qt=False)
    for case in CORE_CASES + DSP_CASES:
        for transfermode in ("plaindata", "sharedmem"):
            run_in_nodegroup(case, order, transfermode, nodegroup)


def test_remote_contradicting_output_setting_is_refused_at_initialize(manager):
    """A remote SosFilter whose output was configured with dtype='float32' before its float64
    input connected refuses initialize(), naming the output, both dtypes and the fix."""
    nodegroup = manager.create_nodegroup(name="steps-conflict", qt=False)
    source = OutputStream(name="source")
    source.configure(protocol="tcp", **ANALOG)
    node = nodegroup.create_node("SosFilter", name="lowpass")
    try:
        node.configure(coefficients=SOS)
        node.output.configure(protocol="tcp", dtype="float32")
        node.input.connect(source)
        with pytest.raises(RemoteCallException) as error:
            node.initialize()
        message = str(error.value)
        for part in ("OutputStream 'signals' of SosFilter node 'lowpass'", "configure(dtype='float32')",
                     "dtype='<f8'", "leave dtype out of configure()"):
            assert part in message
    finally:
        node.close()
        source.close()
