"""Live parameters of real trigger nodes: every way of changing them is checked."""
import pytest
from pyacq.dsp import AnalogTrigger, TriggerAccumulator


@pytest.fixture
def trigger(closing):
    node = AnalogTrigger(name="trig")
    closing(node)
    node.configure()
    return node


@pytest.fixture
def accumulator(closing):
    node = TriggerAccumulator(name="acc")
    closing(node)
    node.configure()
    return node


def test_in_place_union_is_checked(trigger):
    """``params |= {...}`` refuses an invalid value and an unknown key as ``params[key] = value``
    does, storing nothing; a valid union changes the values and keeps the LiveParams object."""
    params = trigger.params
    before = dict(params)
    with pytest.raises(ValueError, match="trig.*front must be"):
        params |= {"threshold": 2.0, "front": "up"}
    with pytest.raises(KeyError, match="trig.*unknown parameter 'thresold'"):
        params |= {"thresold": 1.0}
    assert dict(trigger.params) == before
    params |= {"threshold": 2.0, "front": "-"}
    assert params is trigger.params
    assert trigger.params["threshold"] == 2.0 and trigger.params["front"] == "-"


def test_update_is_all_or_nothing(trigger):
    """A refused value in ``update()`` leaves every parameter as it was, the ones given
    before it included; an unknown key does the same."""
    before = dict(trigger.params)
    with pytest.raises(ValueError, match="trig.*debounce_mode must be one of"):
        trigger.params.update(threshold=2.0, front="-", debounce_mode="sometimes")
    with pytest.raises(KeyError, match="unknown parameter 'thresold'"):
        trigger.params.update({"threshold": 2.0}, thresold=1.0)
    assert dict(trigger.params) == before


def test_update_checks_the_values_together(accumulator):
    """``update()`` checks the new set as a whole: moving both sweeps past the current
    right_sweep is accepted in one call, and one sweep pair that does not fit is refused
    without changing anything."""
    accumulator.params.update(left_sweep=0.3, right_sweep=0.6)
    assert (accumulator.params["left_sweep"], accumulator.params["right_sweep"]) == (0.3, 0.6)
    with pytest.raises(ValueError, match="left_sweep \\(0.7\\) must be before right_sweep \\(0.65\\)"):
        accumulator.params.update(left_sweep=0.7, right_sweep=0.65, stack_size=3)
    assert dict(accumulator.params) == dict(left_sweep=0.3, right_sweep=0.6, stack_size=10)


def test_keys_are_fixed(trigger):
    """The processing thread reads every parameter for every chunk, so none can be removed
    or added: ``del``, ``pop``, ``popitem``, ``clear`` refuse with TypeError, and
    ``setdefault`` returns a parameter's value but refuses a new key; the set is unchanged."""
    params = trigger.params
    before = dict(params)
    with pytest.raises(TypeError, match="trig.*cannot be deleted"):
        del params["threshold"]
    with pytest.raises(TypeError, match="trig.*cannot be removed"):
        params.pop("threshold")
    with pytest.raises(TypeError, match="trig.*cannot be removed"):
        params.popitem()
    with pytest.raises(TypeError, match="trig.*cannot be removed"):
        params.clear()
    assert params.setdefault("threshold", 5.0) == before["threshold"]
    with pytest.raises(KeyError, match="trig.*unknown parameter 'gain'"):
        params.setdefault("gain", 1.0)
    assert dict(params) == before
