"""QDigitalOscilloscope: one row per bit of a digital (integer) stream."""
import numpy as np
from pyacq.core.validation import check_signal_input

from .qoscilloscope import QOscilloscope
from .viewerparams import set_channel_values

#: Height of a high bit within its row (rows are 1 apart).
BIT_HEIGHT = 0.8


class QDigitalOscilloscope(QOscilloscope):
    """Continuous view of a digital stream: each bit of each column is a row, 0 low, 1 high.

    The input is an integer stream (time, column), e.g. uint8 or uint16
    ports; bit ``b`` of column ``c`` is trace ``c * bits + b``, named
    ``'<column name>.<b>'``, in ``by_channel_params['Signal<trace>', ...]``.
    Everything else is the :class:`QOscilloscope`: the same ``params``
    (decimation defaults to 'min_max', so a pulse shorter than a pixel still
    shows), gaps drawn as gaps, ``auto_scale()`` back to one row per visible
    bit, first bit on top.
    """

    def check_input_specs(self):
        """Require a (time, column) signal of integers or booleans with a sample rate: its bits are traces."""
        check_signal_input(self, "signals", dtype_kinds="biu",
                           kind_description="digital (integers or booleans)")

    def _trace_layout(self):
        dtype = np.dtype(self.input.params["dtype"])
        bits = 1 if dtype.kind == "b" else dtype.itemsize * 8
        columns = self._stream_channel_names()
        names = [f"{column}.{bit}" for column in columns for bit in range(bits)]
        if dtype.kind == "b":
            return names, _bools_to_float
        little = dtype.newbyteorder("<")
        return names, lambda chunk: _unpack_bits(chunk, little)

    def _global_param_children(self):
        children = QOscilloscope._global_param_children(self)
        for child in children:
            if child["name"] == "ylim_max":
                child["value"] = len(self.trace_names) - 0.5
            elif child["name"] == "ylim_min":
                child["value"] = -0.5
            elif child["name"] == "display_labels":
                child["value"] = True
        return children

    def _channel_param_children(self, trace):
        children = QOscilloscope._channel_param_children(self, trace)
        defaults = dict(gain=BIT_HEIGHT, offset=len(self.trace_names) - 1 - trace - BIT_HEIGHT / 2)
        for child in children:
            child["value"] = defaults.get(child["name"], child["value"])
        return children

    def auto_scale(self):
        """Give each visible bit its own row, first bit on top; ylim spans the rows."""
        positions, nb_row = self._stack_positions(self._visible)
        with self.params.treeChangeBlocker():
            self.params["ylim_min"], self.params["ylim_max"] = -0.5, nb_row - 0.5
        with self.by_channel_params.treeChangeBlocker():
            set_channel_values(self.by_channel_params, "gain", [BIT_HEIGHT] * self.nb_trace)
            set_channel_values(self.by_channel_params, "offset",
                               [float(p) - BIT_HEIGHT / 2 for p in positions])


def _unpack_bits(chunk, little_endian_dtype):
    raw = np.ascontiguousarray(chunk, dtype=little_endian_dtype).view(np.uint8)
    return np.unpackbits(raw, axis=1, bitorder="little").astype(np.float32)


def _bools_to_float(chunk):
    return np.asarray(chunk, dtype=np.float32)
