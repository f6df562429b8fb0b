"""Applications: ``nbws.App`` with decorators, and the adapter that turns a
dict or any object with ``call`` / ``on_headers`` / ``on_ws_open`` into one
uniform :class:`AppSpec`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .envelope import dispatch
from .messages import Request, Response
from .static import StaticOptions, StaticRoutes

if TYPE_CHECKING:
    from .websocket import WebSocket

__all__ = ["App", "AppSpec", "resolve_app"]

Handler = Callable[..., Any]
ENVELOPE_PATH = "/_nbws/ws"
"""Where ``nbws.js``'s ``connect()`` connects by default."""
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::path)?\}")


def _compile(path: str) -> re.Pattern[str]:
    if not path.startswith("/"):
        raise ValueError(f"a route must start with '/', not {path!r}")
    pattern = ""
    pos = 0
    for m in _PARAM.finditer(path):
        pattern += re.escape(path[pos:m.start()])
        pattern += f"(?P<{m.group(1)}>.+)" if m.group(0).endswith(":path}") else f"(?P<{m.group(1)}>[^/]+)"
        pos = m.end()
    pattern += re.escape(path[pos:])
    return re.compile(pattern)


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    methods: frozenset[str]
    handler: Handler


class App:
    """An application with routes, built with decorators.

    Example::

        app = nbws.App()

        @app.route("/")
        def index(req):
            return nbws.Response(200, "<h1>hi</h1>", content_type="text/html")

        @app.route("/items/{name}", methods=["GET", "POST"])
        def item(req, name):
            return {"name": name}

        @app.websocket("/ws")
        def chat(ws):
            ws.on_message(ws.send)

    Route handlers get the :class:`~nbws.Request` and the path parameters as
    keyword arguments; WebSocket handlers get the :class:`~nbws.WebSocket` once
    it is open. All of them run on the handler loop.
    """

    def __init__(self) -> None:
        self._routes: list[_Route] = []
        self._ws_routes: list[_Route] = []
        self.on_headers: Handler | None = None
        """Optional ``fn(req) -> Response | None`` run before a body is read."""
        self.static_paths: dict[str, Any] = {}
        """URL prefix -> directory, :func:`nbws.static_path` or :func:`nbws.static_text`;
        served by the I/O thread."""
        self.static_path_options: StaticOptions | None = None
        """App-wide :func:`nbws.static_path_options`."""
        self._topics: dict[str, Handler] = {}
        self._rpcs: dict[str, Handler] = {}
        self._connect: list[Handler] = []
        self._session_start: list[Handler] = []
        self._session_end: list[Handler] = []

    def on(self, topic: str) -> Callable[[Handler], Handler]:
        """Decorator: ``fn(ws, data)`` handles JSON messages on ``topic`` from
        pages using ``nbws.js`` (``conn.send(topic, data)``). The topics
        ``"message"`` (plain text) and ``"binary"`` (binary frames) catch
        frames without an envelope."""

        def register(fn: Handler) -> Handler:
            self._topics[topic] = fn
            return fn

        return register

    def rpc(self, name: str) -> Callable[[Handler], Handler]:
        """Decorator: ``fn(data)`` answers ``conn.call(name, data)`` from a
        page; return a JSON-serialisable value (or an awaitable of one). An
        exception rejects the page's Promise with its message."""

        def register(fn: Handler) -> Handler:
            self._rpcs[name] = fn
            return fn

        return register

    def connected(self, fn: Handler) -> Handler:
        """Decorator: ``fn(ws)`` runs when a page connects to the helper endpoint."""
        self._connect.append(fn)
        return fn

    def session_started(self, fn: Handler) -> Handler:
        """Decorator: ``fn(session)`` runs once when a page using ``nbws.js``
        starts a resumable :class:`~nbws.Session` (not again when it
        reconnects; ``@app.connected`` runs for every socket). Runs on the
        handler loop, before the page's first message is handled."""
        self._session_start.append(fn)
        return fn

    def session_ended(self, fn: Handler) -> Handler:
        """Decorator: ``fn(session)`` runs once when a session ends: its page
        stayed away longer than ``session_timeout`` (closed tab, phone
        offline), it was evicted (``max_sessions``), or the server stopped.
        Runs on the handler loop."""
        self._session_end.append(fn)
        return fn

    def static(self, prefix: str, path: Any) -> None:
        """Serve ``path`` (a directory name or :func:`nbws.static_path`) at ``prefix``."""
        self.static_paths[prefix] = path

    def route(self, path: str, methods: Iterable[str] = ("GET", "HEAD")) -> Callable[[Handler], Handler]:
        """Decorator: handle HTTP requests to ``path`` (``{name}`` segments
        become keyword arguments; ``{name:path}`` matches slashes too)."""
        compiled = _compile(path)
        allowed = frozenset(m.upper() for m in methods)

        def register(fn: Handler) -> Handler:
            self._routes.append(_Route(compiled, allowed, fn))
            return fn

        return register

    def websocket(self, path: str) -> Callable[[Handler], Handler]:
        """Decorator: accept WebSockets at ``path`` and call ``fn(ws)`` when open."""
        compiled = _compile(path)

        def register(fn: Handler) -> Handler:
            self._ws_routes.append(_Route(compiled, frozenset({"GET"}), fn))
            return fn

        return register

    def accepts_websocket(self, path: str) -> bool:
        """True when a WebSocket route matches ``path`` (the helper endpoint
        ``/_nbws/ws`` always does). A pure check, safe on any thread."""
        return path == ENVELOPE_PATH or any(r.pattern.fullmatch(path) for r in self._ws_routes)

    def call(self, req: Request) -> Any:
        """Dispatch an HTTP request to its route; 404 or 405 when none fits."""
        wrong_method = False
        for route in self._routes:
            m = route.pattern.fullmatch(req.path)
            if m is None:
                continue
            if req.method not in route.methods:
                wrong_method = True
                continue
            return route.handler(req, **m.groupdict())
        if wrong_method:
            return Response(405, "Method Not Allowed\n")
        return Response(404, "Not Found\n")

    def on_ws_open(self, ws: WebSocket) -> Any:
        """Dispatch a new WebSocket to its route's handler."""
        path = ws.request.path if ws.request is not None else ""
        for route in self._ws_routes:
            m = route.pattern.fullmatch(path)
            if m is not None:
                return route.handler(ws, **m.groupdict())
        if path == ENVELOPE_PATH:
            topics, rpcs = self._topics, self._rpcs
            ws.on_message(lambda message: dispatch(ws, message, topics, rpcs))
            for fn in self._connect:
                ws._run_callback(fn, ws)
            return None
        ws.close(1008, "no WebSocket route for this path")
        return None


