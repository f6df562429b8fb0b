"""The points of one series that a view shows: M4 per pixel column of a
range [x0, x1], plus the nearest point outside each side. Pure.

A view of ``width`` columns over [x0, x1] has column edges ``e[0] = x0``
and ``e[k] = min(x0 + k * step, x1)`` for k in 1..width-1, with ``step =
x1 / width - x0 / width`` (so a range as wide as the floats does not
overflow); on a log x axis (``logx``, x0 > 0) the columns are equal in log10
units instead: ``e[k] = min(max(10 ** (l0 + k * step), x0), x1)`` with ``l0
= log10(x0)``, ``step = log10(x1) / width - l0 / width``. A point with x in
[x0, x1] is in the last column k with ``e[k] <= x``; a NaN x is in no range
and on neither side. Its points (indexes, increasing) are:

* every point with x in [x0, x1] when there are at most ``4 * width`` of
  them (non-finite y included: a page breaks its line there);
* else per column the first and last index and the first index of the
  minimum and of the maximum y, among the points whose y is finite;
* and on each side the nearest point outside the range with a finite y (the
  left one: the largest x below x0, the highest index among equals; the right
  one: the smallest x above x1, the lowest index among equals), so a page's
  line runs to the edges.

With x non-decreasing (``sorted_x``; the oldest x alone may be NaN, as a
store's series allows) the range and the columns are found by binary search
and each column is reduced in place, or, for wide columns of a series with
:class:`~.blocks.Blocks`, from the block summaries and the points at the
columns' edges (the same edges, log columns too); otherwise every point is
looked at. numpy when installed, plain Python otherwise (same result).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence
from typing import Any

try:
    import numpy as np

    from .blocks import Blocks, columns_m4
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]

__all__ = ["select", "select_python", "edges", "in_range", "bounds"]


def edges(x0: float, x1: float, width: int, logx: bool = False) -> list[float]:
    """The left edge of each of the ``width`` columns of [x0, x1] (equal in
    log10 units with ``logx``; x0 > 0 then), as the module's docstring
    defines them. Pure."""
    if logx:
        l0 = math.log10(x0)
        step = math.log10(x1) / width - l0 / width
        return [x0] + [min(max(_pow10(l0 + k * step), x0), x1) for k in range(1, width)]
    step = x1 / width - x0 / width
    if np is not None:  # the same floats, computed the same way (k * step may reach inf, as in Python)
        with np.errstate(over="ignore"):
            right = np.minimum(x0 + np.arange(1, width, dtype=np.float64) * step, x1)
        return [x0, *right.tolist()]
    return [x0] + [min(x0 + k * step, x1) for k in range(1, width)]


def _pow10(v: float) -> float:
    try:
        return float(10.0 ** v)
    except OverflowError:  # just past the largest float: the edge is x1
        return math.inf


def bounds(xs: Any, x0: float, x1: float) -> tuple[int, int]:
    """[lo, hi): the indexes of the points with x in [x0, x1] of a sorted
    series (x non-decreasing but perhaps a NaN oldest x), by binary search. Pure."""
    start = 1 if len(xs) and math.isnan(xs[0]) else 0
    if np is not None and not isinstance(xs, (list, memoryview)):
        x = np.asarray(xs, dtype=np.float64)[start:]
        return start + int(np.searchsorted(x, x0, "left")), start + int(np.searchsorted(x, x1, "right"))
    return bisect.bisect_left(xs, x0, start), bisect.bisect_right(xs, x1, start)


def in_range(xs: Any, x0: float, x1: float, sorted_x: bool) -> int:
    """How many points have x in [x0, x1]. Pure."""
    if sorted_x:
        lo, hi = bounds(xs, x0, x1)
        return hi - lo
    if np is not None:
        x = np.asarray(xs, dtype=np.float64)
        return int(np.count_nonzero((x >= x0) & (x <= x1)))
    return sum(1 for x in xs if x0 <= x <= x1)


def select(xs: Any, ys: Any, x0: float, x1: float, width: int, sorted_x: bool = False, *,
           logx: bool = False, blocks: Blocks | None = None) -> Any:
    """The indexes (increasing) of the points a view of ``width`` columns over
    [x0, x1] shows, as described in the module's docstring: a numpy int64
    array when numpy is installed, else a list. ``sorted_x`` says x is
    non-decreasing (the caller knows; it is not checked); ``logx``, that the
    columns are equal on a log x axis. ``blocks``, the block summaries of
    ``ys`` (up to date), lets a wide sorted view read summaries instead of
    every point (the same result). Pure."""
    if np is None:
        return select_python(xs, ys, x0, x1, width, sorted_x, logx)
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if sorted_x:
        return _select_sorted(x, y, x0, x1, width, logx, blocks)
    return _select_any(x, y, x0, x1, width, logx)


BLOCKS_FROM = 32
"""Points per column (on average) from which a sorted view with block
summaries reads them rather than the points."""


def _select_sorted(x: Any, y: Any, x0: float, x1: float, width: int, logx: bool,
                   blocks: Blocks | None = None) -> Any:
    start = 1 if len(x) and math.isnan(x[0]) else 0  # a NaN oldest x: on neither side
    lo, hi = bounds(x, x0, x1)
    parts = []
    if lo > start:
        parts.append(_last_finite(y, start, lo))
    if hi - lo <= 4 * width:
        parts.append(np.arange(lo, hi, dtype=np.int64))
    else:
        starts = np.searchsorted(x[lo:hi], np.asarray(edges(x0, x1, width, logx)), "left") + lo
        if blocks is not None and hi - lo >= BLOCKS_FROM * width:
            parts.append(columns_m4(y, starts, hi, blocks))
        else:
            parts.append(_m4_columns(y, starts, hi))
    if hi < len(x):
        parts.append(_first_finite(y, hi, len(x)))
    return np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)


def _last_finite(y: Any, lo: int, hi: int) -> Any:
    """[the highest index in [lo, hi) with a finite y], or []."""
    if math.isfinite(y[hi - 1]):
        return np.array([hi - 1], dtype=np.int64)
    hits = np.flatnonzero(np.isfinite(y[lo:hi]))
    return hits[-1:] + lo


def _first_finite(y: Any, lo: int, hi: int) -> Any:
    if math.isfinite(y[lo]):
        return np.array([lo], dtype=np.int64)
    hits = np.flatnonzero(np.isfinite(y[lo:hi]))
    return hits[:1] + lo


LOOP_FROM = 64
"""Points per column from which a sorted view reduces column by column (a
few large numpy calls per column) rather than all columns at once (many
passes over every point in view, each with temporaries)."""


def _m4_columns(y: Any, starts: Any, hi: int) -> Any:
    """M4 of the columns [starts[k], starts[k+1]) (the last ends at ``hi``) of
    ``y``, for x sorted: each column's points are contiguous."""
    lo = int(starts[0])
    if hi - lo < LOOP_FROM * len(starts):
        seg = y[lo:hi]
        finite = np.isfinite(seg)
        if finite.all():
            return _grouped_m4(seg, starts - lo, None, lo)
        index = np.flatnonzero(finite)
        return _grouped_m4(seg[index], np.searchsorted(index, starts - lo, "left"), index + lo)
    bounds = np.r_[starts, hi]
    bounds = bounds[np.r_[bounds[1:] > bounds[:-1], False]]  # the non-empty columns' starts
    ends = np.r_[bounds[1:], hi].tolist()
    picks = []
    for a, b in zip(bounds.tolist(), ends, strict=True):  # one argmin and one argmax a column
        seg = y[a:b]
        picks.append((a, b - 1, a + int(seg.argmin()), a + int(seg.argmax())))
    chosen = np.array(picks, dtype=np.int64)
    extremes = y[chosen[:, 2:]]
    bad = np.flatnonzero(~np.isfinite(extremes).all(axis=1))  # NaN or inf in the column: look again
    parts = [chosen[np.isfinite(extremes).all(axis=1)].ravel()]
    for k in bad.tolist():
        a, b = int(chosen[k, 0]), int(chosen[k, 1]) + 1
        index = np.flatnonzero(np.isfinite(y[a:b]))
        if index.size:
            parts.append(_grouped_m4(y[a:b][index], np.zeros(1, dtype=np.int64), index + a))
    return np.concatenate(parts)


