"""Servers: start, stop, list, replace; the handle users hold.

``start_server`` binds on the caller's thread (so errors surface at once),
hands the listening socket to the I/O thread, and returns. Handlers then run
on the caller's loop (the kernel's loop in a notebook).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import os
import secrets
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from traitlets.config import Config

from .app import resolve_app
from .boundary import HandlerPlane, handler_plane, hold_switch_interval, io_thread, release_switch_interval, submit
from .config import ServerConfig, check_arguments, check_trait_names, defaults
from .envelope import encode_topic
from .errors import HandlerLoopError, ServerStoppedError
from .io.capacity import ConnectionStats
from .io.endpoint import Endpoint
from .jupyter.registry import forget, publish, relay_socket
from .ports import bind_listener, bind_unix_socket, on_a_free_port
from .reach import external_url, relaxations
from .security import is_loopback, is_wildcard
from .websocket import Message, WebSocket

if TYPE_CHECKING:
    from .backplane import BackplaneStats
    from .live import Channel
    from .session import Session

__all__ = ["Server", "start_server", "start_pipe_server", "stop_server", "stop_all_servers", "list_servers",
           "run_server", "run_static_server"]

log = logging.getLogger("nbws")
_registry: dict[int | str, Server] = {}  # by port, or by socket path
_registry_lock = threading.Lock()


def _stop_at_exit() -> None:
    with contextlib.suppress(Exception):
        stop_all_servers()


atexit.register(_stop_at_exit)  # kernel shutdown and restart release their ports


def _default_config() -> Config:
    config = Config()
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency
        shell = None
    if shell is not None:
        config.merge(shell.config)
    config.merge(defaults)
    return config


class Server(ServerConfig):
    """A running nbws server (create it with :func:`nbws.start_server`).

    Attributes:
        host: the address it is bound to.
        port: the TCP port.
        app: the application object it serves.
        started_at: ``time.time()`` when it started.
        stopped_at: ``time.time()`` when it stopped, or None while it runs.
    """

    def __init__(self, host: str, port: int, app: Any, config: Config | None = None, *,
                 path: str | None = None, mask: int | None = None, name: str | None = None,
                 role: str = "kernel", **traits: Any) -> None:
        super().__init__(config=config if config is not None else _default_config(), **traits)
        self.host = host
        self.port = port
        self.name = name
        """An optional name (``%wsserve --name``); starting another server with
        the same name replaces this one."""
        self._closed_in = 0
        self._closed_out = 0
        self.path = path
        """The Unix socket path of a pipe server, else None."""
        self._mask = mask
        self._role = role  # "relay": nbws relay, no user code (nbws.relay)
        self._relay: str | None = None  # the Unix socket the Jupyter extension relays to
        self.app = app
        self.started_at = time.time()
        self.stopped_at: float | None = None
        self._spec = resolve_app(app)
        self._sockets: dict[int, WebSocket] = {}
        self._endpoint: Endpoint | None = None
        self._plane: HandlerPlane | None = None
        self._running = False
        if self.token is None and path is None and not is_loopback(host):
            self.token = secrets.token_urlsafe(24)
        if path is None:
            # Where the browser comes from (nbws.reach): behind a proxy or in
            # Colab any Host, and the proxy's / Colab's / VS Code's origins.
            any_host, origins = relaxations(self.external_url)
            if any_host and not self.allowed_hosts:
                self.allowed_hosts = ["*"]
            self.allowed_origins = [*self.allowed_origins, *(o for o in origins if o not in self.allowed_origins)]

    # -- lifecycle --

    @property
    def key(self) -> int | str:
        """What identifies this server in :func:`list_servers`: port or socket path."""
        return self.path if self.path is not None else self.port

    def _start(self, plane: HandlerPlane) -> None:
        io = io_thread()
        if self.path is not None:
            sock = bind_unix_socket(self.path, self._mask, self.backlog)
        else:
            sock = bind_listener(self.host, self.port, self.backlog)
            self.port = sock.getsockname()[1]
        relay, relay_sock = relay_socket(self.port, self.backlog) if self.path is None else (None, None)
        self._plane = plane
        endpoint = Endpoint(
            self.settings(), self._spec, io, plane, self.host,
            "https" if self.ssl is not None else "http",
            self._opened, self._closed, self._role,
        )
        try:
            io.run(endpoint.listen(sock, self.ssl, self.backlog, relay_sock))
        except BaseException:
            sock.close()
            if relay_sock is not None:
                relay_sock.close()
            raise
        self._relay = relay
        self._endpoint = endpoint
        self._running = True
        hold_switch_interval(self, self.switch_interval)

    def _opened(self, ws: WebSocket) -> None:  # handler plane
        self._sockets[ws.id] = ws

    def _closed(self, ws: WebSocket) -> None:  # handler plane
        if self._sockets.pop(ws.id, None) is not None:
            self._closed_in += ws.messages_in
            self._closed_out += ws.messages_out

    def stop(self) -> None:
        """Stop listening and close every connection (WebSockets with 1001).

        Thread-safe; returns once the port is free. ``on_close`` callbacks run
        later on the handler loop. Stopping twice does nothing."""
        if not self._running:
            return
        self._running = False
        self.stopped_at = time.time()
        with _registry_lock:
            if _registry.get(self.key) is self:
                del _registry[self.key]
            if self._relay is not None:
                forget(self.port)
        endpoint = self._endpoint
        if endpoint is not None:
            io = io_thread()
            if io.in_thread():  # pragma: no cover - user code never runs there
                io.loop.create_task(endpoint.stop())
            else:
                io.run(endpoint.stop())
        for path in (self.path, self._relay):
            if path is not None:
                with contextlib.suppress(OSError):
                    os.unlink(path)
        release_switch_interval(self)

    @property
    def running(self) -> bool:
        """True until :meth:`stop`."""
        return self._running

    # -- addresses --

    @property
    def local_url(self) -> str:
        """The loopback URL of the server, e.g. ``http://127.0.0.1:8000/``."""
        scheme = "https" if self.ssl is not None else "http"
        if self.path is not None:
            return f"{scheme}+unix://{self.path}/"
        host = self.host
        if is_wildcard(host):
            host = "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{scheme}://{host}:{self.port}/"

    @property
    def url(self) -> str:
        """The URL to open from the user's browser, decided by :mod:`nbws.reach` (see
        :func:`nbws.where`): through jupyter-server-proxy
        on JupyterHub/Binder (``{prefix}proxy/{port}/``), ``NBWS_EXTERNAL_URL``
        or ``external_url`` when set, else :attr:`local_url`; with ``?token=``
        when the server needs a token."""
        base = None if self.path is not None else external_url(self.port, self.external_url)
        base = base or self.local_url
        return f"{base}?token={self.token}" if self.token else base

    @property
    def messages_in(self) -> int:
        """Messages received on this server's WebSockets so far."""
        return self._closed_in + sum(ws.messages_in for ws in self._sockets.values())

    @property
    def messages_out(self) -> int:
        """Messages sent (including broadcasts, once per peer) so far."""
        broadcast = self._endpoint.messages_out if self._endpoint is not None else 0
        return self._closed_out + broadcast + sum(ws.messages_out for ws in self._sockets.values())

    def connection_stats(self) -> ConnectionStats:
        """Counts of this server's TCP connections: ``open`` now, of which
        ``pending`` (no complete request head yet) and ``idle`` (HTTP
        keep-alive), and the totals since start of connections ``reclaimed``
        to make room at ``max_connections`` (or past
        ``max_pending_per_address``) and newcomers ``refused`` with 503.

        Thread-safe and non-blocking; the numbers are a moment old (the I/O
        thread keeps them). The server panel and ``%wslist`` show the totals."""
        endpoint = self._endpoint
        if endpoint is None:
            return ConnectionStats(0, 0, 0, 0, 0)
        return endpoint.connection_stats()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        """HTML panel (URL as a link, state, connections, messages) and text."""
        from .notebook.display import server_html, server_text

        return {"text/html": server_html(self), "text/plain": server_text(self)}

    @property
    def ws_url(self) -> str:
        """The ``ws://`` (or ``wss://``) form of :attr:`local_url`."""
        return "ws" + self.local_url[4:]

    # -- connections and sending --

    @property
    def connections(self) -> list[WebSocket]:
        """The open WebSockets, oldest first (as seen by the handler loop)."""
        return list(self._sockets.values())

    def broadcast(self, message: Message) -> None:
        """Send ``message`` to every open WebSocket of this server, and of every server of its app
        (``app_name``, ``backplane``). Thread-safe and non-blocking: the frame is built once on the I/O
        thread and written to each peer; peers over their send buffer get the
        send-buffer policy (a broadcast never raises for one slow peer)."""
        if isinstance(message, (bytearray, memoryview)):
            message = bytes(message)
        if not isinstance(message, (str, bytes)):
            raise TypeError(f"broadcast() takes str or bytes, not {type(message).__name__}")
        endpoint = self._endpoint
        if endpoint is None or not self._running:
            raise ServerStoppedError("the server is stopped; start a new one with nbws.start_server()")
        submit(lambda: endpoint.router.share("b", "", message, endpoint.broadcast))

    def channel(self, name: str, policy: str = "latest") -> Channel:
        """A named stream to pages (``/_nbws/channel/<name>``) with a delivery
        policy: ``"latest"`` (a busy page gets only the newest value) or
        ``"all"``. See :class:`nbws.live.Channel`."""
        from .live import Channel

        channels: dict[str, Channel] = self.__dict__.setdefault("_channels", {})
        if name not in channels:
            channels[name] = Channel(self, name, policy)
        elif channels[name].policy != policy:
            raise ValueError(f"channel {name!r} exists with policy {channels[name].policy!r}")
        return channels[name]

    def emit(self, topic: str, data: Any = None) -> None:
        """Send a JSON topic message to every open WebSocket (a page's ``conn.topic(topic, fn)``) and
        every resumable session (numbered, kept for a page that is away now), of this server and of every
        server of its app (``app_name``, ``backplane``; numbered by each). Thread-safe."""
        if (endpoint := self._endpoint) is None or not self._running:
            raise ServerStoppedError("the server is stopped; start a new one with nbws.start_server()")
        text = encode_topic(topic, data)  # numbered by the app's log when shared (nbws.relay.kernel)
        submit(lambda: endpoint.kernel.emit(text) if endpoint.kernel else endpoint.router.share("e", "", text,
                                                                                             endpoint.emit_text))

    def backplane_stats(self) -> BackplaneStats:
        """The backplane's counters (``backplane``, ``app_name``): published, buffered, dropped, received,
        missed ... (see :class:`nbws.BackplaneStats`). Thread-safe and non-blocking (a moment old)."""
        assert self._endpoint is not None  # set by _start, before the server is handed out
        return self._endpoint.router.stats()

    @property
    def sessions(self) -> list[Session]:
        """The live resumable sessions (pages using ``nbws.js``), oldest first."""
        return list(self._endpoint.sessions.public.values()) if self._endpoint is not None else []

    def __repr__(self) -> str:
        state = "running" if self._running else "stopped"
        return f"<nbws.Server {self.local_url} {state}, {len(self._sockets)} WebSocket(s)>"


