"""The OpenCL engine of OverlapFiltfilt: one kernel launch per window.

Per window boundary the host makes one transfer of the new samples to the
device, one kernel launch and one transfer of the released samples back.
The launch runs, for each group of channels (one work item each, see
:mod:`pyacq.dsp.openclsos` for the layout and the precision), the forward
pass over the new samples, from the forward state kept on the device, into
a ring of the held forward-filtered samples kept on the device, then the
backward pass over every held sample, from the newest (the filter at rest
on it) to the oldest, writing the oldest ``count`` to the output buffer.
"""
import numpy as np

from .openclsos import OpenCLSosKernel, cl

OVERLAP_KERNEL = """
/* rest_state and forward_state: (N_SECTIONS, 2, n_channel); samples: (time, n_channel) */
__kernel void overlap_filtfilt(
    __global const data_t *new_samples, const int n_new,
    __global real_t *held, const int capacity, const int oldest, const int n_held,
    __global real_t *forward_state, __global const real_t *rest_state,
    __global const real_t *coefficients, const int restart,
    __global data_t *released, const int count, const int n_channel)
{
    const int channel = get_global_id(0) * WIDTH;
    if (channel >= n_channel)
        return;
    LOAD_COEFFICIENTS(coefficients, channel, n_channel)
    realv z0[N_SECTIONS], z1[N_SECTIONS], rest0[N_SECTIONS], rest1[N_SECTIONS];
    _Pragma("unroll")
    for (int s = 0; s < N_SECTIONS; s++) {
        rest0[s] = LOAD_REAL(rest_state + 2 * s * n_channel + channel);
        rest1[s] = LOAD_REAL(rest_state + (2 * s + 1) * n_channel + channel);
    }
    /* the held samples occupy ring positions oldest .. oldest + length - 1 (mod capacity):
       [0, split) of them before the end of the ring, the rest from its start */
    const int length = n_held + n_new;
    const int split = min(length, capacity - oldest);
    __global real_t *ring = held + channel;
    __global real_t *first_part = ring + (long)oldest * n_channel;
    __global real_t *second_part = ring - (long)split * n_channel;  /* for indexes k >= split */

    /* forward pass over the new samples, written after the held ones */
    __global real_t *state = forward_state + channel;
    const realv first = n_new > 0 ? LOAD_DATA(new_samples + channel) : (realv)0;
    _Pragma("unroll")
    for (int s = 0; s < N_SECTIONS; s++) {
        z0[s] = restart ? rest0[s] * first : LOAD_REAL(state + 2 * s * n_channel);
        z1[s] = restart ? rest1[s] * first : LOAD_REAL(state + (2 * s + 1) * n_channel);
    }
    __global const data_t *x_in = new_samples + channel - (long)n_held * n_channel;
    for (int k = n_held; k < split; k++) {
        realv y = LOAD_DATA(x_in + (long)k * n_channel);
        CASCADE(y)
        STORE_REAL(y, first_part + (long)k * n_channel);
    }
    for (int k = max(n_held, split); k < length; k++) {
        realv y = LOAD_DATA(x_in + (long)k * n_channel);
        CASCADE(y)
        STORE_REAL(y, second_part + (long)k * n_channel);
    }
    _Pragma("unroll")
    for (int s = 0; s < N_SECTIONS; s++) {
        STORE_REAL(z0[s], state + 2 * s * n_channel);
        STORE_REAL(z1[s], state + (2 * s + 1) * n_channel);
    }
    if (count == 0)
        return;

    /* backward pass: from the newest held sample (the filter at rest on it) to the oldest;
       the oldest `count` are released */
    const realv last = length > split ? LOAD_REAL(second_part + (long)(length - 1) * n_channel)
                                      : LOAD_REAL(first_part + (long)(length - 1) * n_channel);
    _Pragma("unroll")
    for (int s = 0; s < N_SECTIONS; s++) {
        z0[s] = rest0[s] * last;
        z1[s] = rest1[s] * last;
    }
    __global data_t *out = released + channel;
    int k = length - 1;
    for (; k >= max(split, count); k--) {
        realv y = LOAD_REAL(second_part + (long)k * n_channel);
        CASCADE(y)
    }
    for (; k >= count; k--) {
        realv y = LOAD_REAL(first_part + (long)k * n_channel);
        CASCADE(y)
    }
    for (; k >= split; k--) {
        realv y = LOAD_REAL(second_part + (long)k * n_channel);
        CASCADE(y)
        STORE_DATA(y, out + (long)k * n_channel);
    }
    for (; k >= 0; k--) {
        realv y = LOAD_REAL(first_part + (long)k * n_channel);
        CASCADE(y)
        STORE_DATA(y, out + (long)k * n_channel);
    }
}
"""


