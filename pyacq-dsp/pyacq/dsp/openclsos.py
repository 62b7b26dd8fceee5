"""The OpenCL engine of SosFilter / OverlapFiltfilt (pyopencl).

One work item filters one channel through every section, so thousands of
channels run in parallel on a GPU (or on the CPU cores with POCL). Data go to
the device in (channel, time) order: a (time, channel) chunk is transposed
into a staging copy, unless it already is channel-major in memory (a
sharedmem input with ``axisorder=(1, 0)``). Arithmetic is in double
precision when the device supports it (``cl_khr_fp64``), else in single.
"""
import numpy as np

from .sosengines import steady_state_per_channel

try:
    import pyopencl as cl
    HAVE_PYOPENCL = True
except ImportError:
    cl = None
    HAVE_PYOPENCL = False

KERNEL_SOURCE = """
%(fp64_pragma)s
typedef %(data_t)s data_t;
typedef %(real_t)s real_t;

__kernel void sos_filter(__global data_t *data, __global const real_t *coefficients,
                         __global real_t *state, const int n_samples, const int n_sections,
                         const int per_channel)
{
    const int channel = get_global_id(0);
    __global data_t *x = data + (long)channel * n_samples;
    __global const real_t *c = coefficients + (per_channel ? channel * n_sections * 6 : 0);
    __global real_t *z = state + channel * n_sections * 2;
    for (int s = 0; s < n_sections; s++) {
        const real_t b0 = c[6 * s], b1 = c[6 * s + 1], b2 = c[6 * s + 2];
        const real_t a1 = c[6 * s + 4], a2 = c[6 * s + 5];
        real_t z0 = z[2 * s], z1 = z[2 * s + 1];
        for (int i = 0; i < n_samples; i++) {
            const real_t xi = x[i];
            const real_t yi = b0 * xi + z0;
            z0 = b1 * xi - a1 * yi + z1;
            z1 = b2 * xi - a2 * yi;
            x[i] = (data_t)yi;
        }
        z[2 * s] = z0;
        z[2 * s + 1] = z1;
    }
}
"""


def require_opencl(describe):
    """Raise a clear error when pyopencl or an OpenCL device is missing."""
    if not HAVE_PYOPENCL:
        raise ImportError(f"{describe}: engine='opencl' needs pyopencl "
                          "(pip install 'pyacq-dsp[opencl]') and an OpenCL driver")
    first_device()


def first_device():
    """The first OpenCL device of the first platform that has one."""
    try:
        platforms = cl.get_platforms()
    except cl.Error as exc:
        raise RuntimeError(f"engine='opencl': no OpenCL platform is installed ({exc}); install a "
                           "driver, e.g. Debian's pocl-opencl-icd for the CPU") from exc
    for platform in platforms:
        try:
            devices = platform.get_devices()
        except cl.Error:
            continue
        if devices:
            return devices[0]
    raise RuntimeError("engine='opencl': the OpenCL platforms found have no device")


class OpenCLSosEngine:
    """SOS filtering on an OpenCL device; same interface as ``ScipySosEngine``.

    ``chunksize`` is the number of samples the device buffers hold; longer
    chunks are filtered in several passes (None: sized by the first chunk and
    grown when needed). The state has layout (n_channels, n_sections, 2).
    """

    name = "opencl"

    def __init__(self, coefficients, nb_channel, dtype, chunksize=None):
        require_opencl("OpenCLSosEngine")
        self.sos = coefficients
        self.nb_channel = nb_channel
        self.dtype = np.dtype(dtype)
        if coefficients.ndim == 3 and coefficients.shape[0] != nb_channel:
            raise ValueError(f"per-channel coefficients for {coefficients.shape[0]} channels, but "
                             f"the signal has {nb_channel}")
        self.n_sections = coefficients.shape[-2]
        self.device = first_device()
        self.context = cl.Context([self.device])
        self.queue = cl.CommandQueue(self.context)
        fp64 = "cl_khr_fp64" in self.device.extensions
        self.real_dtype = np.dtype(np.float64 if fp64 else np.float32)
        source = KERNEL_SOURCE % dict(
            fp64_pragma="#pragma OPENCL EXTENSION cl_khr_fp64 : enable" if fp64 else "",
            data_t="double" if self.dtype == np.float64 else "float",
            real_t="double" if fp64 else "float",
        )
        self.program = cl.Program(self.context, source).build()
        self.kernel = cl.Kernel(self.program, "sos_filter")
        flags = cl.mem_flags
        self._coefficients = cl.Buffer(self.context, flags.READ_ONLY | flags.COPY_HOST_PTR,
                                       hostbuf=np.ascontiguousarray(coefficients, self.real_dtype))
        self._state_host = np.zeros((nb_channel, self.n_sections, 2), dtype=self.real_dtype)
        self._state = cl.Buffer(self.context, flags.READ_WRITE, self._state_host.nbytes)
        self._capacity = 0
        self._data = None
        self._fixed_capacity = bool(chunksize)
        if chunksize:
            self._allocate(chunksize)

    def _allocate(self, n_samples):
        self._data = cl.Buffer(self.context, cl.mem_flags.READ_WRITE,
                               n_samples * self.nb_channel * self.dtype.itemsize)
        self._capacity = n_samples

    def zero_state(self):
        return np.zeros((self.nb_channel, self.n_sections, 2))

    def steady_state(self, values):
        return steady_state_per_channel(self.sos, values)

    def filter(self, chunk, state):
        """Filter ``chunk`` (time, channel) starting from ``state``, which is updated."""
        n_samples = chunk.shape[0]
        if n_samples == 0:
            return np.empty((0, self.nb_channel), dtype=self.dtype)
        if not self._fixed_capacity and self._capacity < n_samples:
            if self._data is not None:
                self._data.release()
            self._allocate(n_samples)
        by_channel = np.array(chunk.T, dtype=self.dtype, order="C")  # (channel, time), filtered in place
        self._state_host[...] = state
        cl.enqueue_copy(self.queue, self._state, self._state_host)
        for start in range(0, n_samples, self._capacity):
            stop = min(start + self._capacity, n_samples)
            piece = by_channel if stop - start == n_samples else \
                np.ascontiguousarray(by_channel[:, start:stop])
            cl.enqueue_copy(self.queue, self._data, piece)
            self.kernel(self.queue, (self.nb_channel,), None, self._data, self._coefficients,
                        self._state, np.int32(stop - start), np.int32(self.n_sections),
                        np.int32(self.sos.ndim == 3))
            cl.enqueue_copy(self.queue, piece, self._data)
            if piece is not by_channel:
                by_channel[:, start:stop] = piece
        cl.enqueue_copy(self.queue, self._state_host, self._state)
        state[...] = self._state_host
        return by_channel.T

    def close(self):
        self.queue.finish()
        for buffer in (self._data, self._state, self._coefficients):
            if buffer is not None:
                buffer.release()
        self._data = self._state = self._coefficients = None
