"""Second-order sections on an OpenCL device (pyopencl): SosFilter's engine and the parts every
OpenCL engine of pyacq.dsp shares (device lookup, kernel prelude, work layout).

Everything on the device is time-major, (time, channel) as streams carry it,
so the host transposes neither what it sends nor what it receives. A work
item filters ``width`` neighbouring channels with OpenCL vector types (the
device's preferred vector width, reduced to a divisor of the channel count):
on a CPU (POCL) that is one SIMD register per step and several independent
recursions in flight, which hides the latency of each channel's
sample-to-sample dependency; on a GPU the preferred width is usually 1, one
channel per work item, and neighbouring work items read neighbouring
addresses. The sections' states stay in registers across the time loop (the
number of sections is compiled in), and on the device between chunks.

Arithmetic is in double precision when the device has ``cl_khr_fp64``, else
in single precision. Double precision is not a luxury: a 50 Hz low-pass at
30 kHz accumulated in single precision drifts by 2.6e-3 of the peak from
the float64 reference, while in double precision it matches scipy.
"""
import numpy as np

from .sosstate import steady_state_per_channel

try:
    import pyopencl as cl
    HAVE_PYOPENCL = True
except ImportError:
    cl = None
    HAVE_PYOPENCL = False

#: Largest number of work items per work group.
WORK_GROUP_SIZE = 16
#: Work groups wanted per compute unit, so that a busy core does not hold the others back.
GROUPS_PER_COMPUTE_UNIT = 4

KERNEL_PRELUDE = """
%(fp64_pragma)s
typedef %(data_t)s data_t;
typedef %(real_t)s real_t;
typedef %(real_t)s%(width_suffix)s realv;
#define N_SECTIONS %(n_sections)d
#define WIDTH %(width)d
%(vector_macros)s

/* coefficients: (N_SECTIONS, 5, n_channel) as b0 b1 b2 a1 a2; states (N_SECTIONS, 2, n_channel) */
#define LOAD_COEFFICIENTS(coefficients, channel, n_channel) \\
    realv b0[N_SECTIONS], b1[N_SECTIONS], b2[N_SECTIONS], a1[N_SECTIONS], a2[N_SECTIONS]; \\
    _Pragma("unroll") \\
    for (int s = 0; s < N_SECTIONS; s++) { \\
        __global const real_t *c = coefficients + 5 * s * n_channel + channel; \\
        b0[s] = LOAD_REAL(c); \\
        b1[s] = LOAD_REAL(c + n_channel); \\
        b2[s] = LOAD_REAL(c + 2 * n_channel); \\
        a1[s] = LOAD_REAL(c + 3 * n_channel); \\
        a2[s] = LOAD_REAL(c + 4 * n_channel); \\
    }

/* one sample through the cascade (transposed direct form II, as scipy's sosfilt) */
#define CASCADE(y) \\
    _Pragma("unroll") \\
    for (int s = 0; s < N_SECTIONS; s++) { \\
        const realv x = y; \\
        y = b0[s] * x + z0[s]; \\
        z0[s] = b1[s] * x - a1[s] * y + z1[s]; \\
        z1[s] = b2[s] * x - a2[s] * y; \\
    }
"""

SCALAR_MACROS = """
#define LOAD_REAL(p) (*(p))
#define LOAD_DATA(p) ((real_t)*(p))
#define STORE_REAL(v, p) (*(p) = (v))
#define STORE_DATA(v, p) (*(p) = (data_t)(v))
"""

VECTOR_MACROS = """
#define LOAD_REAL(p) vload%(width)d(0, p)
#define LOAD_DATA(p) convert_%(real_t)s%(width)d(vload%(width)d(0, p))
#define STORE_REAL(v, p) vstore%(width)d(v, 0, p)
#define STORE_DATA(v, p) vstore%(width)d(convert_%(data_t)s%(width)d(v), 0, p)
"""