def start_server(
    host: str = "127.0.0.1",
    port: int | None = None,
    app: Any = None,
    *,
    config: Config | None = None,
    **traits: Any,
) -> Server:
    """Start an HTTP + WebSocket server and return at once.

    ``app`` is an :class:`nbws.App`, a dict, or an object with any of
    ``call(req)``, ``on_headers(req)`` and ``on_ws_open(ws)``. Its handlers run
    on this thread's event loop: in a notebook, whenever the kernel is idle
    (call :func:`nbws.service` inside long cells); in a script, inside
    :func:`run_server` or :func:`service`.

    ``port=None`` picks a free port. Starting on a port that a server of this
    process already holds replaces that server; a port held by another process
    raises :class:`~nbws.PortInUseError`. Keyword arguments set traits
    (``ping_interval=5``, ``max_message_size=2**20`` …; see ``nbws.Server``);
    a misspelt one raises ``TypeError`` with the closest valid name, a port
    outside 0-65535 ``ValueError``.
    """
    check_arguments("start_server", host, port, app)
    name = traits.pop("name", None)
    check_trait_names("start_server", traits)
    plane = handler_plane()
    assert plane is not None
    if name is not None:
        with _registry_lock:
            named = [srv for srv in _registry.values() if srv.name == name]
        for old in named:
            log.info("nbws: replacing the server named %r", name)
            old.stop()
    if port is None:  # a port found free can be taken before the bind, or be held on another address: try another
        probe = host if not is_wildcard(host) else "127.0.0.1"
        return on_a_free_port(probe, lambda p: _launch(plane, p, lambda: Server(host, p, app, config=config, name=name, **traits)))
    return _launch(plane, port, lambda: Server(host, port, app, config=config, name=name, **traits))