class OpenCLOverlapEngine:
    """The overlap engine (see :mod:`pyacq.dsp.overlapengines`) on an OpenCL device.

    New samples are staged on the host until the node asks for a release, so
    each window costs one upload, one launch and one download. The held
    samples (at most ``chunksize + overlapsize``) and the forward state stay
    on the device.
    """

    name = "opencl"

    def __init__(self, coefficients, nb_channel, dtype, chunksize, overlapsize):
        self._program = program = OpenCLSosKernel(coefficients, nb_channel, dtype, OVERLAP_KERNEL,
                                                  "overlap_filtfilt", "OpenCLOverlapEngine")
        self.nb_channel = nb_channel
        self.dtype = np.dtype(dtype)
        self.capacity = chunksize + overlapsize
        rest = program.rest_state()
        program.buffers.update(
            rest=program.device_copy(rest),
            forward_state=program.device_buffer(2 * program.n_sections, program.real_dtype),
            held=program.device_buffer(self.capacity, program.real_dtype),
            new=program.device_buffer(self.capacity, self.dtype),
            released=program.device_buffer(self.capacity, self.dtype),
        )
        self._staged = np.empty((self.capacity, nb_channel), dtype=self.dtype)
        self.restart(None)

    def restart(self, first_sample):
        """Forget the held samples; the next ones start a segment, the filter at rest on the first."""
        self._n_staged = 0
        self._n_held = 0
        self._oldest = 0  # ring position of the oldest held sample
        self._restart = True

    def append(self, samples):
        """Stage ``samples`` (time, channel); they are filtered at the next release."""
        n = len(samples)
        if self._n_held + self._n_staged + n > self.capacity:
            raise ValueError(f"{self._n_held + self._n_staged + n} samples held, more than the "
                             f"{self.capacity} (chunksize + overlapsize) this engine holds")
        self._staged[self._n_staged:self._n_staged + n] = samples
        self._n_staged += n

    def release(self, count):
        """Filter the staged samples forward, all held samples backwards; return the oldest ``count``."""
        count = max(0, count)
        n_new = self._n_staged
        if count > self._n_held + n_new:
            raise ValueError(f"cannot release {count} samples, only {self._n_held + n_new} are held")
        if n_new == 0 and count == 0:
            return None
        program, buffers = self._program, self._program.buffers
        if n_new:
            cl.enqueue_copy(program.queue, buffers["new"], self._staged[:n_new], is_blocking=True)
        program.launch(buffers["new"], np.int32(n_new),
                       buffers["held"], np.int32(self.capacity), np.int32(self._oldest),
                       np.int32(self._n_held),
                       buffers["forward_state"], buffers["rest"], buffers["coefficients"],
                       np.int32(self._restart and n_new > 0),
                       buffers["released"], np.int32(count), np.int32(self.nb_channel))
        self._restart = self._restart and n_new == 0
        self._oldest = (self._oldest + count) % self.capacity
        self._n_held += n_new - count
        self._n_staged = 0
        if count == 0:
            return None
        released = np.empty((count, self.nb_channel), dtype=self.dtype)
        cl.enqueue_copy(program.queue, released, buffers["released"], is_blocking=True)
        return released

    def close(self):
        """Release the engine's device buffers, once its queued work is done."""
        self._program.close()