SOS_KERNEL = """
__kernel void sos_filter(__global data_t *samples, const int n_samples, __global real_t *state,
                         __global const real_t *coefficients, const int reset, const int n_channel)
{
    const int channel = get_global_id(0) * WIDTH;
    if (channel >= n_channel)
        return;
    LOAD_COEFFICIENTS(coefficients, channel, n_channel)
    realv z0[N_SECTIONS], z1[N_SECTIONS];
    _Pragma("unroll")
    for (int s = 0; s < N_SECTIONS; s++) {
        z0[s] = reset ? (realv)0 : LOAD_REAL(state + 2 * s * n_channel + channel);
        z1[s] = reset ? (realv)0 : LOAD_REAL(state + (2 * s + 1) * n_channel + channel);
    }
    __global data_t *x = samples + channel;
    for (int i = 0; i < n_samples; i++) {
        realv y = LOAD_DATA(x + (long)i * n_channel);
        CASCADE(y)
        STORE_DATA(y, x + (long)i * n_channel);
    }
    _Pragma("unroll")
    for (int s = 0; s < N_SECTIONS; s++) {
        STORE_REAL(z0[s], state + 2 * s * n_channel + channel);
        STORE_REAL(z1[s], state + (2 * s + 1) * n_channel + channel);
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


def vector_width(preferred, nb_channel):
    """The widest of 8, 4, 2, 1 not above ``preferred`` that divides ``nb_channel``."""
    return next(w for w in (8, 4, 2, 1) if w <= max(1, preferred) and nb_channel % w == 0)


def work_group_size(work_items, compute_units, device_limit):
    """A power of two <= WORK_GROUP_SIZE (and the device's limit) that still leaves
    GROUPS_PER_COMPUTE_UNIT work groups per compute unit when there are enough work items."""
    size = 1
    while (size * 2 <= min(WORK_GROUP_SIZE, device_limit)
           and work_items // (size * 2) >= GROUPS_PER_COMPUTE_UNIT * compute_units):
        size *= 2
    return size


class OpenCLSosKernel:
    """One kernel over cascaded sections, compiled for a signal's channels and dtype.

    Holds what every OpenCL engine needs: the device, context and queue, the
    arithmetic precision, the vector width and work sizes, and the
    coefficients on the device as (n_sections, 5, n_channel) (``b0 b1 b2 a1
    a2``, channel last for vector loads). ``body`` is the kernel's source,
    written with the prelude's macros.
    """

    def __init__(self, coefficients, nb_channel, dtype, body, kernel_name, describe):
        require_opencl(describe)
        sos = np.asarray(coefficients, dtype=np.float64)
        if sos.ndim == 3 and sos.shape[0] != nb_channel:
            raise ValueError(f"{describe}: per-channel coefficients for {sos.shape[0]} channels, "
                             f"but the signal has {nb_channel}")
        self.sos = sos
        self.nb_channel = nb_channel
        self.dtype = np.dtype(dtype)
        self.n_sections = sos.shape[-2]
        self.device = first_device()
        self.context = cl.Context([self.device])
        self.queue = cl.CommandQueue(self.context)
        fp64 = "cl_khr_fp64" in self.device.extensions
        self.real_dtype = np.dtype(np.float64 if fp64 else np.float32)
        self.width = vector_width(self.device.preferred_vector_width_double if fp64
                                  else self.device.preferred_vector_width_float, nb_channel)
        names = dict(data_t="double" if self.dtype == np.float64 else "float",
                     real_t="double" if fp64 else "float", width=self.width)
        source = KERNEL_PRELUDE % dict(
            names,
            fp64_pragma="#pragma OPENCL EXTENSION cl_khr_fp64 : enable" if fp64 else "",
            width_suffix="" if self.width == 1 else str(self.width),
            n_sections=self.n_sections,
            vector_macros=SCALAR_MACROS if self.width == 1 else VECTOR_MACROS % names,
        ) + body
        self.kernel = cl.Kernel(cl.Program(self.context, source).build(), kernel_name)
        work_items = nb_channel // self.width
        self.local_size = work_group_size(work_items, self.device.max_compute_units,
                                          self.kernel.get_work_group_info(
                                              cl.kernel_work_group_info.WORK_GROUP_SIZE, self.device))
        self.global_size = -(-work_items // self.local_size) * self.local_size
        by_channel = np.broadcast_to(sos, (nb_channel, *sos.shape[-2:]))
        self.buffers = dict(coefficients=self.device_copy(
            by_channel[:, :, [0, 1, 2, 4, 5]].transpose(1, 2, 0)))

    def device_copy(self, array):
        """A read-only device buffer holding ``array`` in the arithmetic precision."""
        flags = cl.mem_flags
        return cl.Buffer(self.context, flags.READ_ONLY | flags.COPY_HOST_PTR,
                         hostbuf=np.ascontiguousarray(array, self.real_dtype))

    def device_buffer(self, n_samples, dtype):
        """A read-write device buffer of ``n_samples`` x channels of ``dtype``."""
        return cl.Buffer(self.context, cl.mem_flags.READ_WRITE,
                         max(1, n_samples) * self.nb_channel * np.dtype(dtype).itemsize)

    def rest_state(self):
        """States (n_sections, 2, n_channel) of each channel's filter at rest on the value 1."""
        return steady_state_per_channel(self.sos, np.ones(self.nb_channel)).transpose(1, 2, 0)

    def launch(self, *args):
        """Enqueue one run of the kernel over every channel, with the kernel arguments ``args``."""
        self.kernel(self.queue, (self.global_size,), (self.local_size,), *args)

    def close(self):
        """Wait for the queued work to finish, then release every device buffer."""
        self.queue.finish()
        for buffer in self.buffers.values():
            buffer.release()
        self.buffers = {}


class OpenCLSosEngine:
    """SosFilter's OpenCL engine: same interface as ``ScipySosEngine``.

    Per chunk: one upload, one launch filtering in place, one download; the
    state stays on the device. ``chunksize`` is the number of samples the
    device buffer holds; longer chunks are filtered in several passes (None:
    sized by the first chunk and grown when needed).
    """

    name = "opencl"

    def __init__(self, coefficients, nb_channel, dtype, chunksize=None):
        self._program = OpenCLSosKernel(coefficients, nb_channel, dtype, SOS_KERNEL, "sos_filter",
                                        "OpenCLSosEngine")
        self.nb_channel = nb_channel
        self.dtype = np.dtype(dtype)
        buffers = self._program.buffers
        buffers["state"] = self._program.device_buffer(2 * self._program.n_sections,
                                                       self._program.real_dtype)
        self._fixed_capacity = bool(chunksize)
        self._capacity = chunksize or 0
        if chunksize:
            buffers["samples"] = self._program.device_buffer(chunksize, self.dtype)
        self.reset()

    def reset(self):
        """The next chunk starts a signal: the filter starts at rest on zero."""
        self._reset = True

    def filter(self, chunk):
        """Filter ``chunk`` (time, channel), which follows the previous one."""
        n_samples = len(chunk)
        out = np.array(chunk, dtype=self.dtype, order="C")  # filtered in place on the device
        if n_samples == 0:
            return out
        program, buffers = self._program, self._program.buffers
        if not self._fixed_capacity and self._capacity < n_samples:
            if "samples" in buffers:
                buffers.pop("samples").release()
            buffers["samples"] = program.device_buffer(n_samples, self.dtype)
            self._capacity = n_samples
        for start in range(0, n_samples, self._capacity):
            piece = out[start:start + self._capacity]
            cl.enqueue_copy(program.queue, buffers["samples"], piece, is_blocking=False)
            program.launch(buffers["samples"], np.int32(len(piece)), buffers["state"],
                           buffers["coefficients"], np.int32(self._reset), np.int32(self.nb_channel))
            self._reset = False
            cl.enqueue_copy(program.queue, piece, buffers["samples"], is_blocking=True)
        return out

    def close(self):
        """Release the engine's device buffers, once its queued work is done."""
        self._program.close()
