"""HTTP on the I/O thread: one :class:`HttpConnection` per TCP connection.

request bytes → h11 events → checks (target, header limits, Host, token,
Origin) → ``on_headers`` / ``call`` on the handler loop → response bytes.
A WebSocket upgrade hands the connection to :class:`~nbws.wsconn.WsConnection`.

Everything in this module runs on the I/O thread; user handlers are only ever
reached through :meth:`Endpoint.call_handler`, which posts them to the
handler plane.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import h11
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.http11 import Request as WsRequest
from websockets.typing import Subprotocol

from . import __about__
from .assets import ASSET_PREFIX, asset
from .budget import SendBudget
from .capacity import ConnectionStats, ConnectionTable
from .errors import BadRequestError
from .messages import Headers, Request, Response, to_response
from .security import (
    TOKEN_COOKIE,
    Rejection,
    host_allowed,
    host_problem,
    http_version_problem,
    origin_allowed,
    request_token,
    target_problem,
    token_matches,
    transfer_coding_status,
    websocket_handshake_problem,
)
from .static import (
    Resolved,
    StaticRoutes,
    content_type_for,
    etag_for,
    etag_for_bytes,
    http_date,
    not_modified,
    parse_range,
)
from .websocket import WebSocket
from .wsconn import StrictServerProtocol, WsConnection

if TYPE_CHECKING:
    from .app import AppSpec
    from .bridge import HandlerPlane, IOThread
    from .config import Settings

__all__ = ["Endpoint", "HttpConnection"]

log = logging.getLogger("nbws")
access_log = logging.getLogger("nbws.access")
SERVER_HEADER = f"nbws/{__about__.__version__}".encode()
_CHUNK = 256 * 1024
_NO_BODY_STATUS = frozenset({204, 304}) | frozenset(range(100, 200))
# What a 405 for CONNECT names: nbws is an origin server, never a tunnel.
_ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def _plain(status: int, text: str) -> Response:
    return Response(status, text if text.endswith("\n") else text + "\n")


def _transfer_codings(head: bytes) -> list[str]:
    """The ``Transfer-Encoding`` field values of a raw request head.

    Used only to choose 400 or 501 for a head h11 refused (h11 raises before
    it builds the request, so the values are read from the bytes nbws kept).
    An empty list when there are none, which makes the caller answer 400.
    Runs on the I/O thread."""
    end = head.find(b"\r\n\r\n")
    lines = (head if end < 0 else head[:end]).split(b"\n")[1:]
    values = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"transfer-encoding":
            values.append(value.strip().decode("latin-1"))
    return values


class Endpoint:
    """The I/O-thread side of one server: its settings, app, connections.

    Created on any thread; every method runs on the I/O thread unless it says
    otherwise."""

    def __init__(
        self,
        settings: Settings,
        spec: AppSpec,
        io: IOThread,
        plane: HandlerPlane,
        bound_host: str,
        scheme: str,
        opened: Callable[[WebSocket], None],
        closed: Callable[[WebSocket], None],
    ) -> None:
        self.settings = settings
        self.spec = spec
        self.io = io
        self.plane = plane
        self.bound_host = bound_host
        self.scheme = scheme
        self.opened = opened  # run on the handler plane
        self.closed = closed  # run on the handler plane
        self.connections: set[HttpConnection] = set()
        self.websockets: set[WsConnection] = set()
        self.aio_server: asyncio.AbstractServer | None = None
        self.stopping = False
        self.static: StaticRoutes = spec.static
        # nbws's own endpoints served wholly on the I/O thread (live plots):
        # path -> (body, content type), and path -> fn(conn) run when a
        # WebSocket opens there. Changed only on the I/O thread.
        self.io_pages: dict[str, tuple[bytes, str]] = {}
        self.io_sockets: dict[str, Callable[[WsConnection], None]] = {}
        self.messages_out = 0
        total = settings.max_total_send_buffer
        self.send_budget = SendBudget(total) if total is not None else None
        # Which connections may be closed to make room (issue 17), and the
        # state of the one-line log about it.
        self.table: ConnectionTable[HttpConnection] = ConnectionTable(
            settings.max_connections, settings.max_pending_per_address, settings.pending_grace)
        self._pressure_timer: asyncio.TimerHandle | None = None
        self._pressure_began = 0.0
        self._pressure_last = 0.0
        self._pressure_base = (0, 0)  # reclaimed, refused when the episode began

    def connection_stats(self) -> ConnectionStats:
        """Counts of connections held, reclaimed and refused. Thread-safe."""
        return self.table.stats()

    def admit(self, conn: HttpConnection) -> bool:
        """Take a new connection into the table, closing the connections the
        reclaim rules name to make room; False when it must be refused (503)."""
        table = self.table
        before = (table.reclaimed, table.refused)
        admission = table.arrive(conn, conn.remote[0])
        for victim in admission.victims:
            victim.close()
        if admission.victims or not admission.admitted:
            self._under_pressure(before)
        return admission.admitted

    def _label(self) -> str:
        sockets = getattr(self.aio_server, "sockets", None) or ()
        if sockets:
            name = sockets[0].getsockname()
            if isinstance(name, tuple):
                return f"{name[0]}:{name[1]}"
            return str(name)
        return self.bound_host or "server"

    def _under_pressure(self, before: tuple[int, int]) -> None:
        """Log one line when reclaiming or refusing starts; a summary follows
        once none has happened for handshake_timeout seconds."""
        now = self.io.loop.time()
        self._pressure_last = now
        if self._pressure_timer is not None:
            return
        self._pressure_began = now
        self._pressure_base = before
        per_address = self.settings.max_pending_per_address
        log.info("nbws: %s is making room for newcomers (max_connections=%d reached, or one address over "
                 "max_pending_per_address=%s): closing connections that sent no complete request, then idle "
                 "keep-alive ones, oldest first; 503 when none can be. A summary follows when this stops.",
                 self._label(), self.settings.max_connections, per_address)
        self._pressure_timer = self.io.loop.call_later(self.settings.handshake_timeout, self._pressure_check)

    def _pressure_check(self) -> None:
        wait = self._pressure_last + self.settings.handshake_timeout - self.io.loop.time()
        if wait > 0:
            self._pressure_timer = self.io.loop.call_later(wait, self._pressure_check)
            return
        self._pressure_timer = None
        self._pressure_summary()

    def _pressure_summary(self) -> None:
        reclaimed = self.table.reclaimed - self._pressure_base[0]
        refused = self.table.refused - self._pressure_base[1]
        log.info("nbws: %s stopped making room: %d connection(s) reclaimed and %d refused (503) in %.1f s; "
                 "Server.connection_stats() has the totals.", self._label(), reclaimed, refused,
                 self._pressure_last - self._pressure_began)

    def protocol(self) -> HttpConnection:
        """Factory for asyncio's ``create_server``."""
        return HttpConnection(self)

    def call_handler(self, fn: Callable[..., Any], *args: Any, http: bool = True) -> asyncio.Future[Any]:
        """Run ``fn(*args)`` on the handler plane; a future on the I/O loop
        settles with its (awaited) result, converted to a Response when
        ``http`` and not None. Errors become a logged 500."""
        loop = self.io.loop
        future: asyncio.Future[Any] = loop.create_future()
        io = self.io
        label = getattr(fn, "__qualname__", repr(fn))

        def settle(value: Any) -> None:  # I/O thread
            if not future.done():
                future.set_result(value)

        def convert(value: Any) -> Any:  # handler plane
            if value is None or not http:
                return value
            return to_response(value)

        def failed(exc: BaseException) -> None:  # handler plane
            if isinstance(exc, BadRequestError) and http:  # the request's fault, not the handler's
                log.debug("nbws: HTTP handler %s: %s", label, exc)
                answer = _plain(exc.status, str(exc))
                io.post(lambda: settle(answer))
                return
            log.error("nbws: HTTP handler %s raised", label, exc_info=exc)
            io.post(lambda: settle(_plain(500, "Internal Server Error")))

        def finished(task: asyncio.Future[Any]) -> None:  # handler plane
            if task.cancelled():
                failed(asyncio.CancelledError())
                return
            exc = task.exception()
            if exc is not None:
                failed(exc)
                return
            try:
                value = convert(task.result())
            except Exception as exc2:  # noqa: BLE001
                failed(exc2)
                return
            io.post(lambda: settle(value))

        def job() -> None:  # handler plane
            try:
                result = fn(*args)
                if self.plane.start_async(result, finished) is not None:
                    return
                value = convert(result)
            except Exception as exc:  # noqa: BLE001 - contained: a 500, never a dead server
                failed(exc)
                return
            io.post(lambda: settle(value))

        self.plane.post(job)
        return future

    def ws_lost(self, conn: WsConnection, code: int, reason: str) -> None:
        """A WebSocket's TCP connection is gone."""
        self.websockets.discard(conn)
        user = conn.user
        if user is not None:
            def job() -> None:  # handler plane
                self.closed(user)
                user._finish(code, reason)

            self.plane.post(job)

    def broadcast(self, data: str | bytes) -> int:
        """Send one message to every open WebSocket; returns how many got it.

        The frame is serialised once for all peers without extensions."""
        from websockets.frames import Frame, Opcode

        payload = data.encode("utf-8") if isinstance(data, str) else data
        opcode = Opcode.TEXT if isinstance(data, str) else Opcode.BINARY
        shared: list[bytes] = []

        def frame() -> bytes:
            if not shared:
                shared.append(Frame(opcode, payload).serialize(mask=False, extensions=[]))
            return shared[0]

        size = len(data)
        sent = 0
        for conn in list(self.websockets):
            try:
                if not conn.reserve(size):
                    continue
            except Exception:  # noqa: BLE001 - 'error' policy: skip this peer in a broadcast
                conn.dropped += 1
                continue
            conn.send_shared(frame, data, size)
            sent += 1
        self.messages_out += sent
        return sent

    async def stop(self) -> None:
        """Stop listening and close every connection (1001 for WebSockets)."""
        self.stopping = True
        if self._pressure_timer is not None:
            self._pressure_timer.cancel()
            self._pressure_timer = None
            self._pressure_summary()
        if self.aio_server is not None:
            self.aio_server.close()
        for ws in list(self.websockets):
            ws.start_close(1001, "server stopping")
        for conn in list(self.connections):
            if conn.ws is None:
                conn.close()


