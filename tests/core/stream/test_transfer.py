"""Every protocol x transfermode x compression carries every kind of data bit-exactly."""
import itertools

import numpy as np
import pytest
from pyacq.core.stream import InputStream, OutputStream

MODES = [
    ("plaindata", ""),
    ("plaindata", "blosc-blosclz"),
    ("plaindata", "blosc-lz4"),
    ("sharedmem", ""),
]
CHUNK_LENGTHS = [1, 7, 64, 3, 0, 128, 2]


@pytest.mark.parametrize("mode,compression", MODES)
@pytest.mark.parametrize("protocol", ["tcp", "ipc", "inproc"])
def test_chunks_arrive_bit_exact(protocol, mode, compression, data_kind, layouts, streams,
                                assert_same_samples):
    """Chunks of variable length, in C, Fortran (transposed) and strided layouts,
    arrive with the right index, dtype, shape and identical bytes."""
    stream_params, make = data_kind
    out = OutputStream()
    streams(out)
    out.configure(protocol=protocol, transfermode=mode, compression=compression,
                  buffer_size=1024, **stream_params)
    inp = InputStream()
    streams(inp)
    inp.connect(out)

    rng = np.random.default_rng(0)
    sent, index = [], 0
    for n, layout in zip(CHUNK_LENGTHS, itertools.cycle(range(3))):
        chunk = layouts(make(rng, n))[layout]
        index += n
        out.send(chunk)
        sent.append((index, np.ascontiguousarray(chunk)))

    for expected_index, expected in sent:
        assert inp.poll(timeout=10000), "chunk did not arrive within 10 s"
        index, data = inp.recv(return_data=True)
        assert index == expected_index
        assert_same_samples(data, expected)
    assert inp.gap_count == 0
