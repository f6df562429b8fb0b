"""The WebSocket client: ``nbws.connect(url)``.

The I/O thread resolves, connects, does TLS and the handshake, and then runs
the same :class:`~nbws.wsconn.WsConnection` as the server side; callbacks run
on the handler loop of the thread that called :func:`connect` (the kernel's
loop in a notebook).
"""

from __future__ import annotations

import asyncio
import http.client
import random
import socket
import ssl as ssl_module
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from websockets.exceptions import InvalidStatus, InvalidURI
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.http11 import Response as WsResponse
from websockets.protocol import CONNECTING
from websockets.typing import Origin, Subprotocol
from websockets.uri import parse_uri

from .bridge import HandlerPlane, handler_plane, io_thread
from .config import MiB, ServerConfig, Settings
from .errors import (
    ConnectError,
    ConnectionClosedError,
    FetchError,
    FetchTimeoutError,
    HandshakeRejectedError,
    InvalidURLError,
)
from .messages import Response
from .websocket import _ASYNC_CODE, Message, WebSocket
from .wsconn import DrainWake, StrictClientProtocol, WsConnection

__all__ = ["connect", "fetch", "fetch_async", "ClientWebSocket"]

StateCallback = Callable[[str], Any]


class ClientWebSocket(WebSocket):
    """A client WebSocket (from :func:`nbws.connect`): the server-side
    interface plus ``on_open``, ``on_error``, ``on_state``, ``wait_open`` and
    ``async with``.

    Attributes:
        url: the URL it connects to.
    """

    def __init__(self, url: str, plane: HandlerPlane, close_on_error: bool) -> None:
        self._session: _Session | None = None
        super().__init__(_Unbound(), plane, None, None, close_on_error)
        self.url = url
        self._state = "CONNECTING"
        self._open_callbacks: list[Callable[[ClientWebSocket], Any]] = []
        self._error_callbacks: list[Callable[[BaseException], Any]] = []
        self._state_callbacks: list[StateCallback] = []
        self._opened = threading.Event()
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

    def wait_open(self, timeout: float | None = None) -> Any:
        """Wait until the connection is open; raise the connect error if it
        failed. Awaitable in a coroutine, blocking elsewhere (like :meth:`receive`)."""
        caller = sys._getframe(1)
        if caller.f_code.co_flags & _ASYNC_CODE:
            return self._wait_open_async(timeout)
        return self._wait_open_blocking(timeout)

    def _check_open(self) -> bool:
        if self._state == "OPEN":
            return True
        if self._closed:
            self._raise_closed()
        return False

    async def _wait_open_async(self, timeout: float | None) -> ClientWebSocket:
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

    def _wait_open_blocking(self, timeout: float | None) -> ClientWebSocket:
        self._plane.wait(self._check_open, self._opened, timeout,
                         "wait_open() inside a handler would wait forever; use on_open",
                         f"{self.url} did not open within {timeout} s", "wait_open()")
        return self

    async def __aenter__(self) -> ClientWebSocket:
        return await self._wait_open_async(None)

    async def __aexit__(self, *exc: object) -> None:
        if not self._closed:
            self.close()
        deadline = time.monotonic() + 10
        while not self._closed and time.monotonic() < deadline:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiter = future
            try:
                await asyncio.wait_for(asyncio.shield(future), 0.1)
            except asyncio.TimeoutError:
                pass
            finally:
                self._waiter = None

    def __enter__(self) -> ClientWebSocket:
        return self._wait_open_blocking(None)

    def __exit__(self, *exc: object) -> None:
        if not self._closed:
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
            self._plane.post(self._report_closing)

    def _report_closing(self) -> None:
        if not self._closed:
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
        self._opened.set()
        for future in self._open_waiters:
            if not future.done():
                future.set_result(None)
        for fn in self._open_callbacks:
            self._run_callback(fn, self)

    def _error_job(self, exc: BaseException) -> None:
        self._error = exc
        self._opened.set()
        for fn in self._error_callbacks:
            self._run_callback(fn, exc)

    def _dropped_job(self, code: int, reason: str) -> None:
        """A connection ended but a reconnect follows: close callbacks run,
        the socket stays usable."""
        for fn in self._close_callbacks:
            self._run_callback(fn, code, reason)
        self._set_state("CONNECTING")

    def _finish(self, code: int, reason: str) -> None:
        if self._closed:
            return
        super()._finish(code, reason)
        self._opened.set()
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


