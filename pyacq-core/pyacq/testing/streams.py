"""Reading what an output sends, in a test."""
import time

import numpy as np

from pyacq.core.stream import InputStream


def read_samples(output, nb_samples, timeout=10.0):
    """Connect a new InputStream to *output* and return the next *nb_samples* samples.

    Connect before starting the node (chunks sent before the connection are not
    received); the input is closed before returning.

    Parameters
    ----------
    output : OutputStream, ObjectProxy or dict
        The output to read: a local OutputStream, a proxy to a remote one, or its
        ``params``.
    nb_samples : int
        How many samples to read; the chunk that reaches that count is cut.
    timeout : float, default 10.0
        Seconds to wait for them all.

    Returns
    -------
    start : int
        The absolute index of the first sample returned.
    data : numpy.ndarray
        The samples, concatenated along the first (time) axis.

    Raises
    ------
    TimeoutError
        Fewer samples arrived within *timeout*; the message names the stream and
        how many came.
    RuntimeError
        Samples were lost on the way (a gap or an overrun); the message gives the
        counts the input recorded.
    """
    stream = InputStream()
    stream.connect(output)
    chunks, received, start = [], 0, None
    deadline = time.monotonic() + timeout
    try:
        while received < nb_samples:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not stream.poll(timeout=max(1, int(remaining * 1000))):
                raise TimeoutError(f"read_samples(): {received} of {nb_samples} samples arrived "
                                   f"from {stream.params.get('url')} within {timeout} s")
            index, chunk = stream.recv(return_data=True)
            start = index - len(chunk) if start is None else start
            chunks.append(chunk)
            received += len(chunk)
        if stream.gap_count or stream.overrun_count:
            raise RuntimeError(f"read_samples(): samples were lost from "
                               f"{stream.params.get('url')}: {stream.gap_count} gaps "
                               f"({stream.lost_samples} samples), {stream.overrun_count} overruns")
    finally:
        stream.close()
    return start, np.concatenate(chunks)[:nb_samples]
