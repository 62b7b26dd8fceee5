"""Checks of node parameters and input streams, for node authors.

A node checks its ``configure()`` arguments in ``_configure`` and its inputs in
``check_input_specs``, so that a wrong value fails at the call that gave it
rather than later inside a worker thread. The functions here make those checks
and raise errors that say which node refused which value, and what it needs::

    from pyacq.core.validation import check_int, check_number, check_signal_input

    class Smoother(Node):
        _input_specs = {"signals": {}}

        def _configure(self, window=8, gain=1.0):
            self.window = check_int(self, "window", window, minimum=1)
            self.gain = check_number(self, "gain", gain, finite=True)

        def check_input_specs(self):
            self.nb_channel = check_signal_input(self, "signals", dtype_kinds="f",
                                                 kind_description="floating point").nb_channel

raises, for ``configure(window=0)``, ``ValueError: Smoother node 'smooth':
window must be an int >= 1, got 0``.

``owner`` is the node (its description, class and name, starts the message),
or a text naming what refuses the value, or None for no prefix. ``error`` is
the exception class raised; each check raises one class whatever is wrong
(ValueError unless said otherwise), so that a caller catching it catches
every refusal.

Channel names follow one convention: a channel without a name in its
stream's ``channel_info`` is called ``ch<i>`` (0-based), see
:func:`channel_names`.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, overload

import numpy as np

#: What refuses a value: a node, a text naming it, or None (no prefix).
Owner = Any
#: A :class:`~pyacq.core.node.Node` (not imported: the streams, below nodes, use this module).
NodeLike = Any


def _prefix(owner: Owner) -> str:
    if owner is None:
        return ""
    describe = getattr(owner, "_describe", None)
    return f"{describe() if describe is not None else owner}: "


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@overload
def check_int(owner: Owner, name: str, value: Any, *, minimum: int | None = ...,
              maximum: int | None = ..., maximum_name: str | None = ...,
              none_allowed: Literal[False] = ..., error: type[Exception] = ...) -> int: ...


@overload
def check_int(owner: Owner, name: str, value: Any, *, minimum: int | None = ...,
              maximum: int | None = ..., maximum_name: str | None = ...,
              none_allowed: bool, error: type[Exception] = ...) -> int | None: ...


def check_int(owner: Owner, name: str, value: Any, *, minimum: int | None = None,
              maximum: int | None = None, maximum_name: str | None = None,
              none_allowed: bool = False, error: type[Exception] = ValueError) -> int | None:
    """Return ``value`` as an int, or raise unless it is an integer within the bounds.

    A bool is refused although Python counts it as an int (``chunksize=True`` is a
    mistake, not 1); numpy integers are accepted.

    Parameters
    ----------
    owner : Node, str or None
        What refuses the value, named first in the message (see the module docstring).
    name : str
        The parameter's name.
    value : object
        The value given.
    minimum, maximum : int, optional
        Inclusive bounds.
    maximum_name : str, optional
        The setting ``maximum`` comes from, shown as ``maximum_name=maximum`` so the
        user knows what to change to go beyond it.
    none_allowed : bool
        Accept None (and return it), for parameters whose None means "choose for me".
    error : type
        The exception class raised.

    Returns
    -------
    int or None

    Raises
    ------
    error
        ``"<owner>: <name> must be an int >= 1, got 0"``, with the bounds that apply.
    """
    if value is None and none_allowed:
        return None
    if _is_int(value) and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return int(value)
    bound = maximum if maximum_name is None else f"{maximum_name}={maximum}"
    if minimum is not None and maximum is not None:
        needed = f"an int from {minimum} to {bound}"
    elif minimum is not None:
        needed = f"an int >= {minimum}"
    elif maximum is not None:
        needed = f"an int <= {bound}"
    else:
        needed = "an int"
    if none_allowed:
        needed = f"None or {needed}"
    raise error(f"{_prefix(owner)}{name} must be {needed}, got {value!r}")


@overload
def check_number(owner: Owner, name: str, value: Any, *, above: float | None = ...,
                 minimum: float | None = ..., finite: bool = ..., unit: str | None = ...,
                 none_allowed: Literal[False] = ..., error: type[Exception] = ...) -> float: ...


@overload
def check_number(owner: Owner, name: str, value: Any, *, above: float | None = ...,
                 minimum: float | None = ..., finite: bool = ..., unit: str | None = ...,
                 none_allowed: bool, error: type[Exception] = ...) -> float | None: ...


def check_number(owner: Owner, name: str, value: Any, *, above: float | None = None,
                 minimum: float | None = None, finite: bool = False, unit: str | None = None,
                 none_allowed: bool = False, error: type[Exception] = ValueError) -> float | None:
    """Return ``value`` as a float, or raise unless it is a real number within the bounds.

    Parameters
    ----------
    owner : Node, str or None
        What refuses the value, named first in the message (see the module docstring).
    name : str
        The parameter's name.
    value : object
        The value given; a bool is refused, ints and numpy scalars are accepted.
    above : float, optional
        Exclusive lower bound (``above=0``: a positive number).
    minimum : float, optional
        Inclusive lower bound.
    finite : bool
        Refuse infinities and NaN.
    unit : str, optional
        Named in the message (``"a number of seconds > 0"``).
    none_allowed : bool
        Accept None (and return it).
    error : type
        The exception class raised.

    Returns
    -------
    float or None

    Raises
    ------
    error
        ``"<owner>: <name> must be a number > 0, got -1"``, with what applies.
    """
    if value is None and none_allowed:
        return None
    if (_is_number(value) and (above is None or value > above)
            and (minimum is None or value >= minimum) and not (finite and not math.isfinite(value))):
        return float(value)
    needed = f"a {'finite ' if finite else ''}number{f' of {unit}' if unit else ''}"
    if above is not None:
        needed += f" > {above}"
    if minimum is not None:
        needed += f" >= {minimum}"
    if none_allowed:
        needed = f"None or {needed}"
    raise error(f"{_prefix(owner)}{name} must be {needed}, got {value!r}")


def connected_input_params(node: NodeLike, input_name: str) -> dict[str, Any]:
    """The params of ``node.inputs[input_name]``, or RuntimeError saying how to connect it.

    Parameters
    ----------
    node : Node
        The node whose input is checked (its ``check_input_specs`` calls this).
    input_name : str
        The input's name.

    Returns
    -------
    dict
        The input's params (those of the output it is connected to).
    """
    if not node.inputs[input_name].connected:
        raise RuntimeError(
            f"{_prefix(node)}input {input_name!r} is not connected; connect it "
            f"(node.inputs[{input_name!r}].connect(output)) before initialize()"
        )
    return node.inputs[input_name].params


class SignalInput(NamedTuple):
    """What :func:`check_signal_input` found in a (time, channel) input."""

    #: The input's params.
    params: dict[str, Any]
    #: The samples' dtype.
    dtype: np.dtype
    #: The channel count (the shape's second axis).
    nb_channel: int


def check_signal_input(node: NodeLike, input_name: str, *, dtype_kinds: str | None = None,
                       kind_description: str | None = None,
                       streamtypes: Sequence[str] | None = None,
                       need_sample_rate: bool = True) -> SignalInput:
    """Check that ``node.inputs[input_name]`` is a connected (time, channel) signal.

    Call it in ``check_input_specs``: ``initialize()`` then refuses an input
    that the node could not read, naming the node, the input and what it needs.

    Parameters
    ----------
    node : Node
        The node whose input is checked.
    input_name : str
        The input's name.
    dtype_kinds : str, optional
        Accepted :attr:`numpy.dtype.kind` letters (``"f"``, ``"iu"``, ...);
        structured dtypes are refused. None: any dtype.
    kind_description : str, optional
        The accepted samples in words, for the TypeError (``"floating point"``).
    streamtypes : sequence of str, optional
        Accepted ``streamtype`` params; None: any.
    need_sample_rate : bool
        Refuse an input whose params declare no ``sample_rate``.

    Returns
    -------
    SignalInput
        ``(params, dtype, nb_channel)``.

    Raises
    ------
    RuntimeError
        The input is not connected.
    TypeError
        The samples' dtype is not one of ``dtype_kinds``.
    ValueError
        The stream type, the shape or the sample rate does not fit.
    """
    params = connected_input_params(node, input_name)
    problem = f"{_prefix(node)}input {input_name!r}"
    if streamtypes is not None and params.get("streamtype") not in streamtypes:
        raise ValueError(f"{problem} needs a stream of type {' or '.join(streamtypes)}, "
                         f"got {params.get('streamtype')!r}")
    dtype = np.dtype(params["dtype"])
    if dtype_kinds is not None and (dtype.kind not in dtype_kinds or dtype.names is not None):
        raise TypeError(f"{problem} needs {kind_description or dtype_kinds} samples, got dtype {dtype}")
    shape = params.get("shape")
    if shape is None or len(shape) != 2:
        raise ValueError(f"{problem} needs shape (-1, nb_channel) (time, channel), got {shape!r}")
    if need_sample_rate and not params.get("sample_rate"):
        raise ValueError(f"{problem}: the output it is connected to declares no sample_rate")
    return SignalInput(params, dtype, int(shape[1]))


def channel_names(channel_info: Sequence[Any] | None, nb_channel: int | None = None) -> list[str]:
    """The name of each channel: from ``channel_info``, ``ch<i>`` for a channel it does not name.

    Parameters
    ----------
    channel_info : list or None
        A stream's ``channel_info``: one entry per channel, a dict with a
        ``"name"`` or the name itself (a str). It may be shorter than the
        channel count, and entries may have no (or an empty) name.
    nb_channel : int, optional
        The channel count; by default the length of ``channel_info``.

    Returns
    -------
    list of str
    """
    entries = list(channel_info or ())
    count = len(entries) if nb_channel is None else int(nb_channel)
    names = []
    for i in range(count):
        entry = entries[i] if i < len(entries) else None
        name = entry.get("name") if isinstance(entry, dict) else entry
        names.append(f"ch{i}" if name is None or name == "" else str(name))
    return names


def named_channel_info(channel_info: Sequence[Any] | None, nb_channel: int) -> list[dict[str, Any]]:
    """``channel_info`` for ``nb_channel`` channels, every entry a new dict holding a ``"name"``.

    Entries of ``channel_info`` (dicts) are copied with their other keys; a
    missing entry or name is filled in as in :func:`channel_names`. Give
    ``channel_info=None`` for a device whose channels have no names of their own.

    Returns
    -------
    list of dict
    """
    entries = list(channel_info or ())
    return [dict(entries[i] if i < len(entries) and isinstance(entries[i], dict) else {}, name=name)
            for i, name in enumerate(channel_names(entries, nb_channel))]
