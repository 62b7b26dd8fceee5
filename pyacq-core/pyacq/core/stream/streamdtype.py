"""One serialisable spelling of a numpy dtype, so stream parameters cross RPC.

``float``, ``'float32'`` and ``np.dtype('<f4')`` all describe the same stream;
``OutputStream.params`` stores the dtype in the single form produced by
:func:`dtype_to_params`, made of str, int, list and dict only. ``np.dtype()``
accepts that form directly, and :func:`dtype_from_params` restores it exactly
(field offsets and padding included).
"""
import numpy as np


def dtype_to_params(dtype):
    """Return the canonical, JSON-serialisable description of ``dtype``.

    Plain dtypes become their explicit-byte-order string (``'<f4'``);
    structured dtypes become ``{'names', 'formats', 'offsets', 'itemsize'}``;
    sub-array fields become strings such as ``'(3,)<f4'``.
    """
    dtype = np.dtype(dtype)
    if dtype.hasobject:
        raise TypeError(f"dtype {dtype} holds Python objects, which cannot be streamed")
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        if base.names is not None:
            raise TypeError(f"dtype {dtype}: sub-arrays of structured dtypes are not supported")
        return f"{shape}{base.str}"
    if dtype.names is None:
        return dtype.str
    fields = [dtype.fields[name] for name in dtype.names]
    return {
        "names": list(dtype.names),
        "formats": [dtype_to_params(field[0]) for field in fields],
        "offsets": [field[1] for field in fields],
        "itemsize": dtype.itemsize,
    }


def dtype_from_params(value):
    """Return the numpy dtype described by ``value`` (any form ``np.dtype`` accepts)."""
    try:
        return np.dtype(value)
    except TypeError as exc:
        raise TypeError(f"{value!r} does not describe a numpy dtype: {exc}") from None
