"""Read fixed-size HID input reports from a hidraw path or a hidapi device, in batches.

The Emotiv node reads through this layer; so does anything fed by the Emotiv
simulator, which writes reports into a FIFO (read like a hidraw node) or
serves them through the hidapi ``device`` interface. ``read(timeout)`` returns
the bytes of zero or more whole reports, without any report-id prefix.
"""
import os
import select
import stat

#: Most bytes one read of a hidraw node returns (a report, or a report id + report).
_MAX_READ = 4096


def _strip_report_id(chunk, report_size):
    """Drop the report-id byte hidapi (and hidraw, for numbered reports) may put before a report."""
    if len(chunk) == report_size + 1:
        return chunk[1:]
    return chunk


class HidrawReports:
    """Reports from a ``/dev/hidrawN`` path (or a FIFO carrying reports back to back).

    A hidraw read returns exactly one report; a FIFO may return several at
    once, or a part of one: bytes are kept until a whole report is there.
    """

    def __init__(self, path, report_size):
        self.path = path
        self.report_size = report_size
        mode = os.stat(path).st_mode
        # A FIFO opened read-only reads end-of-file whenever no writer is attached;
        # holding the write end too makes it wait for data like a device node.
        self._is_fifo = stat.S_ISFIFO(mode)
        flags = os.O_RDWR if self._is_fifo else os.O_RDONLY
        self.fd = os.open(path, flags | os.O_NONBLOCK)
        self._pending = b""

    def read(self, timeout):
        """Whole reports available within ``timeout`` seconds (b'' if none)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return b""
        chunks = []
        while True:
            try:
                chunk = os.read(self.fd, _MAX_READ)
            except BlockingIOError:
                break
            if not chunk:
                raise OSError(f"{self.path}: the device was disconnected")
            chunks.append(chunk if self._is_fifo else _strip_report_id(chunk, self.report_size))
        data = self._pending + b"".join(chunks)
        usable = len(data) - len(data) % self.report_size
        self._pending = data[usable:]
        return data[:usable]

    def close(self):
        """Close the device node (or FIFO) opened at creation; calling it again does nothing."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            os.close(fd)


class HidapiReports:
    """Reports from an opened hidapi device (``hid.device()``, or anything with its ``read``)."""

    def __init__(self, device, report_size):
        self.device = device
        self.report_size = report_size

    def read(self, timeout):
        """Whole reports available within ``timeout`` seconds (b'' if none)."""
        reports = []
        wait_ms = max(1, int(timeout * 1000))
        while len(reports) < 256:
            report = self.device.read(self.report_size + 1, wait_ms)
            if not report:
                break
            reports.append(_strip_report_id(bytes(report), self.report_size))
            wait_ms = 1
        return b"".join(reports)

    def close(self):
        """Close the hidapi device this reader was given."""
        self.device.close()
