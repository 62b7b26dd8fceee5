"""`pyacq demo`: the README's demo runs and loses nothing."""
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("transfermode", ["plaindata", "sharedmem"])
def test_demo_streams_every_sample(transfermode):
    """The demo prints a line a second and ends with every sample received, no gap."""
    pyacq = Path(sys.executable).with_name("pyacq")
    result = subprocess.run([str(pyacq), "demo", "--duration", "2", "--transfermode", transfermode],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("simulated_eeg: 8 channels at 1000 Hz")
    assert sum(line.startswith("t=") for line in lines) >= 1
    done = re.match(r"done: (\d+) samples received, 0 gaps, 0 samples lost", lines[-1])
    assert done and int(done.group(1)) >= 1000, lines[-1]
