"""The WebSocket client: ``nbws.connect(url)``.

The I/O thread resolves, connects, does TLS and the handshake
(:mod:`nbws.io.session`), and then runs the same
:class:`~nbws.io.wsconn.WsConnection` as the server side; callbacks run on the
handler loop of the thread that called :func:`connect` (the kernel's loop in
a notebook).
"""

from __future__ import annotations

import asyncio
import ssl as ssl_module
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from websockets.exceptions import InvalidURI
from websockets.uri import parse_uri

from .boundary import DrainWake, HandlerPlane, deliver, handler_plane
from .config import MiB, ServerConfig
from .errors import ConnectionClosedError
from .io.session import Session
from .websocket import Message, WebSocket

__all__ = ["connect", "ClientWebSocket"]

StateCallback = Callable[[str], Any]


class ClientWebSocket(WebSocket):
    """A client WebSocket (from :func:`nbws.connect`): the server-side
    interface plus ``on_open``, ``on_error``, ``on_state``, ``wait_open()``
    (blocking) / ``await ws.await_open()``, ``with`` and ``async with``.

    Attributes:
        url: the URL it connects to.
    """

    def __init__(self, url: str, plane: HandlerPlane, close_on_error: bool) -> None:
        super().__init__(_Unbound(), plane, None, None, close_on_error)
        self.url = url
        self._state = "CONNECTING"
        self._open_callbacks: list[Callable[[ClientWebSocket], Any]] = []
        self._error_callbacks: list[Callable[[BaseException], Any]] = []
        self._state_callbacks: list[StateCallback] = []
        self._open_waiters: list[asyncio.Future[None]] = []

    def on_open(self, fn: Callable[[ClientWebSocket], Any]) -> Callable[[ClientWebSocket], Any]:
        """Call ``fn(ws)`` when the connection opens (again, after a reconnect)."""
        self._open_callbacks.append(fn)
        return fn

    def on_error(self, fn: Callable[[BaseException], Any]) -> Callable[[BaseException], Any]:
        """Call ``fn(exc)`` when connecting fails (a :class:`~nbws.ConnectError`)."""
        self._error_callbacks.append(fn)
        return fn

    def on_state(self, fn: StateCallback) -> StateCallback:
        """Call ``fn(state)`` on every state change (CONNECTING, OPEN, CLOSING, CLOSED)."""
        self._state_callbacks.append(fn)
        return fn

    def wait_open(self, timeout: float | None = None) -> ClientWebSocket:
        """Block until the connection is open and return this socket; raise
        the connect error if it failed, ``TimeoutError`` after ``timeout``
        seconds. For scripts, cells and threads; in a coroutine use
        ``await ws.await_open()``. On the handler loop's thread queued nbws
        handlers run meanwhile."""
        self._plane.wait(self._check_open, timeout,
                         "wait_open() inside a handler would wait forever; use on_open",
                         f"{self.url} did not open within {timeout} s", "wait_open()")
        return self

    async def await_open(self, timeout: float | None = None) -> ClientWebSocket:
        """Await until the connection is open and return this socket; the
        awaitable form of :meth:`wait_open` (same errors)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._check_open():
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._open_waiters.append(future)
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                await asyncio.wait_for(future, remaining)
            finally:
                if future in self._open_waiters:
                    self._open_waiters.remove(future)
        return self

    def _check_open(self) -> bool:
        if self._state == "OPEN":
            return True
        if self.closed:
            self._raise_closed()
        return False

    async def __aenter__(self) -> ClientWebSocket:
        return await self.await_open(None)

    async def __aexit__(self, *exc: object) -> None:
        """Close, and wait (at most 10 s) for the closing handshake."""
        if not self.closed:
            self.close()
        deadline = time.monotonic() + 10
        while not self.closed:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self._waiter = asyncio.get_running_loop().create_future()  # _finish resolves it
            try:
                await asyncio.wait_for(asyncio.shield(self._waiter), remaining)
            except asyncio.TimeoutError:
                return
            finally:
                self._waiter = None

    def __enter__(self) -> ClientWebSocket:
        return self.wait_open(None)

    def __exit__(self, *exc: object) -> None:
        if not self.closed:
            self.close()

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection (and stop reconnecting). Thread-safe."""
        super().close(code, reason)

    def _closing(self) -> None:
        """Report CLOSING before the close handshake can finish. Thread-safe.

        On the handler loop's thread the report runs now: queued, it would be
        the job that ``nbws.service()`` runs and returns after, so a cell doing
        ``ws.close(); nbws.service(1)`` would still see CLOSING. From other
        threads it is queued, ahead of the CLOSED report."""
        if threading.current_thread() is self._plane.thread:
            self._report_closing()
        else:
            deliver(self._plane, self._report_closing)

    def _report_closing(self) -> None:
        if not self.closed:
            for fn in self._state_callbacks:
                self._run_callback(fn, "CLOSING")

    # -- handler-loop side of state changes --

    def _set_state(self, state: str) -> None:
        if self._state == state:
            return
        self._state = state
        for fn in self._state_callbacks:
            self._run_callback(fn, state)

    def _opened_job(self, subprotocol: str | None, peer: tuple[str, int]) -> None:
        self.subprotocol = subprotocol
        self.peer_address = peer
        self._set_state("OPEN")
        for future in self._open_waiters:
            if not future.done():
                future.set_result(None)
        for fn in self._open_callbacks:
            self._run_callback(fn, self)

    def _error_job(self, exc: BaseException) -> None:
        self._error = exc
        for fn in self._error_callbacks:
            self._run_callback(fn, exc)

    def _dropped_job(self, code: int, reason: str) -> None:
        """A connection ended but a reconnect follows: close callbacks run,
        the socket stays usable."""
        for fn in self._close_callbacks:
            self._run_callback(fn, code, reason)
        self._set_state("CONNECTING")

    def _finish(self, code: int, reason: str) -> None:
        if self.closed:
            return
        super()._finish(code, reason)
        for future in self._open_waiters:
            if not future.done():
                future.set_result(None)
        for fn in self._state_callbacks:
            self._run_callback(fn, "CLOSED")


