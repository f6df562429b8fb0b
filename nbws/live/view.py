"""View queries of a plot's page: what a query may say, and the answer.

A page sends one TEXT message per view (``{"view": {"id", "x0", "x1",
"width", "series"?, "smooth"?, "logx"?}}``, at most 1 KiB); :func:`parse_view` turns
it into a :class:`ViewQuery` or raises :class:`BadQuery` (the socket then
closes with 1008 and the error's text). :func:`answer_view` builds the one
binary frame that answers it (the chunk kinds of :mod:`.frames`). Pure: the
plot calls both on the I/O thread.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .frames import VIEW_POINTS, VIEW_SMOOTHED, downsample, encode_points, encode_view_header
from .zoom import in_range, select

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]

__all__ = ["ViewQuery", "BadQuery", "parse_view", "answer_view", "history", "MAX_QUERY", "MAX_WIDTH", "SeriesData",
           "ViewData"]

MAX_QUERY = 1024
"""The longest view query a page may send, in bytes."""
MAX_WIDTH = 8192
"""The most pixel columns a view may ask for."""
MAX_ID = 2**31

SeriesData = tuple[Any, Any, bool]
"""One series' full-resolution (xs, ys) and whether its x is non-decreasing."""
ViewData = tuple[Any, Any, bool, Any]
""":data:`SeriesData` and the :class:`~.blocks.Blocks` of its ys (None without numpy)."""
Smoother = Callable[[int, float], tuple[Any, float, float, Any]]
"""(series index, weight) -> (the smoothed ys of the whole series, ema_last,
ema_count, their :class:`~.blocks.Blocks` or None)."""


class BadQuery(ValueError):
    """A page's message is not a valid view query; its text is the close reason."""


@dataclass(frozen=True)
class ViewQuery:
    """One view a page asks for: x in [x0, x1] (data units) on ``width``
    pixel columns, of ``series`` (None: every series), smoothed with EMA
    weight ``smooth`` (0: not smoothed), its columns equal in log10 units
    when ``logx`` (a log x axis; x0 > 0). Immutable."""

    id: int
    x0: float
    x1: float
    width: int
    series: tuple[int, ...] | None = None
    smooth: float = 0.0
    logx: bool = False


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_view(message: str | bytes, series_count: int) -> ViewQuery:
    """The query in a page's message, for a plot with ``series_count`` series;
    raises :class:`BadQuery` saying what is wrong. Keys a query does not
    define are ignored. Pure."""
    if not isinstance(message, str):
        raise BadQuery("a view query is a text message")
    if len(message) > MAX_QUERY or len(message.encode("utf-8", "replace")) > MAX_QUERY:
        raise BadQuery(f"a view query is at most {MAX_QUERY} bytes")
    try:
        data = json.loads(message)
    except ValueError:
        raise BadQuery("a view query is JSON") from None
    view = data.get("view") if isinstance(data, dict) else None
    if not isinstance(view, dict):
        raise BadQuery('expected {"view": {...}}')
    view_id, width = view.get("id"), view.get("width")
    x0: Any = view.get("x0")
    x1: Any = view.get("x1")
    if not isinstance(view_id, int) or isinstance(view_id, bool) or not 1 <= view_id <= MAX_ID:
        raise BadQuery(f"view.id must be an integer in 1..{MAX_ID}")
    if not (_number(x0) and _number(x1) and math.isfinite(x0) and math.isfinite(x1)) or not x1 > x0:
        raise BadQuery("view.x0 and view.x1 must be finite numbers with x0 < x1")
    if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= MAX_WIDTH:
        raise BadQuery(f"view.width must be an integer in 1..{MAX_WIDTH}")
    series = view.get("series")
    if series is not None:
        if not isinstance(series, list) or not all(
                isinstance(s, int) and not isinstance(s, bool) and 0 <= s < series_count for s in series):
            raise BadQuery(f"view.series must be a list of series indexes in 0..{series_count - 1}")
        series = tuple(dict.fromkeys(series))  # each once, in the page's order
    smooth = view.get("smooth", 0)
    if smooth is None:
        smooth = 0
    if not _number(smooth) or not 0 <= smooth < 1:
        raise BadQuery("view.smooth must be a number with 0 <= smooth < 1")
    logx = view.get("logx", False)
    if logx is None:
        logx = False
    if not isinstance(logx, bool):
        raise BadQuery("view.logx must be true or false")
    if logx and not x0 > 0:
        raise BadQuery("view.x0 must be above 0 on a log x axis (view.logx)")
    return ViewQuery(view_id, float(x0), float(x1), width, series, float(smooth), logx)


def answer_view(query: ViewQuery, data: Sequence[ViewData], smoother: Smoother) -> bytes:
    """The frame that answers ``query`` over the series ``data`` (indexed as
    the plot's): a kind 2 header, then per answered series its kind 1 chunk
    and, when smoothing, its kind 3 chunk. ``smoother`` gives a series'
    smoothed ys (called only when ``query.smooth`` > 0). Pure."""
    wanted = query.series if query.series is not None else tuple(range(len(data)))
    rows: list[tuple[int, int, float, float]] = []
    chunks: list[bytes] = []
    for s in wanted:
        xs, ys, sorted_x, blocks = data[s]
        count = in_range(xs, query.x0, query.x1, sorted_x)
        chunks.append(_chunk(VIEW_POINTS, s, xs, ys, query, sorted_x, blocks))
        last = total = 0.0
        if query.smooth > 0:
            smoothed, last, total, smoothed_blocks = smoother(s, query.smooth)
            chunks.append(_chunk(VIEW_SMOOTHED, s, xs, smoothed, query, sorted_x, smoothed_blocks))
        rows.append((s, count, last, total))
    return encode_view_header(query.id, query.x0, query.x1, query.width, rows) + b"".join(chunks)


def _chunk(kind: int, series: int, xs: Any, ys: Any, query: ViewQuery, sorted_x: bool, blocks: Any) -> bytes:
    keep = select(xs, ys, query.x0, query.x1, query.width, sorted_x, logx=query.logx, blocks=blocks)
    if np is not None:
        x = np.asarray(xs, dtype=np.float64)[keep]
        y = np.asarray(ys, dtype=np.float64)[keep]
        return encode_points(series, x, y, kind)
    return encode_points(series, array("d", (xs[i] for i in keep)), array("d", (ys[i] for i in keep)), kind)


def history(xs: Any, ys: Any, limit: int, sorted_x: bool, blocks: Any = None) -> tuple[Any, Any]:
    """At most about ``limit`` points of a series that keep its shape, for a
    page that joins: all of them when there are no more, else M4 over the
    whole x range on ``limit`` / 4 columns, and the newest point. Sorted x
    takes the binary-search path of :func:`~.zoom.select` (with ``blocks``,
    the ys' summaries, when given). Pure."""
    n = len(xs)
    if n <= limit or limit < 12:
        return xs, ys
    first, last = float(xs[0]), float(xs[n - 1])
    if not (sorted_x and math.isfinite(first) and math.isfinite(last) and last > first):
        return downsample(xs, ys, limit)
    keep = select(xs, ys, first, last, (limit - 8) // 4, True, blocks=blocks)
    if np is not None:
        if not keep.size or keep[-1] != n - 1:  # the newest point always shows
            keep = np.r_[keep, n - 1]
        return np.asarray(xs)[keep], np.asarray(ys)[keep]
    if not keep or keep[-1] != n - 1:
        keep.append(n - 1)
    return array("d", (xs[i] for i in keep)), array("d", (ys[i] for i in keep))