class _Stream(asyncio.Protocol):
    """The client's TCP connection: handshake bytes first, then frames. Runs on the I/O thread."""

    def __init__(self, session: _Session) -> None:
        self.session = session
        self.transport: asyncio.Transport | None = None
        self.ws: WsConnection | None = None
        self.proto: StrictClientProtocol | None = None
        self.handshake: asyncio.Future[list[Any]] = session.io.loop.create_future()
        self.leftover: list[Any] = []  # frames parsed before the WsConnection took over
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=self.session.settings.send_buffer_size)

    def data_received(self, data: bytes) -> None:
        if self.ws is not None:
            self.ws.data_received(data)
            return
        proto = self.proto
        if proto is None:
            return
        proto.receive_data(data)
        events = proto.events_received()
        if self.handshake.done():
            self.leftover.extend(events)  # the handshake finished; the connection is being set up
        elif any(isinstance(e, WsResponse) for e in events) or proto.handshake_exc is not None:
            self.handshake.set_result(events)

    def eof_received(self) -> bool:
        if self.ws is not None:
            self.ws.eof_received()
            return True
        if not self.handshake.done():
            self.handshake.set_exception(ConnectionResetError("the server closed the connection during the handshake"))
            return False
        if self.proto is not None:
            self.proto.receive_eof()
            self.leftover.extend(self.proto.events_received())
        return True

    def resume_writing(self) -> None:
        if self.ws is not None:
            self.ws.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self.ws is not None:
            self.ws.connection_lost()
        elif not self.handshake.done():
            self.handshake.set_exception(exc or ConnectionResetError("the connection was lost during the handshake"))


