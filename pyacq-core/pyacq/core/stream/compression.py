"""Optional chunk compression for plaindata streams.

blosc is an optional dependency: it is imported only when a stream asks for
compression, and a missing package is reported by name.
"""
from .errors import MalformedMessageError

#: Size of blosc's header, which states the compressed and uncompressed sizes.
_BLOSC_HEADER = 16
#: A compressed chunk may hold at most this many times its size: blosc compresses zeros
#: about 250 times, so more is a forged header, refused before allocating what it claims.
MAX_COMPRESSION_RATIO = 1024

compression_methods = ("", "blosc-blosclz", "blosc-lz4")


def get_codec(method, typesize):
    """Return ``(compress, decompress)`` callables for ``method``, or ``None`` for no compression.

    ``decompress(buffer, nbytes)`` returns the ``nbytes`` bytes compressed in ``buffer``, or
    raises MalformedMessageError, before allocating anything, if blosc's header says the
    buffer holds another size (or is not blosc's), if that size is more than
    ``MAX_COMPRESSION_RATIO`` times the buffer's, and if blosc refuses it.
    ``typesize`` (the dtype's itemsize) lets blosc shuffle bytes so that
    same-significance bytes of consecutive samples sit together.
    """
    if method == "":
        return None
    if method not in compression_methods:
        raise ValueError(
            f"unknown compression {method!r}; choose one of {list(compression_methods)}"
        )
    try:
        import blosc
    except ImportError:
        raise ImportError(
            f"compression={method!r} needs the 'blosc' package: pip install blosc "
            "(or pip install 'pyacq-core[blosc]')"
        ) from None
    cname = method.split("-", 1)[1]
    typesize = min(typesize, blosc.MAX_TYPESIZE)

    def compress(buffer):
        return blosc.compress(buffer, typesize=typesize, cname=cname, shuffle=blosc.SHUFFLE)

    def decompress(buffer, nbytes):
        view = memoryview(buffer).cast("B")
        if len(view) < _BLOSC_HEADER:
            raise MalformedMessageError(f"compressed chunk of {len(view)} bytes is shorter than "
                                        f"blosc's {_BLOSC_HEADER}-byte header")
        declared, compressed, _ = blosc.get_cbuffer_sizes(bytes(view[:_BLOSC_HEADER]))
        if declared != nbytes or compressed != len(view):
            raise MalformedMessageError(
                f"compressed chunk declares {declared} bytes in {compressed}, but its header "
                f"needs {nbytes} bytes and the frame holds {len(view)}")
        if nbytes > MAX_COMPRESSION_RATIO * len(view):
            raise MalformedMessageError(
                f"compressed chunk of {len(view)} bytes claims {nbytes} bytes, more than "
                f"{MAX_COMPRESSION_RATIO} times its size (blosc compresses about 250 times at most)")
        try:
            return blosc.decompress(view)
        except blosc.blosc_extension.error as exc:
            raise MalformedMessageError(f"compressed chunk does not decompress: {exc}") from exc

    return compress, decompress
