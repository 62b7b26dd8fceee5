"""SharedMem and SharedArray as pyacq 2.0 scripts use them, opened from another process."""
import json
import subprocess
import sys

import numpy as np
import pytest
from pyacq.core.stream.sharedarray import SharedArray

#: Run in a fresh interpreter: open the array by its description, read it, try to write it.
READER = """
import json, sys
from pyacq.core.stream.sharedarray import SharedArray, SharedMem
description = json.loads(sys.argv[1])
array = SharedArray(description["shape"], description["dtype"], shm_id=description["shm_id"])
values = array.to_numpy().tolist()
try:
    array.to_numpy()[0] = -1.0
    refused = False
except ValueError:
    refused = True
memory = SharedMem(None, shm_id=description["shm_id"])
print(json.dumps({"values": values, "refused": refused, "readonly": memory.readonly}))
array.close()
memory.close()
"""


def test_another_process_opens_it_read_only_by_default():
    """A process opening a SharedArray by shm_id reads the writer's values and cannot write
    them (its mapping is read-only unless readonly=False); the writer's values stay intact."""
    array = SharedArray(4)
    try:
        array.to_numpy()[:] = [1.0, 2.0, 3.0, 4.0]
        done = subprocess.run([sys.executable, "-c", READER, json.dumps(array.to_dict())],
                              capture_output=True, text=True, timeout=60, check=True)
        report = json.loads(done.stdout)
        assert report == {"values": [1.0, 2.0, 3.0, 4.0], "refused": True, "readonly": True}
        assert array.to_numpy().tolist() == [1.0, 2.0, 3.0, 4.0]
    finally:
        array.close()


def test_defaults_and_integer_shape():
    """SharedArray() is one float64; an int shape is one axis; to_numpy() is the array."""
    for array, shape in ((SharedArray(), (1,)), (SharedArray(5), (5,)),
                         (SharedArray((2, 3), "int16"), (2, 3))):
        try:
            assert array.to_numpy().shape == shape
            assert array.to_numpy() is array.array
        finally:
            array.close()
    assert SharedArray().dtype == np.float64


def test_explicit_readonly_false_opens_for_writing():
    """readonly=False maps an opened segment writable, for a second writer that wants it."""
    array = SharedArray(2)
    try:
        other = SharedArray(2, shm_id=array.shm.shm_id, readonly=False)
        other.to_numpy()[1] = 7.0
        assert array.to_numpy()[1] == 7.0
        other.close()
        reader = SharedArray(2, shm_id=array.shm.shm_id)
        with pytest.raises(ValueError):
            reader.to_numpy()[0] = 1.0
        reader.close()
    finally:
        array.close()
