"""Chaos: a recorder writes to a small tmpfs that fills up.

A NumpyDeviceBuffer in NodeGroup 'source' streams a known signal (channel 0 is
the sample's index) over tcp to a recorder in NodeGroup 'recording', whose
directory is on a tmpfs of 1 MiB, and to an InputStream in this process. When
the tmpfs is full, the recorder must report it (``failed``, ``error``, one log
error naming the file and the fix), stop writing, leave files that read back
exactly up to the last whole chunk, and the rest of the graph must keep running.
"""
import errno
import logging
import os
import subprocess
import time

import numpy as np
import pytest
from chunk_log import ChunkLog
from log_collector import Collector
from process_checks import wait_until
from pyacq.core.rpc import RemoteCallException
from pyacq.core.stream import InputStream
from pyacq.rec import open_recording

TMPFS_BYTES = 1 << 20
NB_CHANNEL, SAMPLE_RATE, CHUNK = 16, 10_000.0, 100
#: The device's buffer: channel 0 holds the sample's index (modulo its length), exactly.
BUFFER_SAMPLES = 1 << 18
RECORDERS = ("RawRecorder", "HDF5Recorder")


def _mounted(path):
    with open("/proc/self/mounts") as mounts:
        return any(line.split()[1] == str(path) for line in mounts)


@pytest.fixture
def small_tmpfs(tmp_path):
    """A directory on a tmpfs of TMPFS_BYTES (unmounted afterwards, and checked unmounted)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_BYTES}", "pyacq-chaosio",
                             str(mount_point)], capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.strip()}")
    try:
        yield mount_point
    finally:
        unmounted = subprocess.run(["umount", str(mount_point)], capture_output=True, text=True,
                                   timeout=30, check=False)
        if unmounted.returncode != 0:
            # Still busy: detach it anyway, so that no mount outlives the test, and fail.
            subprocess.run(["umount", "-l", str(mount_point)], capture_output=True, timeout=30,
                           check=False)
    assert unmounted.returncode == 0, f"the tmpfs was still in use: {unmounted.stderr.strip()}"
    assert not _mounted(mount_point)


@pytest.fixture
def log_records():
    """Records the log server of this process hands to the root logger."""
    collector = Collector()
    logging.getLogger().addHandler(collector)
    yield collector.records
    logging.getLogger().removeHandler(collector)


def _disk_usage(path):
    stat = os.statvfs(path)
    return (stat.f_blocks - stat.f_bfree) * stat.f_frsize


@pytest.mark.timeout(240)
@pytest.mark.parametrize("type_name", RECORDERS)
def test_recorder_on_full_tmpfs_fails_loudly_and_the_graph_keeps_running(
        type_name, small_tmpfs, manager, log_records):
    """Recording 640 kB/s onto a 1 MiB tmpfs (full after ~1.6 s): within 30 s of the start, the
    recorder is 'failed' with a RecordingWriteError (ENOSPC) in ``error``, logged once at ERROR
    naming the file and what to do; its files stop growing; stop() raises that error; close()
    works on the full disk and leaves no partial file; the recording reads back (open_recording)
    holding exactly the known signal up to a whole chunk, as many samples as the error says;
    the InputStream of the same source here keeps receiving without a gap; the device runs on."""
    source = manager.create_nodegroup(name="source", qt=False)
    recording = manager.create_nodegroup(name="recording", qt=False)
    buffer = np.zeros((BUFFER_SAMPLES, NB_CHANNEL), "float32")
    buffer[:, 0] = np.arange(BUFFER_SAMPLES)
    dev = source.create_node("NumpyDeviceBuffer", name="dev")
    dev.configure(nb_channel=NB_CHANNEL, sample_interval=1.0 / SAMPLE_RATE, chunksize=CHUNK,
                  buffer=buffer)
    dev.output.configure(protocol="tcp", interface="127.0.0.1", transfermode="plaindata")
    dev.initialize()
    dirname = small_tmpfs / "rec"
    rec = recording.create_node(type_name, name="rec")
    rec.configure(streams={"signals": dev.output}, dirname=str(dirname))
    rec.initialize()
    watcher = InputStream(name="watcher")
    watcher.connect(dev.output)
    log = ChunkLog(watcher, BUFFER_SAMPLES)
    log.start()
    try:
        rec.start()
        started = time.monotonic()
        dev.start()
        assert wait_until(lambda: rec.error_message() is not None, 60), \
            "the recorder never reported the full disk"
        failed_after = time.monotonic() - started
        assert failed_after < 30, failed_after
        message = rec.error_message()
        assert rec.failed() is True and rec.running() is False
        assert f"RecordingWriteError: [Errno {errno.ENOSPC}]" in message
        assert "'signals'" in message and str(dirname) in message
        assert "No space left on device" in message
        assert "free space" in message and "new directory" in message

        def errors_logged():
            """The ERROR records naming the file and the fix (in the message or its traceback)."""
            texts = [logging.Formatter().format(r) for r in list(log_records) if r.levelname == "ERROR"]
            return [text for text in texts if str(dirname) in text and "free space" in text]
        assert wait_until(lambda: errors_logged(), 10), [r.getMessage() for r in log_records]
        size = _disk_usage(small_tmpfs)
        chunks_at_failure = len(log.chunks)
        assert wait_until(lambda: len(log.chunks) >= chunks_at_failure + 100, 30), \
            "the other input of the source stopped receiving"
        assert _disk_usage(small_tmpfs) == size, "the recorder kept writing after its failure"
        assert dev.running() is True
        with pytest.raises(RemoteCallException, match="RecordingWriteError"):
            rec.stop()
        rec.close()
        assert len(errors_logged()) == 1, errors_logged()
        assert not list(dirname.glob("*.tmp")), "a refused write left a partial file"
        dev.stop()
    finally:
        log.finish()
        watcher.close()
    assert log.wrong_data == [] and watcher.gap_count == 0 and watcher.lost_samples == 0
    with open_recording(dirname) as recorded:
        stream = recorded["signals"]
        data = np.array(stream.data[:])  # a copy: a view would keep the file mapped
        start = stream.description["start_index"]
        assert stream.gaps == []
    assert len(data) > 0 and len(data) % CHUNK == 0 and start % CHUNK == 0
    assert f" {len(data)} samples of this stream are on disk" in message
    np.testing.assert_array_equal(data[:, 0], np.arange(start, start + len(data)) % BUFFER_SAMPLES)
    print(f"\n[disk full {type_name}] tmpfs {TMPFS_BYTES} bytes: {len(data)} samples "
          f"({data.nbytes} bytes of samples) recorded, disk use {size} bytes, failure reported "
          f"{failed_after:.2f} s after the start; the watcher received "
          f"{len(log.chunks) * CHUNK} samples without a gap")
