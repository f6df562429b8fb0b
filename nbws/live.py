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
import re
import struct
import threading
from array import array
from collections import deque
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .app import App
from .bridge import io_thread
from .envelope import encode_topic

if TYPE_CHECKING:
    from .server import Server
    from .wsconn import WsConnection

__all__ = ["LivePlot", "Channel", "FigureStream", "encode_points", "decode_points", "downsample"]

_HEADER = struct.Struct("<4sBBHI")
_MAGIC = b"NBLP"
_live_server: Server | None = None
_live_lock = threading.Lock()


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


def page_url(server: Server, path: str) -> str:
    """The reachable URL of ``path`` on ``server``, token included."""
    base = server.url.split("?")[0]
    token = f"?token={server.token}" if server.token else ""
    return base.rstrip("/") + path + token


def _shared_server() -> Server:
    global _live_server
    from .server import start_server

    with _live_lock:
        if _live_server is None or not _live_server.running:
            _live_server = start_server(app=App(), name="nbws-live")
        return _live_server


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>html,body{{margin:0;height:100%;font:13px system-ui,sans-serif}}#plot{{height:100%}}</style></head>
<body><div id="plot"></div>
<script type="module">
import {{ liveplot }} from "../../_nbws/chart.js";
window.chart = liveplot(document.getElementById("plot"), {{ path: {path} }});
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
        max_points: points kept for late joiners (oldest dropped first).
        window: show the x range of the last N points of the series pushed
            most often, for every series (a series pushed rarely is cut to the
            same range instead of stretching the axis); None: all points.
            Points are expected in increasing x, as ``push(step, ...)`` gives.
        title: the page title.
        client_buffer: bytes that may wait for one page before it skips batches.
        history_points: most points per series sent to a joining page.
    """

    def __init__(
        self,
        name: str,
        series: Sequence[str] = ("y",),
        server: Server | None = None,
        fps: float = 30.0,
        max_points: int = 1_000_000,
        window: int | None = None,
        title: str | None = None,
        client_buffer: int = 4 * 1024 * 1024,
        history_points: int = 200_000,
    ) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"a plot name may use letters, digits, '_', '.', '-', not {name!r}")
        if not series:
            raise ValueError("a plot needs at least one series")
        if fps <= 0:
            raise ValueError("fps must be positive")
        self.name = name
        self.series = list(series)
        self._index = {s: i for i, s in enumerate(self.series)}
        self.fps = fps
        self.max_points = max_points
        self.window = window
        self.title = title or name
        self.client_buffer = client_buffer
        self.history_points = history_points
        self.server = server if server is not None else _shared_server()
        self._pending: deque[tuple[int, float, float]] = deque()
        self._history = [(array("d"), array("d")) for _ in self.series]
        self._subscribers: set[WsConnection] = set()
        self._closed = False
        self.frames_sent = 0
        """Frames written to pages so far."""
        self.batches_skipped = 0
        """Batches a slow page skipped."""
        self.largest_frame = 0
        """The largest frame sent so far, in bytes."""
        endpoint = self.server._endpoint
        if endpoint is None:
            raise RuntimeError("the server is not running")
        self._endpoint = endpoint
        self._path = f"/live/{name}/"
        page = PAGE.format(title=html.escape(self.title), path=json.dumps(f"live/{name}/ws")).encode()
        io = io_thread()

        def install() -> None:  # I/O thread
            endpoint.io_pages[self._path] = (page, "text/html; charset=utf-8")
            endpoint.io_sockets[self._path + "ws"] = self._subscribe
            io.loop.call_later(1 / self.fps, self._tick)

        io.post(install)

    # -- producer side: any thread, never blocks --

    def push(self, x: float, **values: float) -> None:
        """Add one point per named series at ``x``: ``plot.push(step, loss=0.3)``."""
        index = self._index
        append = self._pending.append
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
        self._pending.extend(zip([i] * len(xa), xa, ya, strict=True))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (at most ``timeout`` seconds) until the I/O thread has taken
        every pushed point; True when it has. Use it at the end of a loop."""
        import time

        deadline = time.monotonic() + timeout
        while self._pending and time.monotonic() < deadline:
            time.sleep(min(0.01, 1 / self.fps))
        return not self._pending

    # -- I/O thread --

    def _tick(self) -> None:
        if self._closed or not self.server.running:
            return
        try:
            self._flush()
        finally:
            io_thread().loop.call_later(1 / self.fps, self._tick)

    def _flush(self) -> None:
        pending = self._pending
        n = len(pending)
        if not n:
            return
        grouped = [(array("d"), array("d")) for _ in self.series]
        for _ in range(n):
            i, x, y = pending.popleft()
            grouped[i][0].append(x)
            grouped[i][1].append(y)
        chunks = []
        for i, (xs, ys) in enumerate(grouped):
            if xs:
                chunks.append(encode_points(i, xs, ys))
                hx, hy = self._history[i]
                hx.extend(xs)
                hy.extend(ys)
        self._trim()
        frame = b"".join(chunks)
        self.largest_frame = max(self.largest_frame, len(frame))
        for conn in list(self._subscribers):
            if conn._lost:
                self._subscribers.discard(conn)
                continue
            waiting = conn.pending_out()
            if waiting and waiting + len(frame) > self.client_buffer:
                # this page falls behind: it skips to later batches, so what waits
                # for it stays within client_buffer (or one frame, when it is idle)
                self.batches_skipped += 1
                continue
            conn.send_message(frame)
            self.frames_sent += 1

    def _trim(self) -> None:
        total = sum(len(xs) for xs, _ in self._history)
        if total <= self.max_points * 1.1:
            return
        excess = total - self.max_points
        for xs, ys in self._history:  # drop the oldest points, evenly across series
            drop = min(len(xs), excess * len(xs) // max(total, 1) + 1)
            del xs[:drop]
            del ys[:drop]

    def _subscribe(self, conn: WsConnection) -> None:
        """A page opened the plot's WebSocket: meta, history, then live frames."""
        meta = {"name": self.name, "title": self.title, "series": self.series, "window": self.window}
        conn.send_message(encode_topic("meta", meta))
        chunks = []
        for i, (xs, ys) in enumerate(self._history):
            if xs:
                dx, dy = downsample(xs, ys, self.history_points)
                chunks.append(encode_points(i, dx, dy))
        if chunks:
            conn.send_message(b"".join(chunks))
        self._subscribers.add(conn)

    # -- the rest --

    @property
    def url(self) -> str:
        """The plot's page, reachable from the user's browser."""
        return page_url(self.server, self._path)

    @property
    def points(self) -> int:
        """Points kept in the history (all series)."""
        return sum(len(xs) for xs, _ in self._history)

    def close(self) -> None:
        """Stop sending; the page stays served until the server stops."""
        self._closed = True

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        url = html.escape(self.url, quote=True)
        return {
            "text/plain": f"LivePlot {self.name!r} at {self.url}",
            "text/html": (f'<iframe src="{url}" style="width:100%;height:320px;border:0"></iframe>'
                          f'<div style="font:12px system-ui"><a href="{url}" target="_blank">{html.escape(self.url)}'
                          "</a></div>"),
        }


def _floats(values: Iterable[float]) -> Iterable[float]:
    tolist = getattr(values, "tolist", None)  # numpy arrays: one C-level conversion
    return tolist() if callable(tolist) else values


class Channel:
    """A named stream from Python to pages (``server.channel(name)``).

    Pages subscribe with ``connect({path: "_nbws/channel/<name>"})`` (nbws.js)
    or any WebSocket client at that path. ``send`` is thread-safe and never
    blocks. With ``policy="latest"`` a page that is still receiving an older
    value gets only the newest one when it is ready (frames of a video, the
    state of a figure); with ``policy="all"`` every value is sent, bounded by
    the server's send buffer and its policy. Subscriptions and sends are
    handled by the I/O thread, so they work while a cell is busy.
    """

    def __init__(self, server: Server, name: str, policy: str = "latest") -> None:
        if policy not in ("latest", "all"):
            raise ValueError("policy must be 'latest' or 'all'")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"a channel name may use letters, digits, '_', '.', '-', not {name!r}")
        self.server = server
        self.name = name
        self.policy = policy
        self.path = f"/_nbws/channel/{name}"
        self.sent = 0
        """Values written to pages."""
        self.skipped = 0
        """Values a busy page never got because a newer one replaced them."""
        self._latest: bytes | str | None = None
        self._subscribers: dict[WsConnection, bool] = {}  # conn -> has an unsent newer value
        self._timer = False
        endpoint = server._endpoint
        if endpoint is None:
            raise RuntimeError("the server is not running")
        io_thread().post(lambda: endpoint.io_sockets.__setitem__(self.path, self._subscribe))

    def send(self, value: Any) -> None:
        """Send ``value`` (str, bytes, or anything JSON-serialisable) to every subscribed page."""
        data: bytes | str
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
        elif isinstance(value, str):
            data = value
        else:
            data = json.dumps(value)
        io_thread().post(lambda: self._publish(data))

    # I/O thread
    def _publish(self, data: bytes | str) -> None:
        self._latest = data
        for conn in list(self._subscribers):
            self._offer(conn, data)

    def _offer(self, conn: WsConnection, data: bytes | str) -> None:
        if conn._lost:
            self._subscribers.pop(conn, None)
            return
        if self.policy == "latest" and conn.pending_out() > 0:
            if self._subscribers.get(conn):
                self.skipped += 1
            self._subscribers[conn] = True  # deliver the newest once the page caught up
            self._poll()
            return
        self._subscribers[conn] = False
        conn.send_message(data)
        self.sent += 1

    def _poll(self) -> None:
        if self._timer:
            return
        self._timer = True

        def check() -> None:
            self._timer = False
            waiting = [c for c, dirty in self._subscribers.items() if dirty]
            for conn in waiting:
                if self._latest is not None:
                    self._offer(conn, self._latest)

        io_thread().loop.call_later(0.01, check)

    def _subscribe(self, conn: WsConnection) -> None:
        self._subscribers[conn] = False
        if self.policy == "latest" and self._latest is not None:
            self._offer(conn, self._latest)


