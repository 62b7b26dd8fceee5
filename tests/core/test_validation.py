"""pyacq.core.validation: the parameter and input checks every distribution's nodes use."""
import math

import numpy as np
import pytest
from pyacq.core import Node, OutputStream
from pyacq.core.stream import StreamSpecError
from pyacq.core.validation import (
    SignalInput,
    channel_names,
    check_int,
    check_number,
    check_signal_input,
    connected_input_params,
    named_channel_info,
)


class Smoother(Node):
    """A node written as the validation module's docstring shows."""

    _input_specs = {"signals": {}}

    def _configure(self, window=8, gain=1.0):
        self.window = check_int(self, "window", window, minimum=1)
        self.gain = check_number(self, "gain", gain, finite=True)

    def check_input_specs(self):
        self.found = check_signal_input(self, "signals", dtype_kinds="f",
                                        kind_description="floating point", streamtypes=("analogsignal",))


@pytest.fixture
def source():
    outputs = []

    def make(**params):
        output = OutputStream(name="source")
        output.configure(protocol="inproc", transfermode="plaindata", **params)
        outputs.append(output)
        return output
    yield make
    for output in outputs:
        output.close()


@pytest.mark.parametrize("value", [True, 2.0, "3", None, 0, -1])
def test_check_int_refuses_what_is_not_an_int_in_bounds(value):
    """A bool (although an int to Python), a float, a str, None or a value below the minimum is
    refused with a message naming the node, the parameter, the bound and the value given."""
    node = Smoother(name="smooth")
    with pytest.raises(ValueError) as info:
        node.configure(window=value)
    assert str(info.value) == f"Smoother node 'smooth': window must be an int >= 1, got {value!r}"
    assert not node.configured()


def test_check_int_accepts_numpy_integers_and_returns_an_int():
    """numpy integers are ints; the value comes back as a Python int."""
    value = check_int("owner", "n", np.int64(5), minimum=0)
    assert value == 5 and type(value) is int


def test_check_int_bounds_none_and_error_class():
    """The message shows both bounds, the setting the maximum comes from, "None or" when None
    is allowed, no prefix without an owner; ``error`` chooses the exception class."""
    with pytest.raises(ValueError, match=r"^node: stack_size must be an int from 1 to max_stack_size=3, "
                                         r"got 4$"):
        check_int("node", "stack_size", 4, minimum=1, maximum=3, maximum_name="max_stack_size")
    with pytest.raises(ValueError, match=r"^channel must be an int <= 7, got 8$"):
        check_int(None, "channel", 8, maximum=7)
    assert check_int(None, "chunksize", None, minimum=1, none_allowed=True) is None
    with pytest.raises(StreamSpecError, match=r"^x: chunksize must be None or an int >= 1, got 0$"):
        check_int("x", "chunksize", 0, minimum=1, none_allowed=True, error=StreamSpecError)


@pytest.mark.parametrize("value, needed", [
    (True, "a number of seconds > 0"), ("1", "a number of seconds > 0"),
    (0, "a number of seconds > 0"), (-0.5, "a number of seconds > 0"),
])
def test_check_number_positive(value, needed):
    """A bool, a str, zero or a negative value is not a positive number of seconds."""
    with pytest.raises(ValueError, match=rf"^n: max_xsize must be {needed}, got {value!r}$"):
        check_number("n", "max_xsize", value, above=0, unit="seconds")


def test_check_number_finite_minimum_and_result():
    """finite refuses infinities and NaN, minimum is inclusive, the result is a float."""
    node = Smoother(name="smooth")
    for value in (math.inf, math.nan):
        with pytest.raises(ValueError, match="gain must be a finite number, got"):
            node.configure(gain=value)
    assert check_number(None, "smoothing", 0, minimum=0) == 0.0
    assert type(check_number(None, "x", np.float32(1.5))) is float
    with pytest.raises(TypeError, match=r"^left must be a finite number of seconds, got 'a'$"):
        check_number(None, "left", "a", finite=True, unit="seconds", error=TypeError)


def test_signal_input_check_through_a_node(source):
    """initialize() of a node using check_signal_input refuses an unconnected input, a wrong
    stream type, dtype, shape or a missing sample rate with the node and the input named, and
    gives the node (params, dtype, nb_channel) of a good input."""
    node = Smoother(name="smooth")
    node.configure()
    with pytest.raises(RuntimeError, match=r"Smoother node 'smooth': input 'signals' is not connected; "
                                           r"connect it \(node.inputs\['signals'\].connect\(output\)\)"):
        node.initialize()
    cases = [
        (dict(streamtype="event", dtype="float32", shape=(-1, 2), sample_rate=10.0), ValueError,
         "needs a stream of type analogsignal, got 'event'"),
        (dict(dtype="int16", shape=(-1, 2), sample_rate=10.0), TypeError,
         "needs floating point samples, got dtype int16"),
        (dict(dtype="float32", shape=(-1, 2, 2), sample_rate=10.0), ValueError,
         r"needs shape \(-1, nb_channel\) \(time, channel\), got \[-1, 2, 2\]"),
        (dict(dtype="float32", shape=(-1, 2)), ValueError,
         "the output it is connected to declares no sample_rate"),
    ]
    for params, error, message in cases:
        node = Smoother(name="smooth")
        node.configure()
        node.input.connect(source(**params))
        with pytest.raises(error, match=f"Smoother node 'smooth': input 'signals'.*{message}"):
            node.initialize()
        node.close()
    node = Smoother(name="smooth")
    node.configure()
    node.input.connect(source(dtype="float64", shape=(-1, 3), sample_rate=100.0))
    node.initialize()
    assert isinstance(node.found, SignalInput)
    assert node.found.dtype == np.float64 and node.found.nb_channel == 3
    assert connected_input_params(node, "signals") is node.found.params
    node.close()


def test_channel_names_fill_what_channel_info_does_not_name():
    """A channel without an entry, without a name or with an empty one is ch<i>; str entries
    are names; without nb_channel every entry of channel_info is named."""
    info = [{"name": "Fz"}, {"units": "uV"}, "Cz", {"name": ""}]
    assert channel_names(info, 6) == ["Fz", "ch1", "Cz", "ch3", "ch4", "ch5"]
    assert channel_names(info) == ["Fz", "ch1", "Cz", "ch3"]
    assert channel_names(None, 2) == ["ch0", "ch1"]


def test_named_channel_info_copies_entries_and_adds_names():
    """Each entry is a new dict keeping its other keys and holding a name."""
    info = [{"name": "Fz", "units": "uV"}, {"resolution": 0.1}]
    named = named_channel_info(info, 3)
    assert named == [{"name": "Fz", "units": "uV"}, {"resolution": 0.1, "name": "ch1"}, {"name": "ch2"}]
    assert named[0] is not info[0]
    assert named_channel_info(["a", "b"], 2) == [{"name": "a"}, {"name": "b"}]