def _grouped_m4(values: Any, bounds: Any, index: Any, offset: int = 0) -> Any:
    """M4 of ``values`` cut at ``bounds`` (non-decreasing positions; empty
    groups allowed): the positions (mapped through ``index``, or plus
    ``offset``) of each group's first, last, first minimum and first maximum."""
    n = values.size
    if not n:
        return np.zeros(0, dtype=np.int64)
    bounds = np.unique(bounds[bounds < n])
    if bounds[0] != 0:
        bounds = np.r_[0, bounds]
    sizes = np.diff(np.r_[bounds, n])
    group = np.repeat(np.arange(bounds.size), sizes)

    def first_where(hit: Any) -> Any:
        pos = np.flatnonzero(hit)
        g = group[pos]
        return pos[np.r_[True, g[1:] != g[:-1]]]

    i_min = first_where(values == np.minimum.reduceat(values, bounds)[group])
    i_max = first_where(values == np.maximum.reduceat(values, bounds)[group])
    chosen = np.concatenate([bounds, bounds + sizes - 1, i_min, i_max])
    return index[chosen] if index is not None else chosen + offset


def _select_any(x: Any, y: Any, x0: float, x1: float, width: int, logx: bool) -> Any:
    inside = (x >= x0) & (x <= x1)
    index = np.flatnonzero(inside)
    parts = [_outside(x, y, x < x0, True), _outside(x, y, x > x1, False)]
    if index.size <= 4 * width:
        parts.append(index)
    else:
        index = index[np.isfinite(y[index])]
        column = np.searchsorted(np.asarray(edges(x0, x1, width, logx)), x[index], "right") - 1
        order = np.argsort(column, kind="stable")
        index, column = index[order], column[order]
        bounds = np.flatnonzero(np.r_[True, column[1:] != column[:-1]]) if index.size else index
        parts.append(_grouped_m4(y[index], bounds, index))
    return np.unique(np.concatenate(parts))