FIGURE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0;font:13px system-ui,sans-serif}}img{{max-width:100%;display:block}}</style></head>
<body><img id="figure" alt="{title}">
<script type="module">
import {{ connect }} from "../../_nbws/nbws.js";
const img = document.getElementById("figure");
window.frames_seen = 0;
const conn = connect({{ path: {path} }});
window.conn = conn;
conn.on("binary", (buf) => {{
  const url = URL.createObjectURL(new Blob([buf], {{ type: "image/png" }}));
  img.onload = () => URL.revokeObjectURL(url);
  img.src = url;
  window.frames_seen += 1;
}});
</script></body></html>
"""


class FigureStream:
    """Stream a matplotlib figure to a page as PNG frames, latest wins.

    ``stream = nbws.FigureStream(fig)``, then ``stream.update()`` whenever the
    figure changed (e.g. every N steps of a loop): the figure is rendered with
    the Agg canvas (no GUI needed) and pages at :attr:`url` show the newest
    frame; a slow page skips frames instead of queueing them.
    """

    def __init__(self, fig: Any, name: str | None = None, server: Server | None = None, dpi: float | None = None) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)  # attaches an Agg canvas; works with any backend
        self.name = name or f"figure-{id(fig):x}"
        self.dpi = dpi
        self.server = server if server is not None else _shared_server()
        self.channel = Channel(self.server, self.name, policy="latest")
        page = FIGURE_PAGE.format(title=html.escape(self.name),
                                  path=json.dumps(f"_nbws/channel/{self.name}")).encode()
        endpoint = self.server._endpoint
        assert endpoint is not None
        io_thread().post(lambda: endpoint.io_pages.__setitem__(f"/live/{self.name}/", (page, "text/html; charset=utf-8")))

    def update(self) -> int:
        """Render the figure now and send it; returns the PNG's size in bytes.
        Runs on the calling thread (rendering is the caller's work)."""
        import io

        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.dpi)
        png = buffer.getvalue()
        self.channel.send(png)
        return len(png)

    @property
    def url(self) -> str:
        """The figure's page, reachable from the user's browser."""
        return page_url(self.server, f"/live/{self.name}/")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        url = html.escape(self.url, quote=True)
        return {"text/plain": f"FigureStream {self.name!r} at {self.url}",
                "text/html": f'<iframe src="{url}" style="width:100%;height:480px;border:0"></iframe>'}
