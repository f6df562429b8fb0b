"""HTTP on the I/O thread: one :class:`HttpConnection` per TCP connection.

request bytes → h11 events → checks (target, header limits, Host, token) →
the route table (:mod:`nbws.io.routes`: live pages, assets, static paths)
or ``on_headers`` / ``call`` on the handler plane → the response writer
(``_respond`` through h11; by hand only the 503 at accept and the answer to
bytes h11 cannot parse).
A WebSocket upgrade (:mod:`nbws.io.upgrade`) hands the connection to
:class:`~nbws.io.wsconn.WsConnection`.

Everything in this module runs on the I/O thread; user handlers are only
reached through :meth:`Endpoint.call_handler`, which crosses the boundary.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from typing import TYPE_CHECKING, Any

import h11

from ..messages import Request, Response
from ..security import Rejection
from .body import finish_bodyless, read_body
from .endpoint import SERVER_HEADER, plain
from .head import has_body, read_head, unparsable_answer
from .routes import Answer
from .send_file import send_file
from .upgrade import upgrade

if TYPE_CHECKING:
    from ..config import Settings
    from .endpoint import Endpoint
    from .wsconn import WsConnection

__all__ = ["HttpConnection"]

log = logging.getLogger("nbws")
access_log = logging.getLogger("nbws.access")
_NO_BODY_STATUS = frozenset({204, 304}) | frozenset(range(100, 200))
_BUSY_BODY = b"too many connections; try again later\n"
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
         b"Content-Length: %d\r\nConnection: close\r\nRetry-After: 1\r\n\r\n%s" % (len(_BUSY_BODY), _BUSY_BODY))


class HttpConnection(asyncio.BufferedProtocol):
    """One TCP connection: HTTP/1.1 requests (keep-alive, pipelining), then possibly
    a WebSocket; read into the loop's one buffer (``Endpoint.reads``). Runs on the I/O thread."""

    # no per-instance dict: it is most of the memory of an idle connection
    __slots__ = (
        "_closed", "_data_waiter", "_drain_waiter", "_head_raw", "_last_read", "_method", "_paused",
        "_reading_body", "_refused", "_request_line", "_task", "_timer", "_write_paused", "ep", "h11", "loop",
        "remote", "settings", "transport", "ws",
    )

    def __init__(self, endpoint: Endpoint, settings: Settings | None = None) -> None:
        self.ep = endpoint
        self.settings = settings or endpoint.settings  # the relay listener's are its own
        self.loop = endpoint.io.loop
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=endpoint.settings.max_header_block)
        self.transport: asyncio.Transport | None = None
        self.ws: WsConnection | None = None
        self.remote: tuple[str, int] = ("", 0)
        # Futures made only while someone waits (an asyncio.Event costs ~750
        # bytes per connection, kept for the life of a WebSocket too).
        self._data_waiter: asyncio.Future[None] | None = None  # _next_event waits for bytes
        self._drain_waiter: asyncio.Future[None] | None = None  # _stream waits for the transport
        self._write_paused = False
        self._task: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._paused = False
        self._closed = False
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
            transport.write(_BUSY)
            self._linger()
            return
        self._set_timer(self.settings.handshake_timeout)
        self._task = self.loop.create_task(self._serve())

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.ep.reads.view

    def buffer_updated(self, nbytes: int) -> None:
        data = self.ep.reads.take(nbytes)  # copied out first: the next read, of any socket, reuses the buffer
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
        self._wake(self._data_waiter)

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
        self._wake(self._data_waiter)
        return True

    @staticmethod
    def _wake(waiter: asyncio.Future[None] | None) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake(self._drain_waiter)
        if self.ws is not None:
            self.ws.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        self._write_paused = False
        self._wake(self._drain_waiter)
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
                self._respond(plain(408, f"Request Timeout: no part of the request body arrived for "
                                          f"{timeout:g} s (body_timeout)"), close=True)
            self.close()
            return
        if self.h11.their_state is h11.IDLE and self.h11.our_state is h11.IDLE and not self.h11.trailing_data[0]:
            self.close()
            return
        if self._method is None:
            self._answer_unparsed(408, "Request Timeout: the request headers took too long")
        elif self.h11.our_state is h11.SEND_RESPONSE:
            self._respond(plain(408, "Request Timeout: the request headers took too long"), close=True)
        self.close()

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
            if isinstance(event, h11.EndOfMessage) or (isinstance(event, h11.Request) and not has_body(event)):
                self.ep.table.busy(self)  # a complete request: never reclaimed now (a head whose body
                # is still coming stays reclaimable, or a stalled body would hold the slot for good)
            elif event is h11.NEED_DATA:
                if self.h11.their_state is h11.IDLE and self.h11.our_state is h11.IDLE:
                    # between requests: keep-alive idle, or a next head begun
                    self.ep.table.next_request(self, started=bool(self.h11.trailing_data[0]))
                self._resume()
                self._data_waiter = self.loop.create_future()
                try:
                    await self._data_waiter
                finally:
                    self._data_waiter = None
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
                self._respond(plain(500, "Internal Server Error"), close=True)
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
                    self._respond(plain(500, "Internal Server Error"), close=True)
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
            self._respond(plain(status, text), close=True)
        self.close()

    def _unparsable(self, exc: h11.RemoteProtocolError) -> None:
        """h11 refused bytes before or between requests: 400, 431, or for an
        unsupported Transfer-Encoding 400 / 501 (see :func:`transfer_coding_status`).
        Runs on the I/O thread."""
        if self._method is not None:  # mid-request (a body, or bytes after a finished request)
            self._peer_fault(f"Bad Request: {exc}")
            return
        status, text = unparsable_answer(exc, bytes(self._head_raw))
        log.debug("nbws: %s: unparsable request (%s)", self.remote[0] or "-", exc)
        self._answer_unparsed(status, text)
        self.close()

    def _answer_unparsed(self, status: int, text: str) -> None:
        """Answer bytes h11 could not parse into a request (so it cannot frame
        the answer) with a plain-text error written by hand, without a body
        when they start like a ``HEAD`` request. The caller closes. Runs on the I/O thread."""
        if self.transport is None or self._closed or self.h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        raw = bytes(self._head_raw) or self.h11.trailing_data[0]  # h11 empties its buffer when it refuses a head
        head = raw.lstrip(b"\r\n").startswith(b"HEAD ")
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
        method = event.method.decode("ascii", "replace").upper()
        target = event.target.decode("latin-1")
        self._request_line = f"{method} {target} HTTP/{event.http_version.decode('ascii', 'replace')}"
        checked = read_head(event, self.settings, self.ep.scheme, self.ep.bound_host, self.remote)
        if isinstance(checked, Rejection):
            return self._reject(checked.status, checked.text, checked.headers)
        request = checked.request
        if method == "GET" and "websocket" in request.headers.get("upgrade", "").lower():
            return await upgrade(self, request, target, event.headers.raw_items())
        return await self._http(request, checked.set_cookie)

    async def _http(self, request: Request, set_cookie: list[tuple[bytes, bytes]]) -> bool:
        """Answer one request: from the route table on this thread, else
        through the app's handlers on the handler plane."""
        spec = self.ep.spec
        answer = self.ep.routes.answer(request)
        if answer is not None:
            if await read_body(self, request) is None:
                return False
            await self._send(answer, set_cookie)
            return False
        if spec.on_headers is not None:
            self._pause()
            early = await self.ep.call_handler(spec.on_headers, request)
            if early is not None:
                finish_bodyless(self, request)
                body_pending = self.h11.their_state is not h11.DONE
                self._safe_respond(early, close=body_pending, extra=set_cookie)
                return False
        chunks = await read_body(self, request)
        if chunks is None:
            return False
        if chunks:
            request = Request(
                request.method, request.path, request.query_string, request.headers, b"".join(chunks),
                request.remote_addr, request.scheme, request.http_version, request.raw_path,
            )
        if spec.call is None:
            self._safe_respond(plain(404, "Not Found"), extra=set_cookie)
            return False
        self._pause()
        response = await self.ep.call_handler(spec.call, request)
        if response is None:
            log.error("nbws: the call handler returned None for %s %s; return a Response, str, bytes or dict",
                      request.method, request.path)
            response = plain(500, "Internal Server Error")
        self._safe_respond(response, extra=set_cookie)
        return False

    async def _send(self, answer: Answer, extra: list[tuple[bytes, bytes]]) -> None:
        """Send a route's response value, of either kind."""
        if not isinstance(answer, Response):  # a file region or a streamed body
            await send_file(self, answer, extra)
        else:
            self._safe_respond(answer, extra=extra)

    async def _wait_writable(self) -> None:
        """Wait while the transport is past its high-water mark (or until the connection is lost)."""
        if self._write_paused:
            self._drain_waiter = self.loop.create_future()
            try:
                await self._drain_waiter
            finally:
                self._drain_waiter = None