class _Session:
    """The I/O side of one client: attempts, reconnects, the current
    connection. The Link methods are thread-safe; the rest runs on the I/O thread."""

    def __init__(self, user: ClientWebSocket, settings: Settings, params: dict[str, Any]) -> None:
        self.user = user
        self.settings = settings
        self.params = params
        self.io = io_thread()
        self.plane = user._plane
        self.lock = threading.Lock()
        self.pending: deque[Message] = deque()
        self.pending_bytes = 0
        self.drain_waiters: list[DrainWake] = []  # drain() calls made while not connected
        self.conn: WsConnection | None = None
        self.user_closed: tuple[int, str] | None = None
        self.task: asyncio.Task[None] | None = None
        self.attempt = 0

    # -- thread-safe Link --

    def send_message(self, data: Message) -> bool:
        with self.lock:
            conn = self.conn
            if conn is None:
                if self.user_closed is not None:
                    raise ConnectionClosedError(self.user_closed[0], self.user_closed[1])
                if self.pending_bytes >= self.settings.send_buffer_size:
                    return False
                self.pending.append(data)  # sent in order once open
                self.pending_bytes += len(data)
                return True
        return conn.send_message(data)

    def close_connection(self, code: int, reason: str) -> None:
        with self.lock:
            self.user_closed = (code, reason)
            conn = self.conn
        if conn is not None:
            conn.close_connection(code, reason)
        else:
            self.io.post(lambda: self._abort(code, reason))

    def message_handled(self, size: int) -> None:
        conn = self.conn
        if conn is not None:
            conn.message_handled(size)

    def add_drain_waiter(self, wake: DrainWake) -> bool:
        """Thread-safe: the connection's, or, while (re)connecting, the queue
        of messages waiting for it against a quarter of send_buffer_size."""
        with self.lock:
            conn = self.conn
            if conn is None:
                if self.user_closed is not None:
                    raise ConnectionClosedError(self.user_closed[0], self.user_closed[1])
                if self.pending_bytes <= self.settings.send_buffer_size // 4:
                    return True
                self.drain_waiters.append(wake)
                return False
        return conn.add_drain_waiter(wake)

    def remove_drain_waiter(self, wake: DrainWake) -> None:
        with self.lock:
            if wake in self.drain_waiters:
                self.drain_waiters.remove(wake)
            conn = self.conn
        if conn is not None:
            conn.remove_drain_waiter(wake)

    def _hand_over_waiters(self, conn: WsConnection | None, code: int = 1006, reason: str = "") -> None:
        """Pass the waiters of the unconnected time to ``conn``, or fail them. I/O thread."""
        with self.lock:
            waiters, self.drain_waiters = self.drain_waiters, []
        for wake in waiters:
            try:
                if conn is None:
                    raise ConnectionClosedError(code, reason)
                if conn.add_drain_waiter(wake):
                    wake(None)
            except ConnectionClosedError as exc:
                wake(exc)

    # -- I/O thread --

    def start(self) -> None:
        self.io.post(self._spawn)

    def _spawn(self) -> None:
        self.task = self.io.loop.create_task(self._run())

    def _abort(self, code: int, reason: str) -> None:
        if self.conn is None:
            if self.task is not None and not self.task.done():
                self.task.cancel()
            user = self.user
            self.plane.post(lambda: user._finish(code, reason))
            self._hand_over_waiters(None, code, reason)

    async def _run(self) -> None:
        url = self.user.url
        try:
            proto, stream = await asyncio.wait_for(self._handshake(), self.params["open_timeout"])
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a ConnectError
            error = _describe(url, exc, self.params["open_timeout"])
            user = self.user
            self.plane.post(lambda: user._error_job(error))
            self._after_close(1006, error.reason, failed=True)
            return
        assert stream.transport is not None
        conn = WsConnection(stream.transport, proto, self.settings, self.io, self.plane, self._lost)
        stream.ws = conn
        conn.start(self.user)
        with self.lock:
            pending, self.pending, self.pending_bytes = list(self.pending), deque(), 0
            self.conn = conn
            closing = self.user_closed
        self.attempt = 0
        user = self.user
        subprotocol, peer = proto.subprotocol, conn.peer_address
        self.plane.post(lambda: user._opened_job(subprotocol, peer))
        for message in pending:
            conn.send_message(message)
        self._hand_over_waiters(conn)
        if closing is not None:
            conn.close_connection(*closing)
        # frames that came with (or right after) the 101, and whatever the
        # protocol already wrote in answer (a pong, a Close after a failure:
        # the connection was open when they arrived, so a failure waits
        # behind the messages before it)
        with conn._lock:
            conn._process_events(stream.leftover, was_open=True)
        conn._dispatch()
        stream.leftover = []
        if stream.lost:  # it closed while being set up
            conn.connection_lost()

    async def _handshake(self) -> tuple[StrictClientProtocol, _Stream]:
        p = self.params
        wsuri = parse_uri(self.user.url)
        context = p["ssl"]
        if wsuri.secure and context is None:
            context = ssl_module.create_default_context()
        elif not wsuri.secure:
            context = None
        loop = self.io.loop
        stream = _Stream(self)
        extensions = None
        if p["compression"]:
            # Two offers: context takeover (better ratio), then without it
            # (for servers that want it off); the server picks one.
            # The server picks both windows (at most 15 bits, 32 KiB each: the
            # inflated size is bounded by max_message_size regardless).
            extensions = [
                ClientPerMessageDeflateFactory(client_max_window_bits=True, server_max_window_bits=None,
                                               compress_settings={"memLevel": 5}),
                ClientPerMessageDeflateFactory(client_max_window_bits=True, client_no_context_takeover=True,
                                               compress_settings={"memLevel": 5}),
            ]
        max_message = self.settings.max_message_size
        proto = StrictClientProtocol(
            wsuri, origin=Origin(p["origin"]) if p["origin"] else None, extensions=extensions,
            subprotocols=[Subprotocol(s) for s in p["subprotocols"]] or None,
            max_size=(max_message, self.settings.max_frame_size or max_message),
        )
        stream.proto = proto
        await loop.create_connection(lambda: stream, wsuri.host, wsuri.port, ssl=context,
                                     server_hostname=wsuri.host if context is not None else None)
        request = proto.connect()
        for name, value in p["headers"].items():
            request.headers[name] = value
        proto.send_request(request)
        assert stream.transport is not None
        for data in proto.data_to_send():
            stream.transport.write(data)
        try:
            events = await stream.handshake
        except BaseException:
            stream.transport.abort()
            raise
        if proto.handshake_exc is not None or proto.state is CONNECTING:
            stream.transport.abort()
            raise proto.handshake_exc or ConnectionError("handshake failed")
        # (the state may already be CLOSING: a Close frame can follow the 101 at once)
        stream.leftover[:0] = [e for e in events if not isinstance(e, WsResponse)]
        return proto, stream

    def _lost(self, conn: WsConnection, code: int, reason: str) -> None:
        with self.lock:
            if self.conn is conn:
                self.conn = None
        self._after_close(code, reason, failed=False)

    def _after_close(self, code: int, reason: str, failed: bool) -> None:
        user = self.user
        if self.params["reconnect"] and self.user_closed is None:
            self.attempt += 1
            base = min(self.params["reconnect_max_delay"], 0.25 * 2 ** min(self.attempt, 16))
            delay = base * random.uniform(0.5, 1.0)
            if not failed:
                self.plane.post(lambda: user._dropped_job(code, reason))
            self.io.loop.call_later(delay, self._spawn)
            return
        self.plane.post(lambda: user._finish(code, reason))
        self._hand_over_waiters(None, code, reason)


