"""The live-plot frame format, and downsampling for late joiners. Pure.

Frame format (little-endian), repeated once per series present in a batch::

    b"NBLP" | u8 version (1) | u8 kind (0: points) | u16 series | u32 count
    | count float64 x | count float64 y
"""

from __future__ import annotations

import struct
from array import array

__all__ = ["encode_points", "decode_points", "downsample"]

_HEADER = struct.Struct("<4sBBHI")
_MAGIC = b"NBLP"


def encode_points(series: int, xs: array[float], ys: array[float]) -> bytes:
    """One chunk of a points frame."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    return _HEADER.pack(_MAGIC, 1, 0, series, len(xs)) + xs.tobytes() + ys.tobytes()


def decode_points(frame: bytes) -> list[tuple[int, list[float], list[float]]]:
    """The chunks of a points frame: (series, xs, ys) each."""
    out: list[tuple[int, list[float], list[float]]] = []
    pos = 0
    while pos < len(frame):
        magic, version, kind, series, count = _HEADER.unpack_from(frame, pos)
        if magic != _MAGIC or version != 1 or kind != 0:
            raise ValueError("not an nbws live-plot frame")
        pos += _HEADER.size
        xs = array("d")
        xs.frombytes(frame[pos:pos + 8 * count])
        pos += 8 * count
        ys = array("d")
        ys.frombytes(frame[pos:pos + 8 * count])
        pos += 8 * count
        out.append((series, list(xs), list(ys)))
    return out


def downsample(xs: array[float], ys: array[float], limit: int) -> tuple[array[float], array[float]]:
    """At most ``limit`` + 1 points that keep the shape: the minimum and
    maximum of each bucket, in x order, and the newest point."""
    n = len(xs)
    if n <= limit or limit < 4:
        return array("d", xs), array("d", ys)
    buckets = limit // 2
    step = n / buckets
    out_x, out_y = array("d"), array("d")
    for b in range(buckets):
        lo, hi = int(b * step), min(n, int((b + 1) * step))
        if lo >= hi:
            continue
        seg = ys[lo:hi]
        i_min = lo + min(range(len(seg)), key=seg.__getitem__)
        i_max = lo + max(range(len(seg)), key=seg.__getitem__)
        for i in sorted({i_min, i_max}):
            out_x.append(xs[i])
            out_y.append(ys[i])
    if out_x[-1] != xs[n - 1]:  # the newest point always shows
        out_x.append(xs[n - 1])
        out_y.append(ys[n - 1])
    return out_x, out_y
