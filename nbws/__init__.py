"""nbws: an HTTP + WebSocket server and client that lives inside a Jupyter kernel.

Sockets live on a background I/O thread; your handlers run on the kernel's own
loop when it is idle, or inside a busy cell when it calls :func:`service`.

    >>> import nbws
    >>> server = nbws.start_server(app={"call": lambda req: "hello"})
    >>> server.url                                          # doctest: +SKIP
    'http://127.0.0.1:40123/'
"""

from __future__ import annotations

from .__about__ import __version__
from .app import App
from .backplane import BackplaneStats
from .boundary import interrupt, service
from .classroom import Classroom, Poll, Question
from .client import ClientWebSocket, connect
from .config import defaults
from .errors import (
    AsyncHandlerBlockedError,
    BackplaneUnavailableError,
    BadRequestError,
    ClassroomClosedError,
    ConnectError,
    ConnectionClosedError,
    FetchError,
    FetchTimeoutError,
    HandlerLoopError,
    HandshakeRejectedError,
    InvalidURLError,
    NbwsError,
    NoFreePortError,
    PathInUseError,
    PortInUseError,
    SendBufferFullError,
    ServerStoppedError,
)
from .fetch import fetch, fetch_async
from .live import Channel, Dashboard, FigureStream, LivePlot, PageInfo
from .messages import Form, Headers, Request, Response, UploadedFile
from .ports import ip_family, random_port
from .reach import Where, where
from .server import (
    Server,
    list_servers,
    run_server,
    run_static_server,
    start_pipe_server,
    start_server,
    stop_all_servers,
    stop_server,
)
from .session import Session
from .static import exclude_static_path, static_file, static_path, static_path_options, static_text
from .uri import decode_uri, decode_uri_component, encode_uri, encode_uri_component
from .websocket import WebSocket, list_connections

__all__ = [
    "__version__",
    "App",
    "Channel",
    "Classroom",
    "ClassroomClosedError",
    "ClientWebSocket",
    "AsyncHandlerBlockedError",
    "BackplaneStats",
    "BackplaneUnavailableError",
    "BadRequestError",
    "ConnectError",
    "ConnectionClosedError",
    "Dashboard",
    "FigureStream",
    "Form",
    "HandlerLoopError",
    "HandshakeRejectedError",
    "InvalidURLError",
    "FetchError",
    "FetchTimeoutError",
    "LivePlot",
    "PageInfo",
    "Poll",
    "Question",
    "Headers",
    "NbwsError",
    "NoFreePortError",
    "PathInUseError",
    "PortInUseError",
    "Request",
    "Response",
    "SendBufferFullError",
    "Server",
    "ServerStoppedError",
    "Session",
    "UploadedFile",
    "WebSocket",
    "Where",
    "connect",
    "decode_uri",
    "decode_uri_component",
    "defaults",
    "encode_uri",
    "encode_uri_component",
    "fetch",
    "fetch_async",
    "exclude_static_path",
    "static_file",
    "static_path",
    "static_path_options",
    "static_text",
    "interrupt",
    "ip_family",
    "list_connections",
    "list_servers",
    "random_port",
    "run_server",
    "run_static_server",
    "start_pipe_server",
    "service",
    "start_server",
    "stop_all_servers",
    "stop_server",
    "where",
    "load_ipython_extension",
]


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext nbws``: register ``%wsserve``, ``%wsstop``, ``%wslist`` and ``%%wspage``."""
    from .notebook.magics import NbwsMagics

    ipython.register_magics(NbwsMagics)  # type: ignore[attr-defined]
