"""A plot's points as CSV over HTTP (``/live/<name>/data.csv``), at full
resolution, streamed by the I/O thread.

``?x0=&x1=`` (data units, optional) keep the points with x0 <= x <= x1;
``?series=a&series=b`` picks series (each parameter one name, so a name
may hold commas; default every series). A value that is no series' name but
whose comma-separated parts all are still picks those (the older form
``?series=a,b``; a name that exists always wins).
Rows are ``series,x,y`` (the format of :meth:`LivePlot.save` and of the
page's export, which :meth:`LivePlot.load` reads), floats in ``repr()`` form
so they read back exactly. The body is made :data:`ROWS` rows at a time
while it is sent, from a view of the points taken when the request came (no
copy: later pushes do not change it). Runs on the I/O thread.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from ..io.routes import Answer, StreamResponse
from ..messages import Request, Response

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]

__all__ = ["csv_route", "csv_rows", "series_names", "ROWS"]

ROWS = 16_384
"""Rows made per part of the body (about 0.5 MB)."""

Snapshot = Callable[[], tuple[list[str], list[tuple[Any, Any, bool]]]]
"""The plot's series names and, per series, its (xs, ys, sorted_x) views."""


def csv_route(name: str, snapshot: Snapshot) -> Callable[[Request], Answer]:
    """The route answering a plot's CSV requests. Runs on the I/O thread."""

    def route(request: Request) -> Answer:
        names, data = snapshot()
        query = request.query
        try:
            x0 = _bound(query, "x0", -math.inf)
            x1 = _bound(query, "x1", math.inf)
            if x0 > x1:
                raise ValueError("x0 must not be greater than x1")
            wanted = list(range(len(names)))
            asked = series_names(request.query_all.get("series", ()), names)
            if asked:
                known = {n: i for i, n in enumerate(names)}
                wanted = [known[n] for n in dict.fromkeys(asked)]
        except ValueError as exc:
            return Response(400, f"Bad Request: {exc}\n")
        bounded = math.isfinite(x0) or math.isfinite(x1)
        parts = [(names[i], *data[i]) for i in wanted]
        filename = name.replace('"', "")
        return StreamResponse(200, (("Content-Type", "text/csv; charset=utf-8"),
                                    ("Content-Disposition", f'attachment; filename="{filename}.csv"'),
                                    ("Cache-Control", "no-store")),
                              lambda: csv_rows(parts, x0, x1, bounded))

    return route


def series_names(values: Sequence[str], names: Sequence[str]) -> list[str]:
    """The series names that ``series=`` parameters ask for, in order: each
    value is one name, or (the older form) a comma-separated list of names
    when it is no name itself; empty values are skipped. Raises ValueError
    naming what is unknown. Pure."""
    known = set(names)
    asked: list[str] = []
    for value in values:
        if value in known or "," not in value:
            asked.append(value)
        else:
            parts = value.split(",")
            asked.extend(parts if all(p in known for p in parts) else [value])
    missing = [n for n in asked if n and n not in known]
    if missing:
        shown = ", ".join(repr(n) for n in missing)
        raise ValueError(f"unknown series {shown}; this plot has {', '.join(repr(n) for n in names)} "
                         "(one name per series= parameter)")
    return [n for n in asked if n]


def _bound(query: dict[str, str], key: str, default: float) -> float:
    text = query.get(key)
    if text is None or text == "":
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{key} must be a number, not {text[:40]!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number")
    return value


def csv_rows(parts: Sequence[tuple[str, Any, Any, bool]], x0: float, x1: float, bounded: bool) -> Iterator[bytes]:
    """The CSV body, in parts of at most :data:`ROWS` rows: the header, then
    every point of each (name, xs, ys, sorted_x) with x in [x0, x1] (every
    point when not ``bounded``). Pure."""
    yield b"series,x,y\n"
    for name, xs, ys, sorted_x in parts:
        field = _field(name)
        for lo, hi, keep in _ranges(xs, x0, x1, bounded, sorted_x):
            cx = xs[lo:hi]
            cy = ys[lo:hi]
            cx = cx.tolist() if hasattr(cx, "tolist") else list(cx)
            cy = cy.tolist() if hasattr(cy, "tolist") else list(cy)
            if keep is not None:
                rows = [f"{field},{x!r},{y!r}\n" for x, y, k in zip(cx, cy, keep, strict=True) if k]
            else:
                rows = [f"{field},{x!r},{y!r}\n" for x, y in zip(cx, cy, strict=True)]
            if rows:
                yield "".join(rows).encode()


def _ranges(xs: Any, x0: float, x1: float, bounded: bool,
            sorted_x: bool) -> Iterator[tuple[int, int, list[bool] | None]]:
    """Runs of at most ROWS points to write: (lo, hi, which to keep or None: all)."""
    n = len(xs)
    lo, hi = 0, n
    if bounded and sorted_x:
        if np is not None:
            x = np.asarray(xs)
            lo, hi = int(np.searchsorted(x, x0, "left")), int(np.searchsorted(x, x1, "right"))
        else:
            lo, hi = bisect.bisect_left(xs, x0), bisect.bisect_right(xs, x1)
    for start in range(lo, hi, ROWS):
        end = min(hi, start + ROWS)
        keep = None
        if bounded and not sorted_x:
            keep = [x0 <= x <= x1 for x in (xs[start:end].tolist() if hasattr(xs, "tolist") else xs[start:end])]
        yield start, end, keep


def _field(name: str) -> str:
    """``name`` as one CSV field (quoted when it must be, as the csv module does)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([name])
    return out.getvalue()
