"""Keeping what C libraries write to the process's stderr out of a command's output.

Probing PortAudio makes ALSA and JACK print dozens of lines straight to file
descriptor 2 on a machine without a sound card or sound server: no Python
stream sees them, so only redirecting the descriptor keeps them quiet.
"""
import contextlib
import logging
import os
import sys
import tempfile

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def c_stderr_to_debug_log(what):
    """Within the block, whatever is written to file descriptor 2 is logged at DEBUG instead.

    *what* names the block in that record. Other threads' stderr is captured
    too while the block runs: keep it short (one probe).
    """
    sys.stderr.flush()
    with tempfile.TemporaryFile() as capture:
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode(errors="replace").strip()
            if text:
                logger.debug("%s wrote to stderr:\n%s", what, text)