@dataclass(frozen=True)
class AppSpec:
    """The uniform view of an app the server uses. Immutable."""

    call: Handler | None
    on_headers: Handler | None
    on_ws_open: Handler | None
    ws_path_check: Callable[[str], bool] | None  # pure; None: every path accepted
    static: StaticRoutes = field(default_factory=lambda: StaticRoutes({}))
    session_started: Sequence[Handler] = ()  # fn(session) hooks, run on the handler plane
    session_ended: Sequence[Handler] = ()
    ws_patterns: tuple[str, ...] = ()  # the WebSocket routes' regular expressions (what a relay accepts)

    def accepts_websocket(self, path: str) -> bool:
        """Whether a WebSocket handshake to ``path`` should be accepted."""
        if self.on_ws_open is None:
            return False
        return self.ws_path_check is None or self.ws_path_check(path)


_ALIASES = {
    "call": ("call",),
    "on_headers": ("on_headers", "onHeaders"),
    "on_ws_open": ("on_ws_open", "onWSOpen"),
}


def _static_routes(app: object) -> StaticRoutes:
    def member(*names: str) -> Any:
        for name in names:
            value = app.get(name) if isinstance(app, dict) else getattr(app, name, None)
            if value is not None:
                return value
        return None

    paths = member("static_paths", "staticPaths") or {}
    options = member("static_path_options", "staticPathOptions")
    if not isinstance(paths, dict):
        raise TypeError("static_paths must be a dict of URL prefix -> directory")
    if options is not None and not isinstance(options, StaticOptions):
        raise TypeError("static_path_options must come from nbws.static_path_options(...)")
    return StaticRoutes(paths, options)


def resolve_app(app: object) -> AppSpec:
    """Build an :class:`AppSpec` from an :class:`App`, a dict, or any object
    with the (optional) members ``call``, ``on_headers``, ``on_ws_open``,
    ``static_paths`` and ``static_path_options``."""
    if isinstance(app, App):
        return AppSpec(app.call, app.on_headers, app.on_ws_open, app.accepts_websocket, _static_routes(app),
                       app._session_start, app._session_end, tuple(r.pattern.pattern for r in app._ws_routes))
    found: dict[str, Handler | None] = {}
    for key, names in _ALIASES.items():
        value: Any = None
        for name in names:
            value = app.get(name) if isinstance(app, dict) else getattr(app, name, None)
            if value is not None:
                break
        if value is not None and not callable(value):
            raise TypeError(f"the app's {key!r} must be callable, not {type(value).__name__}")
        found[key] = value
    static = _static_routes(app) if app is not None else StaticRoutes({})
    if isinstance(app, dict):
        unknown = set(app) - {n for names in _ALIASES.values() for n in names} - {
            "static_paths", "static_path_options", "staticPaths", "staticPathOptions"}
        if unknown:
            raise TypeError(
                f"unknown app keys {sorted(unknown)}; an app dict takes 'call', 'on_headers', 'on_ws_open', "
                "'static_paths' and 'static_path_options'"
            )
    elif app is None or not (any(found.values()) or static):
        raise TypeError(
            "app must be an nbws.App, a dict or an object with 'call', 'on_headers', "
            f"'on_ws_open' or 'static_paths'; got {type(app).__name__}"
        )
    return AppSpec(found["call"], found["on_headers"], found["on_ws_open"], None, static)
