"""The parameters of a stream: defaults, validation and their serialisable form.

``OutputStream.params`` is built here from, in increasing priority, the
defaults below, the sender's options, the keywords given to ``configure()``
and the node's ``spec``. Every value ends up as str, int, float, bool, None,
list or dict so the dict crosses RPC unchanged.
"""
import numbers

import numpy as np

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


def _optional_number(key, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise StreamSpecError(f"{key} must be a number or None, got {value!r}")
    return float(value)


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
        return _optional_number(key, value)
    if key == "sample_rate":
        rate = _optional_number(key, value)
        if rate is not None and rate <= 0:
            raise StreamSpecError(f"sample_rate must be positive, got {value!r}")
        return rate
    if key == "units":
        return "" if value is None else str(value)
    if key == "axisorder":
        return None if value is None else [int(a) for a in value]
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def same_value(key, a, b):
    """True if two spellings of parameter ``key`` mean the same thing."""
    if key == "dtype":
        return dtype_from_params(a) == dtype_from_params(b)
    return normalize(key, a) == normalize(key, b)


def build_params(spec, kwargs, sender_options, all_sender_options, describe,
                 spec_origin="the node's spec"):
    """Merge defaults < sender options < ``kwargs`` < ``spec`` into normalised params.

    A keyword that contradicts the spec, or that neither the stream nor any
    transfer mode knows, is refused (options of another transfer mode are
    accepted, so one call can try several modes); ``describe`` names the
    stream and ``spec_origin`` what fixed the spec, in errors.
    """
    known = set(STREAM_DEFAULTS) | set(all_sender_options)
    unknown = sorted(set(kwargs) - known)
    if unknown:
        raise TypeError(
            f"{describe}: configure() got unknown parameters {unknown}; known "
            f"parameters are {sorted(known)}"
        )
    for key, value in kwargs.items():
        if key in spec and not same_value(key, spec[key], value):
            raise StreamSpecError(
                f"{describe}: configure({key}={value!r}) contradicts {spec_origin}, which "
                f"fixes {key}={spec[key]!r}; leave {key} out of configure()"
            )
    params = {**STREAM_DEFAULTS, **sender_options, **kwargs, **spec}
    return {key: normalize(key, value) for key, value in params.items()}
