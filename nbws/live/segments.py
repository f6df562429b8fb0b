"""Views of a series whose x goes back a few times, from its sorted runs.

A :class:`~.store.Series` knows where its x goes back (at most
:data:`~.store.MAX_RUNS` runs, each non-decreasing). Each run is searched
as a sorted series is (binary search for the range and the columns, block
summaries for wide columns), and the runs' points are merged into exactly
what :func:`~.zoom.select` gives over the whole series on its general path
(every point looked at): all points in [x0, x1] when there are at most
``4 * width`` in all; else, per column, the first, last, first-minimum and
first-maximum among the runs' own M4 picks (each column's extremes are among
them); and on each side the nearest of the runs' nearest points. So one x
that goes back costs a few binary searches instead of a pass over millions
of points. numpy only. Pure: the plot calls it on the I/O thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .frames import VIEW_POINTS, VIEW_SMOOTHED, encode_points, encode_view_header
from .view import Smoother, ViewData, ViewQuery
from .zoom import _grouped_m4, edges, in_range, select

__all__ = ["Runs", "answer_runs", "select_runs"]

Runs = list[tuple[int, int]]
"""A series' sorted runs: [start, stop) indexes, in order, covering it."""


def select_runs(xs: Any, ys: Any, runs: Runs, x0: float, x1: float, width: int, blocks: Any = None, *,
                logx: bool = False) -> tuple[int, Any]:
    """(how many points have x in [x0, x1], the indexes a view shows), the
    same as ``in_range`` and ``select`` over the whole series on its general
    path (columns equal in log10 units with ``logx``); ``blocks`` are the
    summaries of ``ys`` (up to date) or None. Pure."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    count = 0
    parts = [np.zeros(0, dtype=np.int64)]
    for a, b in runs:
        if b <= a:
            continue
        count += in_range(x[a:b], x0, x1, True)
        part = blocks.shifted(a) if blocks is not None else None
        parts.append(np.asarray(select(x[a:b], y[a:b], x0, x1, width, True, logx=logx, blocks=part), dtype=np.int64) + a)
    picked = np.concatenate(parts)
    px, py = x[picked], y[picked]
    finite = np.isfinite(py)
    inside = (px >= x0) & (px <= x1)  # a NaN x: in no range, on neither side
    chosen = [_nearest(picked, px, finite & (px < x0), True), _nearest(picked, px, finite & (px > x1), False)]
    if count <= 4 * width:
        chosen.append(picked[inside])
    else:
        keep = inside & finite
        index, xk, yk = picked[keep], px[keep], py[keep]
        column = np.searchsorted(np.asarray(edges(x0, x1, width, logx)), xk, "right") - 1
        order = np.argsort(column, kind="stable")  # by column, then by index (picked is increasing)
        index, column, yk = index[order], column[order], yk[order]
        if index.size:
            starts = np.flatnonzero(np.r_[True, column[1:] != column[:-1]])
            chosen.append(_grouped_m4(yk, starts, index))
    return count, np.unique(np.concatenate(chosen))


def _nearest(index: Any, x: Any, side: Any, left: bool) -> Any:
    """The nearest point on one side among ``index`` (``side`` masks that
    side's points): the largest x (highest index among equals) on the left,
    the smallest x (lowest index) on the right."""
    at = np.flatnonzero(side)
    if not at.size:
        return at
    xs = x[at]
    hits = index[at[xs == (xs.max() if left else xs.min())]]
    return hits[-1:] if left else hits[:1]


def answer_runs(query: ViewQuery, data: Sequence[ViewData], smoother: Smoother,
                runs: dict[int, Runs]) -> bytes:
    """The frame answering ``query``, as :func:`~.view.answer_view` makes
    it, the series in ``runs`` searched run by run (the others as
    ``answer_view`` does). Pure."""
    wanted = query.series if query.series is not None else tuple(range(len(data)))
    rows: list[tuple[int, int, float, float]] = []
    chunks: list[bytes] = []
    for s in wanted:
        xs, ys, sorted_x, blocks = data[s]
        count, keep = _pick(query, xs, ys, sorted_x, blocks, runs.get(s))
        chunks.append(_chunk(VIEW_POINTS, s, xs, ys, keep))
        last = total = 0.0
        if query.smooth > 0:
            smoothed, last, total, smoothed_blocks = smoother(s, query.smooth)
            chunks.append(_chunk(VIEW_SMOOTHED, s, xs, smoothed,
                                 _pick(query, xs, smoothed, sorted_x, smoothed_blocks, runs.get(s))[1]))
        rows.append((s, count, last, total))
    return encode_view_header(query.id, query.x0, query.x1, query.width, rows) + b"".join(chunks)


def _pick(query: ViewQuery, xs: Any, ys: Any, sorted_x: bool, blocks: Any, runs: Runs | None) -> tuple[int, Any]:
    if runs is not None:
        return select_runs(xs, ys, runs, query.x0, query.x1, query.width, blocks, logx=query.logx)
    return in_range(xs, query.x0, query.x1, sorted_x), select(xs, ys, query.x0, query.x1, query.width, sorted_x,
                                                              logx=query.logx, blocks=blocks)


def _chunk(kind: int, series: int, xs: Any, ys: Any, keep: Any) -> bytes:
    return encode_points(series, np.asarray(xs, dtype=np.float64)[keep], np.asarray(ys, dtype=np.float64)[keep], kind)
