"""The I/O plane's route table: which requests it answers itself.

A route is a function of the :class:`~nbws.Request` that returns a response
value — a :class:`~nbws.Response`, or a :class:`FileResponse` (a region of a
file) — or None when the request is not its business. :class:`Routes` asks
them in order: live pages (``LivePlot``, ``FigureStream``), nbws's own assets
(``/_nbws/nbws.js`` …), then the app's static paths. A request no route takes
goes to the app's handlers on the handler plane (``on_headers``, ``call``).
The response writer in :mod:`nbws.io.http` sends whatever a route returned.

WebSocket paths served on the I/O thread (live plots, channels) register in
:attr:`Routes.sockets` the same way. Everything here runs on the I/O thread;
the route functions are pure but for the file system reads of static paths.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, Union

from ..assets import ASSET_PREFIX, asset
from ..boundary import on_io_thread
from ..messages import Request, Response
from ..static import StaticRoutes, not_modified
from .static import static_route

if TYPE_CHECKING:
    from .wsconn import WsConnection

__all__ = ["FileResponse", "StreamResponse", "Answer", "Route", "Routes", "asset_route", "Listener", "tell",
           "close_reason"]

log = logging.getLogger("nbws")


@dataclass(frozen=True)
class FileResponse:
    """A response whose body is ``length`` bytes of the file at ``path`` from
    ``start``; ``headers`` include Content-Length. Immutable."""

    status: int
    headers: tuple[tuple[str, str], ...]
    path: str
    start: int
    length: int


@dataclass(frozen=True)
class StreamResponse:
    """A response whose body is made while it is sent: ``chunks()`` gives the
    body's parts (bytes), each made on the I/O thread when the socket has
    taken the one before, so a large body costs the memory of one part. No
    Content-Length: HTTP/1.1 peers get it chunked. Immutable."""

    status: int
    headers: tuple[tuple[str, str], ...]
    chunks: Callable[[], Iterator[bytes]]


Answer = Union[Response, FileResponse, StreamResponse]
Route = Callable[[Request], Union[Answer, None]]
SocketOpened = Callable[["WsConnection"], None]


class Listener(Protocol):
    """What a WebSocket served on the I/O thread may report to (set as
    ``conn.listener`` when it opens): each message, then the loss of the
    connection. Runs on the I/O thread, outside the connection's lock; must
    not block."""

    def message(self, conn: WsConnection, message: str | bytes) -> None:
        """One message from the peer."""

    def lost(self, conn: WsConnection) -> None:
        """The connection is gone."""


def tell(listener: Listener, conn: WsConnection, message: str | bytes | None = None) -> bool:
    """Hand ``message`` (None: the loss of the connection) to ``listener``
    on the I/O thread. A listener that raises is a bug: it is logged once,
    the socket closes with 1011 and the I/O thread goes on (False)."""
    try:
        if message is None:
            listener.lost(conn)
        else:
            listener.message(conn, message)
    except Exception:
        log.exception("nbws: the socket listener %s raised; its socket closes with 1011", type(listener).__name__)
        conn.start_close(1011, "internal error")
        return False
    return True


def close_reason(reason: str) -> str:
    """``reason`` cut to the 123 UTF-8 bytes a Close frame carries (never mid-character)."""
    data = reason.encode("utf-8", "replace")
    return reason if len(data) <= 123 else data[:123].decode("utf-8", "ignore")


def asset_route(request: Request) -> Answer | None:
    """nbws's own files (``/_nbws/…``): the browser helper and its kin."""
    if not request.path.startswith(ASSET_PREFIX):
        return None
    helper = asset(request.path)
    if helper is None:
        return None
    body, kind, etag = helper
    cache = [("ETag", etag), ("Cache-Control", "no-cache"), ("Access-Control-Allow-Origin", "*")]
    if not_modified(request.headers, etag, None):
        return Response(304, "", cache)
    return Response(200, body, cache, content_type=kind)


class Routes:
    """The ordered routes of one server, for GET and HEAD. Runs on the I/O thread."""

    def __init__(self, static: StaticRoutes) -> None:
        self.pages: dict[str, tuple[bytes, str]] = {}
        """Pages served whole from memory: path -> (body, content type)."""
        self.sockets: dict[str, SocketOpened] = {}
        """WebSocket paths served on the I/O thread: path -> fn(conn) run when one opens."""
        self.private: set[str] = set()
        """Those of :attr:`pages` a kernel does not announce to relays (the classroom's instructor pages)."""
        self.relayed: set[str] = set()
        """Those of :attr:`sockets` that relays serve too (``nbws relay``): their sockets' traffic
        comes through the backplane (``nbws.relay.peers``)."""
        self.data: dict[str, Route] = {}
        """Paths answered by a function of the request (a plot's CSV): path -> route."""
        self.socket_fallback: Callable[[str], SocketOpened | None] | None = None
        """Asked for a path not in :attr:`sockets` (a relay: the kernel's WebSocket routes)."""
        self.changed: Callable[[], None] | None = None
        """Called after a page or socket is added (a kernel announces them to relays)."""
        self.table: list[tuple[str, Route]] = [("live pages", self._page), ("live data", self._data),
                                               ("nbws assets", asset_route)]
        if static:
            self.table.append(("static paths", static_route(static)))

    def answer(self, request: Request) -> Answer | None:
        """The first route's answer to ``request``, or None: the app's turn.
        Pure but for static paths' file-system reads; the I/O thread calls it."""
        if request.method not in ("GET", "HEAD"):
            return None
        for _, route in self.table:
            found = route(request)
            if found is not None:
                return found
        return None

    def _page(self, request: Request) -> Answer | None:
        page = self.pages.get(request.path)
        if page is None:
            return None
        return Response(200, page[0], [("Cache-Control", "no-cache")], content_type=page[1])

    def _data(self, request: Request) -> Answer | None:
        route = self.data.get(request.path)
        return route(request) if route is not None else None

    @on_io_thread
    def add_data(self, path: str, route: Route) -> None:
        """Answer requests for ``path`` with ``route(request)`` (on the I/O thread)."""
        self.data[path] = route

    @on_io_thread
    def add_page(self, path: str, body: bytes, content_type: str, relayed: bool = True) -> None:
        """Serve ``body`` at ``path`` (and, unless ``relayed`` is False, on a kernel's relays)."""
        self.pages[path] = (body, content_type)
        if not relayed:
            self.private.add(path)
        if self.changed is not None:
            self.changed()

    @on_io_thread
    def add_socket(self, path: str, opened: SocketOpened, relayed: bool = False) -> None:
        """Accept WebSockets at ``path`` on the I/O thread; ``opened(conn)`` runs for each. With
        ``relayed``, a kernel's relays serve the path too, and ``opened`` also gets their sockets
        (a :class:`nbws.relay.peers.RemotePeer` for each)."""
        self.sockets[path] = opened
        if relayed:
            self.relayed.add(path)
        if self.changed is not None:
            self.changed()

    def socket_for(self, path: str) -> SocketOpened | None:
        """What serves a WebSocket at ``path`` on the I/O thread, or None (the app's)."""
        found = self.sockets.get(path)
        if found is None and self.socket_fallback is not None:
            found = self.socket_fallback(path)
        return found
