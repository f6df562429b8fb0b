"""A plot's points as CSV over HTTP (``/live/<name>/data.csv``), at full
resolution, streamed by the I/O thread.

``?x0=&x1=`` (data units, optional) keep the points with x0 <= x <= x1;
``?series=a&series=b`` picks series (each parameter one name, so a name
may hold commas; default every series). A value that is no series' name but
whose comma-separated parts all are still picks those (the older form
``?series=a,b``; a name that exists always wins).
Rows are ``series,x,y`` (the format of :meth:`LivePlot.save` and of the
page's export, which :meth:`LivePlot.load` reads), floats in ``repr()`` form
so they read back exactly.

A request records only which points it wants: per series the absolute index
range (a series counts its points from the first ever pushed) of the points
in the window when it came. Each part of the body is then read from the
plot's live store, so a download holds no buffer of the plot (a stalled one
pins nothing) and points pushed after the request are not in it; points
the plot drops meanwhile (``max_points``) are skipped. A part is about
:data:`PART_SECONDS` of the I/O thread's work, so other sockets are served
between parts. At most :data:`MAX_STREAMS` downloads of one plot run at once;
one more gets 429. Runs on the I/O thread.
"""

from __future__ import annotations

import csv
import io
import math
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..io.routes import Answer, StreamResponse
from ..messages import Request, Response
from .zoom import bounds

__all__ = ["csv_route", "csv_rows", "series_names", "Want", "ROWS", "PART_SECONDS", "PART_BYTES", "MAX_STREAMS"]

ROWS = 1024
"""Rows made at a time; a part ends after the batch that passes its time or size."""
PART_SECONDS = 0.004
"""The I/O thread's time making one part of the body, about."""
PART_BYTES = 256 * 1024
"""The most bytes of a part, about (one batch more at most)."""
MAX_STREAMS = 4
"""CSV downloads of one plot at once; one more is answered 429."""


class SeriesLike(Protocol):
    """What a download reads of a series of the plot's store (I/O thread)."""

    dropped: int

    def __len__(self) -> int: ...

    @property
    def sorted_x(self) -> bool: ...

    def views(self) -> tuple[Any, Any]: ...


Source = Callable[[], tuple[Sequence[str], Sequence[SeriesLike]]]
"""The plot's series names and its live series (its store's)."""


@dataclass(frozen=True)
class Want:
    """The points of one series a download writes: absolute indexes [first,
    stop), only those with x in [x0, x1] when ``check`` (x not sorted).
    Immutable; the series is the live one, never a copy or a view."""

    name: str
    series: SeriesLike
    first: int
    stop: int
    check: bool


class _Slot:
    """One of a plot's download places, given back once (stream ended or
    the response dropped unsent)."""

    __slots__ = ("count", "held")

    def __init__(self, count: list[int]) -> None:
        self.count, self.held = count, True
        count[0] += 1

    def release(self) -> None:
        if self.held:
            self.held = False
            self.count[0] -= 1


def csv_route(name: str, source: Source, streams: int = MAX_STREAMS) -> Callable[[Request], Answer]:
    """The route answering a plot's CSV requests, at most ``streams`` at
    once. Runs on the I/O thread."""
    running = [0]  # downloads of this plot under way (I/O thread only)

    def route(request: Request) -> Answer:
        names, store = source()
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
        if running[0] >= streams:
            return Response(429, f"Too Many Requests: {streams} CSV downloads of this plot are under way; "
                                 "try again when one has ended\n", headers={"Retry-After": "5"})
        bounded = math.isfinite(x0) or math.isfinite(x1)
        wants = [want(names[i], store[i], x0, x1, bounded) for i in wanted]
        slot = _Slot(running)
        filename = name.replace('"', "")
        response = StreamResponse(200, (("Content-Type", "text/csv; charset=utf-8"),
                                        ("Content-Disposition", f'attachment; filename="{filename}.csv"'),
                                        ("Cache-Control", "no-store")),
                                  lambda: csv_rows(wants, x0, x1, slot.release))
        weakref.finalize(response, slot.release)  # a response never sent (HEAD, a bad body) gives it back too
        return response

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


def want(name: str, series: SeriesLike, x0: float, x1: float, bounded: bool) -> Want:
    """What a download of ``series`` wants now: its points in [x0, x1]
    (every point when not ``bounded``), as absolute indexes. I/O thread."""
    first, n = series.dropped, len(series)
    if bounded and series.sorted_x and n:
        lo, hi = bounds(series.views()[0], x0, x1)
        return Want(name, series, first + lo, first + hi, False)
    return Want(name, series, first, first + n, bounded)


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


def csv_rows(wants: Sequence[Want], x0: float, x1: float,
             done: Callable[[], None] | None = None) -> Iterator[bytes]:
    """The CSV body in parts of about :data:`PART_SECONDS` of work (and at
    most about :data:`PART_BYTES`): the header, then each :class:`Want`'s
    points still kept, read from its live series part by part. ``done`` is
    called when the body ends or is abandoned. I/O thread."""
    try:
        yield b"series,x,y\n"
        out: list[str] = []
        size = 0
        began = time.perf_counter()
        for w in wants:
            field = _field(w.name)
            at = w.first
            while at < w.stop:
                series = w.series
                first = series.dropped
                at = max(at, first)  # points dropped since the request are skipped
                end = min(w.stop, at + ROWS, first + len(series))
                if at >= end:
                    break
                xs, ys = series.views()  # the live points; nothing is kept past this batch
                cx, cy = xs[at - first:end - first].tolist(), ys[at - first:end - first].tolist()
                del xs, ys
                if w.check:
                    batch = [f"{field},{x!r},{y!r}\n" for x, y in zip(cx, cy, strict=True) if x0 <= x <= x1]
                else:
                    batch = [f"{field},{x!r},{y!r}\n" for x, y in zip(cx, cy, strict=True)]
                at = end
                if batch:
                    text = "".join(batch)
                    out.append(text)
                    size += len(text)
                if size >= PART_BYTES or time.perf_counter() - began >= PART_SECONDS:
                    if out:
                        yield "".join(out).encode()
                    out, size = [], 0
                    began = time.perf_counter()
        if out:
            yield "".join(out).encode()
    finally:
        if done is not None:
            done()


def _field(name: str) -> str:
    """``name`` as one CSV field (quoted when it must be, as the csv module does)."""
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow([name])
    return out.getvalue()
