"""The parameters of a stream: defaults, validation and their serialisable form.

``OutputStream.params`` is built here from, in increasing priority, the
defaults below, the sender's options, the keywords given to ``configure()``
and the node's ``spec``. Every value ends up as str, int, float, bool, None,
list or dict so the dict crosses RPC unchanged.
"""
import difflib

import numpy as np

from pyacq.core.validation import check_number

from .compression import compression_methods
from .errors import StreamSpecError
from .publisher import protocols
from .streamdtype import dtype_from_params, dtype_to_params

streamtypes = ("analogsignal", "digitalsignal", "event", "image/video")

STREAM_DEFAULTS = {
    "protocol": "tcp",
    "interface": "127.0.0.1",
    "port": "*",
    "transfermode": "plaindata",
    "streamtype": "analogsignal",
    "dtype": "float32",
    "shape": None,
    "compression": "",
    "scale": None,
    "offset": None,
    "units": "",
    "sample_rate": None,
}


def normalize_shape(shape):
    """Return ``shape`` as a list of ints; only the first (time) axis may be -1."""
    if shape is None:
        return None
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        dims = [int(n) for n in shape]
    except (TypeError, ValueError):
        raise StreamSpecError(f"shape must be a sequence of ints, got {shape!r}") from None
    if not dims:
        raise StreamSpecError("shape needs at least the time axis, e.g. (-1,)")
    if dims[0] < -1 or any(n < 0 for n in dims[1:]):
        raise StreamSpecError(
            f"shape {tuple(shape)}: dimensions must be >= 0, except the time axis which "
            "may be -1 (variable chunk length)"
        )
    return dims


def _choice(key, value, choices):
    if value not in choices:
        raise StreamSpecError(f"unknown {key} {value!r}; choose one of {list(choices)}")
    return value


def normalize(key, value):
    """Return the canonical serialisable form of parameter ``key``, validating it."""
    if key == "dtype":
        return dtype_to_params(value)
    if key == "shape":
        return normalize_shape(value)
    if key == "protocol":
        return _choice(key, value, protocols)
    if key == "streamtype":
        return _choice(key, value, streamtypes)
    if key == "compression":
        return _choice(key, "" if value is None else value, compression_methods)
    if key in ("scale", "offset"):
        return check_number(None, key, value, none_allowed=True, error=StreamSpecError)
    if key == "sample_rate":
        return check_number(None, key, value, above=0, none_allowed=True, error=StreamSpecError)
    if key == "units":
        return "" if value is None else str(value)
    if key == "axisorder":
        return None if value is None else [int(a) for a in value]
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


#: How close (difflib ratio) an unknown keyword must be to a known one to be taken for a
#: misspelling of it: 'transfertmode' or 'sample_rates' are, 'nb_channel' is not.
NEAR_MISS_CUTOFF = 0.85


def extra_value(key, value, describe):
    """The serialisable form of an extra ``configure()`` keyword's value.

    Params cross RPC and reach readers in other processes, so extra values must be
    plain data: numbers, text, None, and lists, tuples or str-keyed dicts of them
    (numpy scalars and arrays become Python numbers and lists).
    """
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, (list, tuple)):
        return [extra_value(key, item, describe) for item in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: extra_value(key, item, describe) for k, item in value.items()}
    raise StreamSpecError(
        f"{describe}: configure({key}=...) got {type(value).__name__} {value!r}; extra "
        "parameters are kept in params and sent to readers, so they must be numbers, "
        "text, None, or lists and str-keyed dicts of them"
    )


def same_value(key, a, b):
    """True if two spellings of parameter ``key`` mean the same thing."""
    if key == "dtype":
        return dtype_from_params(a) == dtype_from_params(b)
    return normalize(key, a) == normalize(key, b)


def build_params(spec, kwargs, sender_options, all_sender_options, describe,
                 spec_origin="the node's spec"):
    """Merge defaults < sender options < ``kwargs`` < ``spec`` into normalised params.

    A keyword that contradicts the spec is refused. A keyword that neither the
    stream nor any transfer mode knows is kept in the params, where connected
    InputStreams and nodes read it (``nb_channel=16``, as pyacq 2.0 allowed), unless
    it looks like a misspelt known one (``transfertmode``), which is refused with
    the suggestion; options of another transfer mode are accepted, so one call can
    try several modes. ``describe`` names the stream and ``spec_origin`` what
    fixed the spec, in errors.
    """
    known = set(STREAM_DEFAULTS) | set(all_sender_options)
    for key in sorted(set(kwargs) - known):
        near = difflib.get_close_matches(key, known, n=1, cutoff=NEAR_MISS_CUTOFF)
        if near:
            raise TypeError(
                f"{describe}: configure() got the unknown parameter {key!r}; did you mean "
                f"{near[0]!r}? (other keywords are kept in params for the readers)"
            )
        kwargs = {**kwargs, key: extra_value(key, kwargs[key], describe)}
    for key, value in kwargs.items():
        if key in spec and not same_value(key, spec[key], value):
            raise StreamSpecError(
                f"{describe}: configure({key}={value!r}) contradicts {spec_origin}, which "
                f"fixes {key}={spec[key]!r}; leave {key} out of configure()"
            )
    params = {**STREAM_DEFAULTS, **sender_options, **kwargs, **spec}
    return {key: normalize(key, value) for key, value in params.items()}