class HttpConnection(asyncio.Protocol):
    """One TCP connection: HTTP/1.1 requests (keep-alive, pipelining), then
    possibly a WebSocket. Runs on the I/O thread."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.ep = endpoint
        self.settings = endpoint.settings
        self.loop = endpoint.io.loop
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=endpoint.settings.max_header_block)
        self.transport: asyncio.Transport | None = None
        self.ws: WsConnection | None = None
        self.remote: tuple[str, int] = ("", 0)
        self._data_ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._paused = False
        self._closed = False
        self._writable = asyncio.Event()
        self._writable.set()
        self._request_line = "-"
        # The method of the request being answered (None before its head is
        # parsed): every answer to HEAD goes without a body.
        self._method: bytes | None = None
        # the raw bytes of the request head being received (bounded), kept only
        # to tell 400 from 501 when h11 refuses its Transfer-Encoding
        self._head_raw = bytearray()
        self._reading_body = False  # the body timeout (not the head's) is running
        self._last_read = 0.0  # loop time of the last bytes while reading a body
        self._refused = False

    def _linger(self) -> None:
        """Close a refused connection without losing its 503: closing a socket
        with unread request bytes makes the kernel send a reset, which can
        destroy the response before the client reads it. So: send FIN after
        the response, discard what the peer sends, and close at its EOF or
        after close_timeout. The connection is not in the table meanwhile."""
        assert self.transport is not None
        if not self.transport.can_write_eof():  # TLS: no half-close
            self.close()
            return
        self._refused = True
        self.transport.write_eof()
        self._timer = self.loop.call_later(self.settings.close_timeout, self.close)

    # ---------------------------------------------------------------- asyncio hooks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and len(peer) >= 2:
            self.remote = (str(peer[0]), int(peer[1]))
        transport.set_write_buffer_limits(high=self.settings.send_buffer_size)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # small frames must not wait for delayed ACKs (Nagle)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.ep.connections.add(self)
        if self.ep.stopping or not self.ep.admit(self):
            body = b"too many connections; try again later\n"
            transport.write(
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
                b"Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s" % (len(body), body)
            )
            self._linger()
            return
        self._set_timer(self.settings.handshake_timeout)
        self._task = self.loop.create_task(self._serve())

    def data_received(self, data: bytes) -> None:
        ws = self.ws
        if ws is not None:
            ws.data_received(data)
            return
        if self._refused:
            return  # a 503 is on its way: the request is discarded
        if self._method is None and len(self._head_raw) < self.settings.max_header_block:
            self._head_raw += data[: self.settings.max_header_block - len(self._head_raw)]
        self.ep.table.waiting(self)
        self.h11.receive_data(data)
        self._data_ready.set()

    def eof_received(self) -> bool:
        if self.ws is not None:
            self.ws.eof_received()
            return True
        if self._refused:
            self.close()
            return True
        try:
            self.h11.receive_data(b"")
        except RuntimeError:
            pass
        self._data_ready.set()
        return True

    def pause_writing(self) -> None:
        self._writable.clear()

    def resume_writing(self) -> None:
        self._writable.set()
        if self.ws is not None:
            self.ws.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._writable.set()
        self.ep.connections.discard(self)
        self.ep.table.leave(self)
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self.ws is not None:
            self.ws.connection_lost()

    # ---------------------------------------------------------------- helpers

    def close(self) -> None:
        """Close the TCP connection after pending writes."""
        if self.transport is not None and not self._closed:
            self._closed = True
            self.ep.table.leave(self)
            self.transport.close()

    def _set_timer(self, seconds: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self.loop.call_later(seconds, self._timed_out)

    def _timed_out(self) -> None:
        self._timer = None
        if self.ws is not None or self._closed:
            return
        if self._reading_body:
            timeout = self.settings.body_timeout
            idle = self.loop.time() - self._last_read
            if idle < timeout:  # bytes came in meanwhile: an inactivity timeout starts again
                self._timer = self.loop.call_later(timeout - idle, self._timed_out)
                return
            log.debug("nbws: %s: request body stalled for body_timeout (%s s); 408", self.remote[0], timeout)
            if self.h11.our_state is h11.SEND_RESPONSE:
                self._respond(_plain(408, f"Request Timeout: no part of the request body arrived for "
                                          f"{timeout:g} s (body_timeout)"), close=True)
            self.close()
            return
        if self.h11.their_state is h11.IDLE and self.h11.our_state is h11.IDLE and not self._has_partial():
            self.close()
            return
        if self._method is None:
            self._answer_unparsed(408, "Request Timeout: the request headers took too long")
        elif self.h11.our_state is h11.SEND_RESPONSE:
            self._respond(_plain(408, "Request Timeout: the request headers took too long"), close=True)
        self.close()

    def _has_partial(self) -> bool:
        return bool(self.h11.trailing_data[0])

    def _pause(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def _resume(self) -> None:
        if self._paused and self.transport is not None and not self._closed:
            self._paused = False
            self.transport.resume_reading()

    async def _next_event(self) -> Any:
        while True:
            event = self.h11.next_event()
            if isinstance(event, h11.Request):
                self.ep.table.busy(self)  # a complete head: never reclaimed now
            elif event is h11.NEED_DATA:
                if self.h11.their_state is h11.IDLE and self.h11.our_state is h11.IDLE:
                    # between requests: keep-alive idle, or a next head begun
                    self.ep.table.next_request(self, started=self._has_partial())
                self._resume()
                self._data_ready.clear()
                await self._data_ready.wait()
                self._last_read = self.loop.time()
                continue
            return event

    def _respond(self, resp: Response, close: bool = False, head: bool = False,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
        if self.transport is None or self._closed:
            return
        head = head or self._method == b"HEAD"
        headers: list[tuple[bytes, bytes]] = [(b"Server", SERVER_HEADER)]
        has_length = False
        for name, value in resp.headers.items_raw():
            if name.lower() == "content-length":
                has_length = True
            headers.append((name.encode("latin-1"), value.encode("latin-1")))
        no_body = resp.status in _NO_BODY_STATUS
        if not has_length and not no_body:
            headers.append((b"Content-Length", str(len(resp.body)).encode()))
        if extra:
            headers.extend(extra)
        if close:
            headers.append((b"Connection", b"close"))
        self._log_access(resp.status, 0 if head or no_body else len(resp.body))
        data = self.h11.send(h11.Response(status_code=resp.status, headers=headers, reason=resp.reason.encode()))
        chunks = [data or b""]
        if resp.body and not head and not no_body:
            chunks.append(self.h11.send(h11.Data(data=resp.body)) or b"")
        chunks.append(self.h11.send(h11.EndOfMessage()) or b"")
        self.transport.write(b"".join(chunks))

    def _safe_respond(self, resp: Response, close: bool = False, head: bool = False,
                      extra: list[tuple[bytes, bytes]] | None = None) -> None:
        try:
            self._respond(resp, close=close, head=head, extra=extra)
        except (UnicodeEncodeError, h11.LocalProtocolError, ValueError) as exc:
            log.error("nbws: could not send the handler's response (%s)", exc)
            if self.h11.our_state is h11.SEND_RESPONSE:
                self._respond(_plain(500, "Internal Server Error"), close=True)
            self.close()

    # ---------------------------------------------------------------- the request loop

    async def _serve(self) -> None:
        try:
            while not self._closed:
                try:
                    event = await self._next_event()
                except h11.RemoteProtocolError as exc:
                    self._unparsable(exc)
                    return
                if isinstance(event, h11.Request):
                    if self._timer is not None:
                        self._timer.cancel()
                        self._timer = None
                    self._method = event.method
                    self._head_raw = bytearray()
                    try:
                        upgraded = await self._handle(event)
                    except h11.RemoteProtocolError as exc:  # the peer broke HTTP mid-request: its fault
                        self._peer_fault(f"Bad Request: {exc}")
                        return
                    if upgraded or self._closed:
                        return
                    if self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE:
                        self.h11.start_next_cycle()
                        self._method = None
                        self._request_line = "-"
                        self._head_raw = bytearray(self.h11.trailing_data[0][: self.settings.max_header_block])
                        self._set_timer(self.settings.keep_alive_timeout)
                        continue
                    self.close()
                    return
                if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    self.close()
                    return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("nbws: internal error serving a connection")
            if self.h11.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                try:
                    self._respond(_plain(500, "Internal Server Error"), close=True)
                except Exception:  # noqa: BLE001
                    pass
            self.close()

    def _log_access(self, status: int, size: int) -> None:
        """One line per response in the Common Log Format (logger ``nbws.access``)."""
        if access_log.isEnabledFor(logging.INFO):
            when = time.strftime("%d/%b/%Y:%H:%M:%S %z")
            access_log.info('%s - - [%s] "%s" %d %d', self.remote[0] or "-", when, self._request_line, status, size)

    def _reject(self, status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> bool:
        """Answer the current request with a plain-text error and close. Runs on the I/O thread."""
        self._respond(Response(status, text if text.endswith("\n") else text + "\n", list(headers)), close=True)
        self.close()
        return False

    def _peer_fault(self, text: str, status: int = 400) -> None:
        """The peer broke HTTP after its request head: answer ``status`` when
        nothing was sent yet (the peer may be gone; then the write is dropped),
        log one debug line, close. Never a traceback: it is not our fault.
        Runs on the I/O thread."""
        log.debug("nbws: %s: %s", self.remote[0] or "-", text)
        if self.h11.our_state is h11.SEND_RESPONSE and self.h11.their_state is not h11.CLOSED:
            self._respond(_plain(status, text), close=True)
        self.close()

    def _unparsable(self, exc: h11.RemoteProtocolError) -> None:
        """h11 refused bytes before or between requests: 400, 431, or for an
        unsupported Transfer-Encoding 400 / 501 (see :func:`transfer_coding_status`).
        Runs on the I/O thread."""
        status = exc.error_status_hint
        if self._method is not None:  # mid-request (a body, or bytes after a finished request)
            self._peer_fault(f"Bad Request: {exc}")
            return
        if status == 431:
            text = "Request Header Fields Too Large: the request head is over max_header_block"
        elif status == 501:
            status = transfer_coding_status(_transfer_codings(bytes(self._head_raw)))
            text = ("Not Implemented: nbws decodes only the chunked transfer coding" if status == 501 else
                    "Bad Request: Transfer-Encoding must end with a single 'chunked' (RFC 9112 §6.3)")
        else:
            status, text = 400, f"Bad Request: {exc}"
        log.debug("nbws: %s: unparsable request (%s)", self.remote[0] or "-", exc)
        self._answer_unparsed(status, text)
        self.close()

    def _answer_unparsed(self, status: int, text: str) -> None:
        """Answer bytes h11 could not parse into a request (so it cannot frame
        the answer) with a plain-text error written by hand, without a body
        when they start like a ``HEAD`` request. The caller closes. Runs on the I/O thread."""
        if self.transport is None or self._closed or self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        head = self.h11.trailing_data[0].lstrip(b"\r\n").startswith(b"HEAD ")
        body = (text if text.endswith("\n") else text + "\n").encode()
        reason = Response(status).reason
        self._log_access(status, 0 if head else len(body))
        self.transport.write(
            b"HTTP/1.1 %d %s\r\nServer: %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
            % (status, reason.encode(), SERVER_HEADER, len(body), b"" if head else body)
        )

    async def _handle(self, event: h11.Request) -> bool:
        """Serve one request; True when the connection became a WebSocket."""
        settings = self.settings
        target = event.target.decode("latin-1")
        method = event.method.decode("ascii", "replace").upper()
        version = event.http_version.decode("ascii", "replace")
        self._request_line = f"{method} {target} HTTP/{version}"
        bad_version = http_version_problem(version)
        if bad_version is not None:
            return self._reject(400, f"Bad Request: {bad_version}")
        if method == "CONNECT":
            return self._reject(405, "Method Not Allowed: nbws is not a proxy; CONNECT is not supported",
                                (("Allow", _ALLOW),))
        if len(event.method) + len(event.target) + 11 > settings.max_header_line:
            return self._reject(414, "URI Too Long: the request line is longer than max_header_line")
        problem = target_problem(target)
        if problem is not None:
            return self._reject(400, f"Bad Request: {problem}")
        raw_headers = event.headers.raw_items()
        if len(raw_headers) > settings.max_header_count:
            return self._reject(431, "Request Header Fields Too Large: too many header fields")
        if any(len(n) + len(v) + 2 > settings.max_header_line for n, v in raw_headers):
            return self._reject(431, "Request Header Fields Too Large: a header line is longer than max_header_line")
        headers = Headers([(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw_headers])
        bad_host = host_problem(headers.get_all("host"))
        if bad_host is not None:
            return self._reject(400, f"Bad Request: {bad_host}")
        if "transfer-encoding" in headers and "content-length" in headers:
            # RFC 9112 §6.3: a request smuggling pattern; refuse rather than guess
            return self._reject(400, "Bad Request: both Transfer-Encoding and Content-Length")
        raw_path, _, query = target.partition("?")
        request = Request(
            method=method,
            path=unquote(raw_path, errors="strict") if raw_path != "*" else "*",
            query_string=query,
            headers=headers,
            remote_addr=self.remote,
            scheme=self.ep.scheme,
            http_version=event.http_version.decode("ascii", "replace"),
            raw_path=target,
        )
        token = settings.token
        host_header = headers.get("host", "") or self.ep.bound_host
        if not host_allowed(host_header, settings.allowed_hosts, self.ep.bound_host, bool(token)):
            return self._reject(403, "Forbidden: this Host is not allowed (add it to allowed_hosts)")
        set_cookie: list[tuple[bytes, bytes]] = []
        if token:
            given = request_token(request)
            if not token_matches(given, token):
                return self._reject(403, "Forbidden: this server needs its token; open the URL it printed (with ?token=...)")
            if request.query.get("token"):
                set_cookie = [(b"Set-Cookie", f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax".encode())]
        upgrade = headers.get("upgrade", "").lower()
        if method == "GET" and "websocket" in upgrade:
            return await self._upgrade(request, target, raw_headers)
        return await self._http(request, set_cookie)

    async def _read_body(self, request: Request) -> list[bytes] | None:
        """Read the request body (bounded by max_body_size, and by body_timeout
        between reads); None when the request was answered (413, 408, 400 for
        a malformed or cut-short body) or the connection closed. Runs on the I/O thread."""
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.settings.max_body_size:
            self._reject(413, f"Content Too Large: the body is over max_body_size ({self.settings.max_body_size} bytes)")
            return None
        if self.h11.client_is_waiting_for_100_continue:
            assert self.transport is not None
            self.transport.write(self.h11.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
        timed = length is not None or "transfer-encoding" in request.headers  # else the body is empty
        if timed:
            self._reading_body = True
            self._last_read = self.loop.time()
            self._set_timer(self.settings.body_timeout)
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                event = await self._next_event()
                if isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > self.settings.max_body_size:
                        self._reject(413, "Content Too Large: the body is over max_body_size")
                        return None
                    chunks.append(bytes(event.data))
                elif isinstance(event, h11.EndOfMessage):
                    return chunks
                else:
                    self.close()
                    return None
        except h11.RemoteProtocolError as exc:
            gone = self.h11.trailing_data[1]
            why = "the connection closed before the request body was complete" if gone else "malformed request body"
            self._peer_fault(f"Bad Request: {why} ({exc})")
            return None
        finally:
            if timed:
                self._reading_body = False
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None

    def _finish_bodyless(self, request: Request) -> None:
        """Consume the end of a request that announced no body, so the
        connection can be kept alive after an early answer."""
        if "content-length" in request.headers or "transfer-encoding" in request.headers:
            return
        if self.h11.their_state is h11.SEND_BODY:
            event = self.h11.next_event()
            assert isinstance(event, h11.EndOfMessage) or event is h11.NEED_DATA

    async def _http(self, request: Request, set_cookie: list[tuple[bytes, bytes]]) -> bool:
        spec = self.ep.spec
        head = self._method == b"HEAD"  # as h11 frames it: methods are case-sensitive
        page = self.ep.io_pages.get(request.path)
        if page is not None and request.method in ("GET", "HEAD"):
            if await self._read_body(request) is None:
                return False
            self._safe_respond(Response(200, page[0], [("Cache-Control", "no-cache")], content_type=page[1]),
                               head=head, extra=set_cookie)
            return False
        if request.path.startswith(ASSET_PREFIX) and request.method in ("GET", "HEAD"):
            helper = asset(request.path)
            if helper is not None:
                if await self._read_body(request) is None:
                    return False
                body, kind, etag = helper
                cache = [("ETag", etag), ("Cache-Control", "no-cache"), ("Access-Control-Allow-Origin", "*")]
                if not_modified(request.headers, etag, None):
                    self._safe_respond(Response(304, "", cache))
                else:
                    self._safe_respond(Response(200, body, cache, content_type=kind), head=head, extra=set_cookie)
                return False
        static = self.ep.static
        if static and request.method in ("GET", "HEAD"):
            found = static.resolve(request.path, request.headers)
            if found.kind != "app" and not (found.kind == "missing" and found.options.fallthrough):
                if await self._read_body(request) is None:
                    return False
                await self._serve_static(request, found, set_cookie)
                return False
        if spec.on_headers is not None:
            self._pause()
            early = await self.ep.call_handler(spec.on_headers, request)
            if early is not None:
                self._finish_bodyless(request)
                body_pending = self.h11.their_state is not h11.DONE
                self._safe_respond(early, close=body_pending, head=head, extra=set_cookie)
                return False
        chunks = await self._read_body(request)
        if chunks is None:
            return False
        if chunks:
            request = Request(
                request.method, request.path, request.query_string, request.headers, b"".join(chunks),
                request.remote_addr, request.scheme, request.http_version, request.raw_path,
            )
        if spec.call is None:
            self._safe_respond(_plain(404, "Not Found"), head=head, extra=set_cookie)
            return False
        self._pause()
        response = await self.ep.call_handler(spec.call, request)
        if response is None:
            log.error("nbws: the call handler returned None for %s %s; return a Response, str, bytes or dict",
                      request.method, request.path)
            response = _plain(500, "Internal Server Error")
        self._safe_respond(response, head=head, extra=set_cookie)
        return False

    async def _serve_static(self, request: Request, found: Resolved, extra: list[tuple[bytes, bytes]]) -> None:
        """Answer from a static path, entirely on the I/O thread."""
        head = self._method == b"HEAD"  # as h11 frames it: methods are case-sensitive
        opts = found.options
        if found.kind == "forbidden":
            self._safe_respond(_plain(403, f"Forbidden: {found.reason}"), head=head)
            return
        if found.kind == "missing":
            self._safe_respond(_plain(404, "Not Found"), head=head)
            return
        if found.kind == "redirect":
            raw_path, _, query = request.raw_path.partition("?")
            location = raw_path + "/" + ("?" + query if query else "")
            self._safe_respond(Response(301, "", {"Location": location}), head=head)
            return
        common = [("Cache-Control", opts.cache_control or "no-cache"), *(opts.headers or {}).items()]
        if found.kind == "text":
            etag = etag_for_bytes(found.text)
            if not_modified(request.headers, etag, None):
                self._safe_respond(Response(304, "", [("ETag", etag), *common]))
                return
            resp = Response(200, found.text, [("ETag", etag), *common], content_type=found.content_type)
            self._safe_respond(resp, head=head, extra=extra)
            return
        try:
            f = open(found.path, "rb")
        except OSError:
            self._safe_respond(_plain(404, "Not Found"), head=head)
            return
        with f:
            st = os.fstat(f.fileno())
            etag = etag_for(st)
            validators = [("ETag", etag), ("Last-Modified", http_date(st.st_mtime)), *common]
            if not_modified(request.headers, etag, st.st_mtime):
                self._safe_respond(Response(304, "", validators))
                return
            size = st.st_size
            kind = found.content_type or content_type_for(found.path, opts.html_charset or "")
            headers = [*validators, ("Content-Type", kind), ("Accept-Ranges", "bytes")]
            wanted = parse_range(request.headers.get("range"), size)
            if wanted is False:
                self._safe_respond(Response(416, "Range Not Satisfiable\n", [("Content-Range", f"bytes */{size}")]))
                return
            status, start, length = 200, 0, size
            if isinstance(wanted, tuple):
                status, start, length = 206, wanted[0], wanted[1] - wanted[0] + 1
                headers.append(("Content-Range", f"bytes {wanted[0]}-{wanted[1]}/{size}"))
            headers.append(("Content-Length", str(length)))
            await self._stream(f, status, headers, start, length, head, extra)

    async def _stream(self, f: Any, status: int, headers: list[tuple[str, str]], start: int, length: int,
                      head: bool, extra: list[tuple[bytes, bytes]]) -> None:
        """Send a file region in chunks, waiting for the socket to drain."""
        assert self.transport is not None
        raw = [(b"Server", SERVER_HEADER)] + [(n.encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        reason = Response(status).reason.encode()
        self._log_access(status, 0 if head else length)
        self.transport.write(self.h11.send(h11.Response(status_code=status, headers=raw + extra, reason=reason)) or b"")
        if not head:
            f.seek(start)
            remaining = length
            while remaining > 0 and not self._closed:
                chunk = f.read(min(_CHUNK, remaining))
                if not chunk:  # the file shrank while being sent: end the connection
                    self.close()
                    return
                remaining -= len(chunk)
                self.transport.write(self.h11.send(h11.Data(data=chunk)) or b"")
                if not self._writable.is_set():  # the transport passed its high-water mark
                    await self._writable.wait()
            if self._closed:
                return
        self.transport.write(self.h11.send(h11.EndOfMessage()) or b"")

    async def _upgrade(self, request: Request, target: str, raw_headers: list[tuple[bytes, bytes]]) -> bool:
        settings = self.settings
        spec = self.ep.spec
        io_socket = self.ep.io_sockets.get(request.path)
        if io_socket is None and not spec.accepts_websocket(request.path):
            return self._reject(404, "Not Found: no WebSocket endpoint at this path")
        origin = request.headers.get("origin")
        host_header = request.headers.get("host", "")
        if not origin_allowed(origin, host_header, self.ep.scheme, settings.allowed_origins):
            return self._reject(403, "Forbidden: cross-origin WebSocket refused (add the origin to allowed_origins)")
        refused: Rejection | None = websocket_handshake_problem(request.http_version, request.headers)
        if refused is not None:
            log.debug("nbws: %s: %s", self.remote[0] or "-", refused.text)
            return self._reject(refused.status, refused.text, refused.headers)
        if spec.on_headers is not None and io_socket is None:
            self._pause()
            early = await self.ep.call_handler(spec.on_headers, request)
            if early is not None:
                self._safe_respond(early, close=True)
                self.close()
                return False
        extensions = []
        if settings.compression:
            bits = settings.compression_window_bits
            extensions.append(ServerPerMessageDeflateFactory(
                server_max_window_bits=bits,
                client_max_window_bits=bits,
                compress_settings={"memLevel": 5, "level": 1},
            ))
        max_message = settings.max_message_size
        max_frame = settings.max_frame_size if settings.max_frame_size is not None else max_message
        proto = StrictServerProtocol(
            extensions=extensions,
            subprotocols=[Subprotocol(p) for p in settings.subprotocols] or None,
            max_size=(max_message, max_frame),
            logger=logging.getLogger("nbws.protocol"),
        )
        # The protocol object parses the upgrade request itself: feed it the
        # request head exactly as received (h11 already validated it).
        head = b"".join([b"GET ", target.encode("latin-1"), b" HTTP/1.1\r\n"]
                        + [n + b": " + v + b"\r\n" for n, v in raw_headers] + [b"\r\n"])
        proto.receive_data(head)
        parsed = [e for e in proto.events_received() if isinstance(e, WsRequest)]
        assert self.transport is not None
        if not parsed:  # checked above, so rare: say why rather than close in silence
            cause = proto.handshake_exc.__cause__ if proto.handshake_exc is not None else None
            return self._reject(400, f"Bad Request: not a valid WebSocket handshake ({cause or proto.handshake_exc})")
        response = proto.accept(parsed[0])
        if response.status_code != 101:
            proto.send_response(response)
            for data in proto.data_to_send():
                if data:
                    self.transport.write(data)
            self.close()
            return False
        response.headers["Server"] = SERVER_HEADER.decode()
        proto.send_response(response)
        # Bytes the client sent after its handshake belong to the WebSocket.
        while True:
            event = self.h11.next_event()
            if event is h11.PAUSED or event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                break
        trailing, _ = self.h11.trailing_data
        conn = WsConnection(self.transport, proto, settings, self.ep.io, self.ep.plane, self.ep.ws_lost,
                            self.ep.send_budget)
        self.ws = conn
        self.ep.websockets.add(conn)
        conn.flush()
        user = WebSocket(conn, self.ep.plane, request, proto.subprotocol, settings.close_on_handler_error,
                         conn.peer_address)
        conn.start(user)
        ep = self.ep
        on_open = spec.on_ws_open if io_socket is None else None

        def open_job() -> None:  # handler plane
            ep.opened(user)
            if on_open is not None:
                user._run_callback(on_open, user)

        ep.plane.post(open_job)
        if io_socket is not None:
            io_socket(conn)  # nbws's own endpoint, on this thread: works while the kernel is busy
        self._resume()
        if trailing:
            conn.data_received(bytes(trailing))
        return True
