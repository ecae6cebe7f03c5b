"""Tiny valid PNG images, so catalog image links can really be downloaded."""

import functools
import re
import struct
import zlib

MAX_SIDE = 4096  # enough for Amazon's 2560 px images, small enough for memory

_NAME = re.compile(r"^(?P<stem>.+)-(?P<width>\d+)x(?P<height>\d+)\.png$")


def size_from_name(name):
    """(width, height) from a name like ``B07N4M94X4-MAIN-500x333.png``, or
    None when the name has no usable size."""
    match = _NAME.match(name)
    if not match:
        return None
    width, height = int(match["width"]), int(match["height"])
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE):
        return None
    return width, height


def _chunk(kind, data):
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


@functools.lru_cache(maxsize=32)
def solid_png(width, height, rgb):
    """A ``width`` x ``height`` 8-bit RGB PNG filled with one colour."""
    row = b"\x00" + bytes(rgb) * width  # filter type 0 ("None") per scanline
    compressor = zlib.compressobj(6)
    data = (
        b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", data)
        + _chunk(b"IEND", b"")
    )


def png_for_name(name):
    """The PNG a link of that name stands for (colour derived from the name),
    or None when the name carries no valid size."""
    size = size_from_name(name)
    if size is None:
        return None
    digest = zlib.crc32(name.encode("utf-8"))
    rgb = (digest & 0xFF, (digest >> 8) & 0xFF, (digest >> 16) & 0xFF)
    return solid_png(size[0], size[1], rgb)
