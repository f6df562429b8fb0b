"""Live plots: stream points from a running cell to browser charts.

``plot.push(x, loss=...)`` only appends to a thread-safe deque (no lock, no
I/O, never blocks). The I/O thread takes what was pushed at most ``fps``
times a second, appends it to a bounded history, and sends it to every page
as one binary frame of float64 arrays. The plot's page and its WebSocket are
served by the I/O thread too, so browsers join and update while the cell that
pushes is still running.

Frame format (little-endian), repeated once per series present in a batch::

    b"NBLP" | u8 version (1) | u8 kind (0: points) | u16 series | u32 count
    | count float64 x | count float64 y
"""

from __future__ import annotations

import html
import json
import os
import pathlib
import re
from array import array
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..backplane import PLOT
from ..boundary import Mailbox, on_io_thread, submit
from ..envelope import encode_topic
from ..errors import ServerNotRunningError
from ..reach import link_html, page_url
from .embed import themed_frame_html
from .export import csv_route
from .frames import TAKE_PER_TICK, encode_points, group_points
from .queries import Queries
from .runs import Run, read_run, write_run
from .shared import PageInfo, shared_server
from .smooth import SLICE, Smoothed
from .store import Store
from .view import SeriesData, ViewData, history

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection
    from ..server import Server