def _launch(plane: HandlerPlane, key: int | str, make: Any) -> Server:
    if key:
        with _registry_lock:
            old = _registry.get(key)
        if old is not None:
            log.info("nbws: replacing the server at %s", key)
            old.stop()
    server: Server = make()
    server._start(plane)
    with _registry_lock:
        _registry[server.key] = server
        if server._relay is not None:
            publish(server.port, server.name, server._relay)
    return server


def start_pipe_server(path: str, app: Any, mask: int | None = None, **traits: Any) -> Server:
    """Start a server on a Unix domain socket at ``path`` (httpuv's
    ``startPipeServer``); ``mask`` is a umask for the socket file (e.g.
    ``0o077``: only this user). HTTP and WebSockets work as on TCP; any Host
    header is accepted, since file permissions guard the socket."""
    check_trait_names("start_pipe_server", traits)
    plane = handler_plane()
    assert plane is not None
    path = os.path.abspath(path)
    traits.setdefault("allowed_hosts", ["*"])
    return _launch(plane, path, lambda: Server("", 0, app, path=path, mask=mask, **traits))


def stop_server(server: Server) -> None:
    """Stop one server (same as ``server.stop()``)."""
    server.stop()


def list_servers() -> list[Server]:
    """The running servers of this process, oldest first."""
    with _registry_lock:
        return list(_registry.values())


