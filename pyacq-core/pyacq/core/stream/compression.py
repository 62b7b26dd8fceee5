"""Optional chunk compression for plaindata streams.

blosc is an optional dependency: it is imported only when a stream asks for
compression, and a missing package is reported by name.
"""

compression_methods = ("", "blosc-blosclz", "blosc-lz4")


def get_codec(method, typesize):
    """Return ``(compress, decompress)`` callables for ``method``, or ``None`` for no compression.

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

    return compress, blosc.decompress