__all__ = ["LivePlot"]


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<style>html,body{{margin:0;height:100%;font:13px system-ui,sans-serif}}#plot{{height:100%}}</style></head>
<body><div id="plot"></div>
<script type="module">
import {{ liveplot }} from "../../_nbws/chart.js";
// the plot's own theme= option wins; else the embedding notebook's (?theme=), else the browser's preference
const theme = {theme} !== "auto" ? {theme} : new URLSearchParams(location.search).get("theme");
window.chart = liveplot(document.getElementById("plot"), {{ path: {path}, theme }});
</script></body></html>
"""


class LivePlot:
    """A live chart fed from Python, shown in the notebook and at :attr:`url`.

    ``push`` and ``push_many`` are thread-safe and never block: a training
    loop can call them at full speed. Pages get the points as binary frames
    at most ``fps`` times a second; a page that cannot keep up skips to the
    latest batches (its queue is bounded by ``client_buffer`` bytes) instead of
    slowing the producer; a page that joins late first gets the history
    (``max_points`` per plot, downsampled to ``history_points`` per series).

    Args:
        name: the plot's name; its page is ``/live/<name>/``.
        series: the names of its series (``push(x, loss=..., acc=...)``).
        server: the server to use (default: a shared one, started on demand).
        fps: most frames per second sent to pages.
        max_points: points kept at full resolution, all series (oldest
            dropped first): for views (zoom), CSV export, late joiners and
            :meth:`save`; about 23 bytes a point with spare buffer and
            summaries (230 MB at the default 10,000,000), up to ~35 while a
            column moves to a new buffer (README "Appending at 10 M points").
            Overlays (:meth:`compare`) are kept whole, outside it.
        window: show the x range of the last N points of the series pushed
            most often, for every series (a series pushed rarely is cut to the
            same range instead of stretching the axis); None: all points.
            Points are expected in increasing x, as ``push(step, ...)`` gives.
        title: the chart's title (default: the name).
        client_buffer: bytes that may wait for one page before it skips batches.
        history_points: most points per series sent to a joining page.
        xlabel, ylabel: the axis labels.
        theme: ``"auto"`` (the embedding notebook's theme, else the browser's
            ``prefers-color-scheme``), ``"light"`` or ``"dark"``.
        logx, logy: start with a log x / log y axis (the page's boxes switch).
    """

    def __init__(
        self,
        name: str,
        series: Sequence[str] = ("y",),
        server: Server | None = None,
        fps: float = 30.0,
        max_points: int = 10_000_000,
        window: int | None = None,
        title: str | None = None,
        client_buffer: int = 4 * 1024 * 1024,
        history_points: int = 200_000,
        xlabel: str | None = None,
        ylabel: str | None = None,
        theme: str = "auto",
        logx: bool = False,
        logy: bool = False,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"a plot name may use letters, digits, '_', '.', '-', not {name!r}")
        if not series:
            raise ValueError("a plot needs at least one series")
        if fps <= 0:
            raise ValueError("fps must be positive")
        if theme not in ("auto", "light", "dark"):
            raise ValueError(f"theme must be 'auto', 'light' or 'dark', not {theme!r}")
        self.name = name
        self.series = list(series)
        self._index = {s: i for i, s in enumerate(self.series)}
        self.fps = fps
        self.window = window
        self.title = title or name
        self.client_buffer = client_buffer
        self.history_points = history_points
        self.xlabel = xlabel or ""
        self.ylabel = ylabel or ""
        self.theme = theme
        self.logx = logx
        self.logy = logy
        self.server = server if server is not None else shared_server()
        # one point (series, x, y), or a push_many batch (series, xs bytes, ys bytes)
        self._pending: Mailbox[tuple[int, float | bytes, float | bytes]] = Mailbox()
        self._store = Store(len(self.series), max_points)
        self._smooth: dict[int, Smoothed] = {}  # per series, the EMA of the weight a page asked for last
        self._overlay: dict[int, int] = {}  # overlaid series -> the series whose colour it takes
        self._subscribers: set[WsConnection] = set()
        self._closed = False
        self.frames_sent = 0
        """Frames written to pages so far."""
        self.batches_skipped = 0
        """Batches a slow page skipped."""
        self.largest_frame = 0
        """The largest frame sent so far, in bytes."""
        endpoint = self.server._endpoint
        if endpoint is None or not self.server.running:
            raise ServerNotRunningError("the plot's server is not running; start one with nbws.start_server() "
                                        "or pass server=None for the shared one")
        self._endpoint = endpoint
        self._queries = Queries(endpoint.io.loop, self._view_data, self._smoothed, self._smoothing, self._runs)
        self._path = f"/live/{name}/"
        page = PAGE.format(title=html.escape(self.title), path=json.dumps(f"live/{name}/ws"),
                           theme=json.dumps(theme)).encode()
        self._next_tick = 0.0  # when the next tick is due (the I/O loop's clock); I/O thread

        def install() -> None:  # I/O thread
            endpoint.live[(PLOT, name)] = self  # announced to relays (nbws.relay)
            endpoint.routes.add_page(self._path, page, "text/html; charset=utf-8")
            endpoint.routes.add_socket(self._path + "ws", self._subscribe)
            endpoint.routes.add_data(self._path + "data.csv", csv_route(name, lambda: (self.series, self._store.series)))
            self._next_tick = endpoint.io.loop.time() + 1 / self.fps
            endpoint.io.loop.call_at(self._next_tick, self._tick)
            endpoint.router.listen(PLOT, name, self._deliver_frame)  # frames of this plot from the app's other servers

        submit(install)

    @property
    def max_points(self) -> int:
        """Points kept at full resolution, all series (settable)."""
        return self._store.max_points

    @max_points.setter
    def max_points(self, value: int) -> None:
        self._store.max_points = value

    @property
    def pages(self) -> tuple[PageInfo, ...]:
        """The pages watching this plot now, each with its address and its
        unsent bytes (a snapshot). Thread-safe."""
        return tuple(PageInfo(c.peer_address, c.pending_out()) for c in tuple(self._subscribers) if not c.lost)

    # -- producer side: any thread, never blocks --

    def push(self, x: float, **values: float) -> None:
        """Add one point per named series at ``x``: ``plot.push(step, loss=0.3)``."""
        index = self._index
        append = self._pending.put
        fx = float(x)
        for key, value in values.items():
            i = index.get(key)
            if i is None:
                raise ValueError(f"unknown series {key!r}; this plot has {self.series}")
            append((i, fx, float(value)))

    def push_many(self, xs: Iterable[float], ys: Iterable[float], series: str | None = None) -> None:
        """Add many points to one series (lists or numpy arrays)."""
        name = series if series is not None else self.series[0]
        i = self._index.get(name)
        if i is None:
            raise ValueError(f"unknown series {name!r}; this plot has {self.series}")
        xa = array("d", _floats(xs))
        ya = array("d", _floats(ys))
        if len(xa) != len(ya):
            raise ValueError("xs and ys must have the same length")
        if xa:
            self._pending.put((i, xa.tobytes(), ya.tobytes()))  # one hand-off, immutable

    def flush(self, timeout: float = 5.0) -> bool:
        """Hand every point pushed so far to the pages now (the I/O thread
        takes them at once instead of at its next tick); True when it has,
        False when it did not answer within ``timeout`` seconds. Use it at the
        end of a loop. Blocking; any thread but the I/O thread."""
        try:
            self._endpoint.io.call(self._flush, timeout)
        except TimeoutError:
            return False
        return not len(self._pending)

    # -- I/O thread --

    @on_io_thread
    def _tick(self) -> None:
        """Send what was pushed, ``fps`` times a second at fixed times (a late
        tick does not push the next ones back). Runs on the I/O thread."""
        if self._closed or not self.server.running:
            return
        try:
            self._flush()
        finally:
            loop = self._endpoint.io.loop
            period = 1 / self.fps
            self._next_tick += period
            if self._next_tick < loop.time():  # more than a period late: start afresh
                self._next_tick = loop.time() + period
            loop.call_at(self._next_tick, self._tick)

    @on_io_thread
    def _flush(self) -> None:
        points = self._pending.take(TAKE_PER_TICK)
        if not points:
            return
        grouped = group_points(points, len(self.series))
        chunks = []
        for i, (xs, ys) in enumerate(grouped):
            if xs:
                chunks.append(encode_points(i, xs, ys))
                self._store.series[i].append(xs, ys)
        self._store.trim()
        frame = b"".join(chunks)
        self.largest_frame = max(self.largest_frame, len(frame))
        self._endpoint.router.share(PLOT, self.name, frame, self._deliver_frame)  # here and on the app's servers

    @on_io_thread
    def _deliver_frame(self, frame: str | bytes) -> None:
        """Send one frame to this server's pages (a page behind skips it)."""
        for conn in list(self._subscribers):
            if conn.lost:
                self._subscribers.discard(conn)
                continue
            waiting = conn.pending_out()
            if (waiting and waiting + len(frame) > self.client_buffer) or self._queries.waiting(conn):
                # (a page whose view query waits for its buffer to drain skips batches too: the answer first)
                # this page falls behind: it skips to later batches, so what waits
                # for it stays within client_buffer (or one frame, when it is idle)
                self.batches_skipped += 1
                continue
            conn.send_message(frame)
            self.frames_sent += 1

    def _meta(self, start: bool = False) -> str:
        """The plot's settings for its pages; ``start``: this connection's
        stream starts here (its history follows), so a page that reconnected
        drops what it held."""
        return encode_topic("meta", {
            "start": start, "name": self.name, "title": self.title, "series": self.series, "window": self.window,
            "xlabel": self.xlabel, "ylabel": self.ylabel, "theme": self.theme, "logx": self.logx, "logy": self.logy,
            "overlay": {str(i): base for i, base in self._overlay.items()}})

    def _history_frame(self, first: int = 0) -> bytes:
        """The history of the series from index ``first`` on, M4-decimated to
        ``history_points`` per series, as one frame."""
        chunks = []
        for i, series in enumerate(self._store.series[first:], start=first):
            if len(series):
                xs, ys = series.views()
                chunks.append(encode_points(i, *history(xs, ys, self.history_points, series.sorted_x,
                                                        series.blocks)))
        return b"".join(chunks)

    def _subscribe(self, conn: WsConnection) -> None:
        """A page opened the plot's WebSocket: meta, history, then live frames."""
        conn.listener = self._queries  # the page's view queries, answered on this thread
        conn.send_message(self._meta(start=True))
        history = self._history_frame()
        if history:
            conn.send_message(history)
        self._subscribers.add(conn)

    # -- views (I/O thread) --

    def _series_data(self) -> list[SeriesData]:
        return [(*s.views(), s.sorted_x) for s in self._store.series]

    def _view_data(self) -> list[ViewData]:
        return [(*s.views(), s.sorted_x, s.blocks) for s in self._store.series]

    def _runs(self, index: int) -> list[tuple[int, int]] | None:
        series = self._store.series[index]
        return series.runs() if series.blocks is not None else None  # numpy only

    def _ema(self, index: int, weight: float) -> Smoothed:
        smoothed = self._smooth.get(index)
        if smoothed is None or smoothed.weight != weight:
            smoothed = self._smooth[index] = Smoothed(weight)
        return smoothed

    def _smoothed(self, index: int, weight: float) -> tuple[Any, float, float, Any]:
        smoothed = self._ema(index, weight)
        values = smoothed.update(self._store.series[index])
        return values, smoothed.last, smoothed.count, smoothed.blocks

    def _smoothing(self, index: int, weight: float) -> bool:
        """One slice of a series' EMA for ``weight``; True when it is whole."""
        return self._ema(index, weight).advance(self._store.series[index], SLICE)

    # -- saved runs --

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the points kept (up to ``max_points``, every series, overlays
        included) to ``path``: Parquet when it ends in ``.parquet`` (needs
        pyarrow), else CSV (``series,x,y``, one row per point). Flushes what
        was pushed first. Blocking; any thread but the I/O thread."""
        self.flush()
        names, data = self._endpoint.io.call(self._snapshot, 30.0)
        write_run(path, names, data)

    @on_io_thread
    def _snapshot(self) -> Run:
        return list(self.series), [s.copy() for s in self._store.series]

    @classmethod
    def load(cls, path: str | os.PathLike[str], name: str | None = None, server: Server | None = None,
             **options: Any) -> LivePlot:
        """A new plot holding a saved run (:meth:`save`, or a chart's CSV
        export): its series and points, at ``/live/<name>/`` (default: the
        file's name). ``options`` are :class:`LivePlot`'s. Blocking."""
        names, data = read_run(path)
        if not names:
            raise ValueError(f"{os.fspath(path)!r} holds no points")
        if name is None:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "-", pathlib.Path(path).stem) or "run"
        total = sum(len(xs) for xs, _ in data)
        options.setdefault("max_points", max(total, 10_000_000))
        plot = cls(name, series=names, server=server, **options)
        for series, (xs, ys) in zip(names, data, strict=True):
            plot.push_many(xs, ys, series=series)
        plot.flush(30.0)
        return plot

    def compare(self, older: LivePlot | str | os.PathLike[str], label: str | None = None) -> list[str]:
        """Overlay an older run on this plot: every series of ``older`` (a
        plot, e.g. from :meth:`load`, or a saved file) is added as
        ``"<series> (<label>)"``, drawn dashed in the colour of this plot's
        series of the same name. Pages showing the plot get it at once.
        Returns the names of the added series. Blocking."""
        if isinstance(older, LivePlot):
            names, data = older._endpoint.io.call(older._snapshot, 30.0)
            label = label or older.name
        else:
            names, data = read_run(older)
            label = label or pathlib.Path(older).stem
        added = [f"{n} ({label})" for n in names]
        self._endpoint.io.call(lambda: self._add_overlay(names, added, data), 30.0)
        return added

    @on_io_thread
    def _add_overlay(self, names: list[str], added: list[str], data: list[tuple[array[float], array[float]]]) -> None:
        first = len(self.series)
        for name, label, (xs, ys) in zip(names, added, data, strict=True):
            i = len(self.series)
            base = self._index.get(name)
            self._overlay[i] = base if base is not None else i
            self.series = [*self.series, label]
            self._index = {**self._index, label: i}
            self._store.add(xs, ys)
        meta, history = self._meta(), self._history_frame(first)
        for conn in list(self._subscribers):
            if not conn.lost:
                conn.send_message(meta)
                if history:
                    conn.send_message(history)

    # -- the rest --

    @property
    def url(self) -> str:
        """The plot's page, reachable from the user's browser."""
        return page_url(self.server, self._path)

    @property
    def points(self) -> int:
        """Points kept at full resolution (all series)."""
        return self._store.points

    def close(self) -> None:
        """Stop sending; the page stays served until the server stops."""
        self._closed = True

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/plain": f"LivePlot {self.name!r} at {self.url}",
            "text/html": (themed_frame_html(self.server, self._path, theme=self.theme)
                          + '<div style="font:12px system-ui">'
                          + link_html(self.server, self._path) + "</div>"),
        }


def _floats(values: Iterable[float]) -> Iterable[float]:
    tolist = getattr(values, "tolist", None)  # numpy arrays: one C-level conversion
    return tolist() if callable(tolist) else values