def stop_all_servers() -> None:
    """Stop every server of this process."""
    for server in list_servers():
        server.stop()


def run_server(host: str = "127.0.0.1", port: int | None = None, app: Any = None, **traits: Any) -> None:
    """Start a server and run its handlers until Ctrl-C or :func:`nbws.interrupt`.

    For scripts (httpuv's ``runServer``); prints the URL. In a notebook use
    :func:`start_server`, which returns at once."""
    check_arguments("run_server", host, port, app)
    _serve_forever(start_server(host, port, app, **traits))


def run_static_server(
    dir: str = ".",
    host: str = "127.0.0.1",
    port: int | None = None,
    background: bool = False,
    browse: bool | None = None,
    **traits: Any,
) -> Server | None:
    """Serve the directory ``dir`` (httpuv's ``runStaticServer``).

    In the foreground (default) it blocks until Ctrl-C; with
    ``background=True`` it returns the :class:`Server`. ``browse`` opens the
    system browser (default: only when run interactively)."""
    if not os.path.isdir(dir):
        raise NotADirectoryError(f"{dir!r} is not a directory; pass the folder to serve")
    server = start_server(host, port, {"static_paths": {"/": os.path.abspath(dir)}}, **traits)
    if browse is None:
        browse = sys.stdin is not None and sys.stdin.isatty() and sys.stdout is not None and sys.stdout.isatty()
    if browse:
        import webbrowser

        webbrowser.open(server.url)
    if background:
        return server
    _serve_forever(server)
    return None


def _serve_forever(server: Server) -> None:
    plane = server._plane
    assert plane is not None
    print(f"nbws: serving on {server.url}  (Ctrl-C to stop)", flush=True)
    plane.interrupted.clear()
    try:
        if plane.loop.is_running():
            raise HandlerLoopError("run_server() cannot run inside a running event loop; use start_server()")
        while not plane.interrupted.is_set():
            plane.service(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        plane.interrupted.clear()
        if not plane.loop.is_closed() and not plane.loop.is_running():
            plane.loop.run_until_complete(asyncio.sleep(0))