def _outside(x: Any, y: Any, side: Any, left: bool) -> Any:
    """The nearest point on one side (``side``: the mask of that side's points)."""
    index = np.flatnonzero(side & np.isfinite(y))
    if not index.size:
        return index
    xs = x[index]
    best = xs.max() if left else xs.min()
    hits = index[xs == best]
    return hits[-1:] if left else hits[:1]


def select_python(xs: Sequence[float], ys: Sequence[float], x0: float, x1: float, width: int,
                  sorted_x: bool = False, logx: bool = False) -> list[int]:
    """:func:`select` in plain Python (a list): slow, but needs nothing. Pure."""
    n = len(xs)
    if sorted_x:
        start = 1 if n and math.isnan(xs[0]) else 0
        inside: Sequence[int] = range(bisect.bisect_left(xs, x0, start), bisect.bisect_right(xs, x1, start))
    else:
        inside = [i for i in range(n) if x0 <= xs[i] <= x1]
    isfinite = math.isfinite
    keep: set[int] = set()
    if len(inside) <= 4 * width:
        keep.update(inside)
    else:
        left = edges(x0, x1, width, logx)
        columns: dict[int, list[Any]] = {}  # column -> [first, last, i_min, i_max, y_min, y_max]
        for i in inside:
            y = ys[i]
            if not isfinite(y):
                continue
            c = bisect.bisect_right(left, xs[i]) - 1
            slot = columns.get(c)
            if slot is None:
                columns[c] = [i, i, i, i, y, y]
                continue
            slot[1] = i
            if y < slot[4]:
                slot[2], slot[4] = i, y
            elif y > slot[5]:
                slot[3], slot[5] = i, y
        for slot in columns.values():
            keep.update(slot[:4])
    left_i = right_i = -1
    for i in range(n):
        x = xs[i]
        if not isfinite(ys[i]):
            continue
        if x < x0 and (left_i < 0 or x >= xs[left_i]):  # the highest index among equals
            left_i = i
        elif x > x1 and (right_i < 0 or x < xs[right_i]):  # the lowest
            right_i = i
    keep.update(i for i in (left_i, right_i) if i >= 0)
    return sorted(keep)
