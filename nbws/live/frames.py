"""The live-plot frame format, and M4 decimation for late joiners. Pure.

Frame format (little-endian), a sequence of chunks, each::

    b"NBLP" | u8 version (1) | u8 kind | u16 series | u32 count | body

Kinds: 0 live or history points, 1 a view's points, 3 a view's smoothed
points (body: count float64 x, then count float64 y); 2 a view's header
(body: count float64 values: id, x0, x1, width, then per answered series its
index, its points in [x0, x1], ema_last, ema_count; the header's series field
is the number of answered series).
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Sequence
from itertools import chain
from typing import Any

__all__ = ["TAKE_PER_TICK", "group_points", "encode_points", "decode_points", "decode_chunks", "encode_view_header", "Chunk", "downsample", "decimate",
           "m4", "POINTS", "VIEW_POINTS", "VIEW_HEADER", "VIEW_SMOOTHED"]

_HEADER = struct.Struct("<4sBBHI")
_MAGIC = b"NBLP"
POINTS, VIEW_POINTS, VIEW_HEADER, VIEW_SMOOTHED = 0, 1, 2, 3
"""The chunk kinds."""

Chunk = tuple[int, int, list[float], list[float]]
"""A decoded chunk: (kind, series, xs, ys); a header's values are its xs (ys empty)."""


def encode_points(series: int, xs: Any, ys: Any, kind: int = POINTS) -> bytes:
    """One chunk of points (kind 0, 1 or 3): ``xs`` and ``ys`` are float64
    arrays (``array('d')`` or numpy) of the same length. Pure."""
    if len(xs) != len(ys):
        raise ValueError("xs and ys must have the same length")
    body: bytes = xs.tobytes() + ys.tobytes()
    return _HEADER.pack(_MAGIC, 1, kind, series, len(xs)) + body


def encode_view_header(view_id: int, x0: float, x1: float, width: int,
                       rows: Sequence[tuple[int, int, float, float]]) -> bytes:
    """A view answer's first chunk (kind 2): ``rows`` holds, per answered
    series, (index, points in [x0, x1], ema_last, ema_count). Pure."""
    values = array("d", [view_id, x0, x1, width])
    for row in rows:
        values.extend(row)
    return _HEADER.pack(_MAGIC, 1, VIEW_HEADER, len(rows), len(values)) + values.tobytes()


def decode_chunks(frame: bytes) -> list[Chunk]:
    """Every chunk of a frame, of any kind: (kind, series, xs, ys). Pure."""
    out: list[Chunk] = []
    pos = 0
    while pos < len(frame):
        magic, version, kind, series, count = _HEADER.unpack_from(frame, pos)
        if magic != _MAGIC or version != 1 or kind > VIEW_SMOOTHED:
            raise ValueError("not an nbws live-plot frame")
        pos += _HEADER.size
        xs = array("d")
        xs.frombytes(frame[pos:pos + 8 * count])
        pos += 8 * count
        ys = array("d")
        if kind != VIEW_HEADER:
            ys.frombytes(frame[pos:pos + 8 * count])
            pos += 8 * count
        out.append((kind, series, list(xs), list(ys)))
    return out


def decode_points(frame: bytes) -> list[tuple[int, list[float], list[float]]]:
    """The chunks of a points frame (kind 0 only): (series, xs, ys) each."""
    out: list[tuple[int, list[float], list[float]]] = []
    for kind, series, xs, ys in decode_chunks(frame):
        if kind != POINTS:
            raise ValueError("not an nbws live-plot points frame")
        out.append((series, xs, ys))
    return out


def m4(xs: Sequence[float], ys: Sequence[float], width: int, x0: float | None = None,
       x1: float | None = None) -> list[int]:
    """M4 decimation: the indexes, in increasing order, of the points to draw
    of ``xs``/``ys`` on ``width`` pixel columns spanning ``x0..x1`` (default:
    the data's x range): each column's first, last, minimum and maximum, so a
    line through them covers the same pixels as a line through every point
    and no spike or dip is lost. Points whose x or y is not finite are left
    out (pages do not draw them); points beyond ``x0`` or ``x1`` share one
    column on their side. x need not be increasing: a column's first and last
    are its lowest and highest index. The same maths as chart.js's ``m4``.

    Vectorised with numpy when it is installed, plain Python otherwise (the
    same result). Pure; runs on any thread (the I/O thread, for late joiners).
    """
    if width < 1:
        raise ValueError("width must be at least 1 pixel column")
    if not len(xs):
        return []
    try:
        import numpy
    except ImportError:
        return _m4_python(xs, ys, width, x0, x1)
    return _m4_numpy(numpy, xs, ys, width, x0, x1)


def _x_range(xs: Sequence[float], x0: float | None, x1: float | None) -> tuple[float, float]:
    if x0 is None or x1 is None:
        finite = [x for x in (min(xs), max(xs)) if math.isfinite(x)]
        if len(finite) < 2:  # NaN or inf at an end: look at every x
            finite = [x for x in xs if math.isfinite(x)] or [0.0]
        lo, hi = min(finite), max(finite)
        x0 = lo if x0 is None else x0
        x1 = hi if x1 is None else x1
    return x0, x1


