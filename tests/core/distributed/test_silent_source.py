"""An input whose source process died says so: one log line and a readable state."""
import os
import signal

from process_checks import wait_until
from pyacq.core.inputpoller import InputPoller
from pyacq.core.stream import InputStream


def test_input_of_a_killed_source_reports_it(manager, log_records):
    """A NumpyDeviceBuffer streams from NodeGroup 'source' to an InputStream here; after
    SIGKILL of that group, the input's source_lost becomes True and one warning names the
    input and the source's address."""
    nodegroup = manager.create_nodegroup(name="source", qt=False)
    dev = nodegroup.create_node("NumpyDeviceBuffer")
    dev.configure(nb_channel=2, sample_interval=0.001, chunksize=20)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    receiver = InputStream(name="signals")
    receiver.connect(dev.output)
    url = receiver.params["url"]
    received = []
    poller = InputPoller(receiver, lambda index, data: received.append(index), timeout=50)
    poller.start()
    try:
        dev.start()
        assert wait_until(lambda: received, 10)
        assert not receiver.source_lost
        os.kill(manager.describe_nodegroups()["source"]["pid"], signal.SIGKILL)
        assert wait_until(lambda: receiver.source_lost, 10)

        def warnings():
            return [r for r in log_records if r.levelname == "WARNING" and "went silent" in r.getMessage()]
        assert wait_until(lambda: warnings(), 10)
        assert len(warnings()) == 1
        assert "'signals'" in warnings()[0].getMessage() and url in warnings()[0].getMessage()
    finally:
        poller.stop()
        poller.join(10)
        receiver.close()


def test_node_in_another_nodegroup_reports_its_killed_source(manager, log_records):
    """A StreamConverter in NodeGroup 'consumer' fed from NodeGroup 'producer': after SIGKILL
    of the producer, the converter's input reads source_lost through its proxy, and the
    consumer's warning (naming the node's input and the source's address) reaches this log."""
    producer = manager.create_nodegroup(name="producer", qt=False)
    consumer = manager.create_nodegroup(name="consumer", qt=False)
    consumer.register_node_type_from_module("pyacq.core.streamconverter", "StreamConverter")
    dev = producer.create_node("NumpyDeviceBuffer")
    dev.configure(nb_channel=2, sample_interval=0.001, chunksize=20)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    url = dev.output.params["url"]
    conv = consumer.create_node("StreamConverter", name="conv")
    conv.configure()
    conv.input.connect(dev.output)
    conv.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    conv.initialize()
    manager.start_all()
    assert not conv.input.source_lost
    os.kill(manager.describe_nodegroups()["producer"]["pid"], signal.SIGKILL)
    assert wait_until(lambda: conv.input.source_lost, 10)
    assert wait_until(lambda: any("went silent" in r.getMessage() and url in r.getMessage()
                                  and "conv" in r.getMessage() for r in log_records), 10)
    conv.stop()