class _Unbound:
    """Placeholder link until the session exists (never used for I/O)."""

    def send_message(self, data: Message) -> bool:  # pragma: no cover
        raise ConnectionClosedError(1006, "not connected")

    def close_connection(self, code: int, reason: str) -> None:  # pragma: no cover
        pass

    def message_handled(self, size: int) -> None:  # pragma: no cover
        pass

    def add_drain_waiter(self, wake: DrainWake) -> bool:  # pragma: no cover
        return True

    def remove_drain_waiter(self, wake: DrainWake) -> None:  # pragma: no cover
        pass


def connect(
    url: str,
    *,
    on_message: Callable[[Message], Any] | None = None,
    on_close: Callable[[int, str], Any] | None = None,
    on_open: Callable[[ClientWebSocket], Any] | None = None,
    on_error: Callable[[BaseException], Any] | None = None,
    on_state: StateCallback | None = None,
    subprotocols: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
    origin: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    compression: bool = False,
    max_message_size: int | None = 16 * MiB,
    ping_interval: float | None = 20.0,
    ping_timeout: float | None = 20.0,
    open_timeout: float = 10.0,
    close_timeout: float = 5.0,
    fragment_size: int | None = None,
    send_buffer_size: int = 4 * MiB,
    send_buffer_policy: str = "close",
    reconnect: bool = False,
    reconnect_max_delay: float = 30.0,
    close_on_handler_error: bool = False,
) -> ClientWebSocket:
    """Open a WebSocket to ``url`` (ws:// or wss://) and return at once.

    The I/O thread connects in the background; messages sent before the
    connection opens are queued and sent in order. Callbacks run on this
    thread's handler loop (the kernel's loop in a notebook). Use
    ``ws.receive(timeout=5)`` in scripts and cells, ``await ws.areceive()`` /
    ``async for`` / ``async with nbws.connect(url) as ws`` in coroutines.

    Failures (refused, DNS, TLS verification, handshake rejected, timeout) call
    ``on_error`` with a :class:`~nbws.ConnectError` and ``on_close`` with 1006,
    and make ``receive``/``wait_open`` raise it. With ``reconnect=True`` the
    client reconnects after drops and failures with exponential backoff and
    jitter (up to ``reconnect_max_delay`` seconds) until ``close()``.

    Limits mean what they mean on the server (see ``nbws.Server``):
    ``max_message_size`` (bytes, after decompression), ``ping_interval`` /
    ``ping_timeout`` (seconds), ``close_timeout``, ``fragment_size`` (split
    outgoing messages into frames of this many bytes), ``send_buffer_size`` /
    ``send_buffer_policy``.
    """
    try:
        parse_uri(url)
    except InvalidURI as exc:
        raise ValueError(f"{url!r} is not a ws:// or wss:// URL") from exc
    plane = handler_plane()
    assert plane is not None
    settings = ServerConfig(
        ping_interval=ping_interval, ping_timeout=ping_timeout, close_timeout=close_timeout,
        max_message_size=max_message_size, send_buffer_size=send_buffer_size,
        send_buffer_policy=send_buffer_policy, compression=compression, fragment_size=fragment_size,
        close_on_handler_error=close_on_handler_error,
    ).settings()
    ws = ClientWebSocket(url, plane, close_on_handler_error)
    if on_message is not None:
        ws.on_message(on_message)
    if on_close is not None:
        ws.on_close(on_close)
    if on_open is not None:
        ws.on_open(on_open)
    if on_error is not None:
        ws.on_error(on_error)
    if on_state is not None:
        ws.on_state(on_state)
    params = {
        "subprotocols": list(subprotocols), "headers": dict(headers or {}), "origin": origin, "ssl": ssl,
        "compression": compression, "open_timeout": open_timeout, "reconnect": reconnect,
        "reconnect_max_delay": reconnect_max_delay,
    }
    session = Session(ws, settings, params)
    ws._link = session
    session.start()
    return ws