def _m4_python(xs: Sequence[float], ys: Sequence[float], width: int, x0: float | None,
               x1: float | None) -> list[int]:
    lo, hi = _x_range(xs, x0, x1)
    scale = width / ((hi - lo) or 1.0)
    isfinite = math.isfinite
    columns: dict[int, list[Any]] = {}  # column -> [first, last, i_min, i_max, y_min, y_max]
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if not (isfinite(x) and isfinite(y)):
            continue
        c = min(width, max(-1, math.floor((x - lo) * scale)))
        slot = columns.get(c)
        if slot is None:
            columns[c] = [i, i, i, i, y, y]
            continue
        slot[1] = i
        if y < slot[4]:
            slot[2], slot[4] = i, y
        elif y > slot[5]:
            slot[3], slot[5] = i, y
    return sorted({i for slot in columns.values() for i in slot[:4]})


def _m4_numpy(np: Any, xs: Sequence[float], ys: Sequence[float], width: int, x0: float | None,
              x1: float | None) -> list[int]:
    x = np.frombuffer(xs, dtype=np.float64) if isinstance(xs, array) else np.asarray(xs, dtype=np.float64)
    y = np.frombuffer(ys, dtype=np.float64) if isinstance(ys, array) else np.asarray(ys, dtype=np.float64)
    if len(x) != len(y):
        raise ValueError("xs and ys must have the same length")
    index = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if not index.size:
        return []
    xk, yk = x[index], y[index]
    if x0 is None or x1 is None:
        lo_x, hi_x = float(xk.min()), float(xk.max())
        x0 = lo_x if x0 is None else x0
        x1 = hi_x if x1 is None else x1
    column = np.clip(np.floor((xk - x0) * (width / ((x1 - x0) or 1.0))), -1, width).astype(np.int64)
    if column.size > 1 and bool(np.any(column[1:] < column[:-1])):  # x went back: group each column's points
        order = np.argsort(column, kind="stable")
        index, column, yk = index[order], column[order], yk[order]
    starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
    sizes = np.diff(np.r_[starts, column.size])
    group = np.repeat(np.arange(starts.size), sizes)

    def first_where(hit: Any) -> Any:  # per column, the first position where hit is true
        pos = np.flatnonzero(hit)
        g = group[pos]
        return pos[np.r_[True, g[1:] != g[:-1]]]

    i_min = first_where(yk == np.minimum.reduceat(yk, starts)[group])
    i_max = first_where(yk == np.maximum.reduceat(yk, starts)[group])
    chosen = np.concatenate([index[starts], index[starts + sizes - 1], index[i_min], index[i_max]])
    return [int(i) for i in np.unique(chosen)]


def decimate(xs: Sequence[float], ys: Sequence[float], width: int, x0: float | None = None,
             x1: float | None = None) -> tuple[array[float], array[float]]:
    """The points :func:`m4` keeps, as two float64 arrays. Pure."""
    keep = m4(xs, ys, width, x0, x1)
    return array("d", (xs[i] for i in keep)), array("d", (ys[i] for i in keep))


def downsample(xs: array[float], ys: array[float], limit: int) -> tuple[array[float], array[float]]:
    """At most ``limit`` + 1 points that keep the shape, for a page that joins
    late: M4 (:func:`m4`) on ``limit`` / 4 columns over the whole x range —
    each column's first, last, minimum and maximum — and the newest point."""
    n = len(xs)
    if n <= limit or limit < 12:
        return array("d", xs), array("d", ys)
    keep = m4(xs, ys, (limit - 8) // 4)
    if not keep or keep[-1] != n - 1:  # the newest point always shows
        keep.append(n - 1)
    return array("d", (xs[i] for i in keep)), array("d", (ys[i] for i in keep))


TAKE_PER_TICK = 1 << 20
"""Most points one tick takes from the producers; the rest wait for the next
tick, so a cell pushing faster than the I/O thread can take cannot hold up
the frames of a tick (or its other sockets) for long."""


def group_points(points: list[tuple[int, Any, Any]], count: int) -> list[tuple[array[float], array[float]]]:
    """The points taken in one tick, (series, x, y) each or (series, xs, ys)
    as float64 bytes for a ``push_many`` batch, as per-series columns, in
    order. One C-level conversion when they are all single points (the
    common case of a loop calling ``push``); I/O thread."""
    grouped = [(array("d"), array("d")) for _ in range(count)]
    try:
        flat = array("d", chain.from_iterable(points))  # TypeError when a push_many batch (bytes) is among them
    except TypeError:
        for i, x, y in points:
            if isinstance(x, bytes) and isinstance(y, bytes):
                grouped[i][0].frombytes(x)
                grouped[i][1].frombytes(y)
            else:
                grouped[i][0].append(x)
                grouped[i][1].append(y)
        return grouped
    if count == 1:
        grouped[0] = (flat[1::3], flat[2::3])
        return grouped
    series = flat[0::3]
    xs, ys = flat[1::3], flat[2::3]
    for k, i in enumerate(series):
        column = grouped[int(i)]
        column[0].append(xs[k])
        column[1].append(ys[k])
    return grouped