def _describe(url: str, exc: BaseException, open_timeout: float) -> ConnectError:
    if isinstance(exc, ConnectError):
        return exc
    if isinstance(exc, InvalidStatus):
        return HandshakeRejectedError(url, exc.response.status_code, bytes(exc.response.body or b"")[:200])
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return ConnectError(url, f"no answer within open_timeout ({open_timeout} s)")
    if isinstance(exc, ssl_module.SSLCertVerificationError):
        return ConnectError(url, f"TLS certificate verification failed ({exc.verify_message}); pass ssl= a context "
                                 "that trusts the server")
    if isinstance(exc, socket.gaierror):
        return ConnectError(url, f"the host name could not be resolved ({exc.strerror})")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectError(url, "connection refused: is the server running on that port?")
    return ConnectError(url, f"{type(exc).__name__}: {exc}")


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
    ``ws.receive(timeout=5)`` in scripts and cells, ``await ws.receive()`` /
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
    session = _Session(ws, settings, params)
    ws._session = session
    ws._link = session
    session.start()
    return ws


def fetch(
    url: str,
    method: str = "GET",
    data: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Response:
    """Make an HTTP request and return the :class:`~nbws.Response`, without
    deadlocking when the server is in this same kernel. Blocking; in a
    coroutine use :func:`fetch_async`.

    A plain ``urllib`` call from a cell to a server of the same kernel would
    wait forever: the handler that must answer runs on the thread that is
    waiting. ``fetch`` sends the request from a worker thread and runs queued
    nbws handlers meanwhile (like :func:`nbws.service`), waking as soon as
    there is work. An ``async def`` handler cannot run while a cell blocks
    the kernel's loop (on Python 3.12+ one that finishes without awaiting
    does): ``fetch`` then raises :class:`~nbws.AsyncHandlerBlockedError` at
    once instead of timing out.

    HTTP error statuses are returned, not raised. A URL without
    ``http://``/``https://`` raises :class:`~nbws.InvalidURLError`; failing to
    connect (refused, DNS, TLS) raises :class:`~nbws.ConnectError`; no
    response within ``timeout`` seconds raises :class:`~nbws.FetchTimeoutError`,
    another broken response :class:`~nbws.FetchError`."""
    request = _fetch_request(url, method, data, headers)
    plane = handler_plane()
    assert plane is not None
    outcome: list[Response | BaseException] = []
    done = threading.Event()

    def worker() -> None:
        try:
            outcome.append(_urlopen(request, timeout))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            outcome.append(exc)
        finally:
            done.set()
            plane.post(_nothing)  # wakes the service() below at once

    threading.Thread(target=worker, name="nbws-fetch", daemon=True).start()
    servicing = not plane.in_handler()  # inside a handler, handlers cannot run: just wait
    stalled = plane.stalled
    deadline = time.monotonic() + timeout + 5
    while not done.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise FetchTimeoutError(url, timeout)
        if servicing:
            plane._service(remaining, stop_on_interrupt=False)
            if not done.is_set():
                plane.check_stalled(stalled, "nbws.fetch()")
        else:
            done.wait(remaining)
    result = outcome[0]
    if isinstance(result, BaseException):
        raise _fetch_failure(url, result, timeout) from None
    return result


async def fetch_async(
    url: str,
    method: str = "GET",
    data: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Response:
    """Make an HTTP request and return the :class:`~nbws.Response`; awaitable.

    Runs on the caller's event loop, which stays free meanwhile (the request
    is made from a worker thread), so handlers of this kernel's own servers,
    ``async def`` ones included, answer normally: use it with top-level
    ``await`` in a cell. Errors as for :func:`fetch`."""
    request = _fetch_request(url, method, data, headers)
    try:
        return await asyncio.to_thread(_urlopen, request, timeout)
    except Exception as exc:  # noqa: BLE001 - translated below
        raise _fetch_failure(url, exc, timeout) from None


def _nothing() -> None:
    """A job that only wakes the handler plane."""


def _fetch_request(url: str, method: str, data: bytes | str | None,
                   headers: Mapping[str, str] | None) -> urllib.request.Request:
    """Check the URL and build the request. Runs on the caller's thread."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidURLError(url)
    body = data.encode("utf-8") if isinstance(data, str) else data
    try:
        return urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    except ValueError:
        raise InvalidURLError(url) from None


def _urlopen(request: urllib.request.Request, timeout: float) -> Response:
    """Make the request; HTTP error statuses are a Response. Blocking; runs on a worker thread."""
    try:
        resp = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        resp = err
    with resp:
        return Response(resp.status, resp.read(), list(resp.headers.items()))


def _fetch_failure(url: str, exc: BaseException, timeout: float) -> BaseException:
    """A short nbws error for a failed request; other exceptions are returned
    unchanged. A pure function (any thread)."""
    if isinstance(exc, urllib.error.URLError):  # failed before the request was sent
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return ConnectError(url, f"no answer to the connection attempt within {timeout} s")
        if isinstance(reason, BaseException):
            return _describe(url, reason, timeout)
        return ConnectError(url, str(reason))
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return FetchTimeoutError(url, timeout)
    if isinstance(exc, http.client.RemoteDisconnected):
        return FetchError(url, "the server closed the connection without sending a response")
    if isinstance(exc, http.client.HTTPException):
        return FetchError(url, f"the response was not valid HTTP ({type(exc).__name__}: {exc})")
    if isinstance(exc, ConnectionError):
        return FetchError(url, f"the connection broke before the response was complete ({exc.strerror or exc})")
    if isinstance(exc, OSError):
        return _describe(url, exc, timeout)
    return exc
