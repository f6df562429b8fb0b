"""The I/O-thread side of one server: settings, app, routes, connections.

One :class:`Endpoint` per listening socket. It admits connections (the
connection cap and the reclaim rules of :mod:`nbws.io.capacity`), hands HTTP
handlers and WebSocket events to the handler plane through the boundary,
broadcasts, and stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from websockets.frames import Frame, Opcode

from ..__about__ import __version__
from ..backplane import BROADCAST, EMIT, Router, make_backplane
from ..boundary import SendBudget, deliver, invoke, on_io_thread, submit
from ..errors import BadRequestError
from ..messages import Response, to_response
from ..relay.wire import unsequenced
from .capacity import ConnectionStats, ConnectionTable
from .read_buffer import read_buffer
from .resumption import SessionTable
from .routes import Routes

if TYPE_CHECKING:
    from ..app import AppSpec
    from ..boundary import HandlerPlane, IOThread
    from ..config import Settings
    from ..websocket import WebSocket
    from .http import HttpConnection
    from .wsconn import WsConnection

__all__ = ["Endpoint", "plain", "SERVER_HEADER"]

log = logging.getLogger("nbws")
SERVER_HEADER = f"nbws/{__version__}".encode()
"""The ``Server`` header of every HTTP response."""


def plain(status: int, text: str) -> Response:
    """A plain-text response (a newline is added when missing). Pure."""
    return Response(status, text if text.endswith("\n") else text + "\n")


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
        role: str = "kernel",
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
        self.reads = read_buffer(io.loop)
        """What every connection reads into: the I/O loop's one buffer (``nbws.io.read_buffer``)."""
        self.aio_server: asyncio.AbstractServer | None = None
        # The Unix listener the Jupyter extension relays to: the same server
        # (connections, broadcasts, limits), guarded by file permissions and
        # Jupyter's authentication and origin checks instead of nbws's
        # token, Host and Origin checks.
        self.relay_server: asyncio.AbstractServer | None = None
        self.relay_settings: Settings = dataclasses.replace(
            cast(Any, settings), token=None, allowed_hosts=("*",), allowed_origins=("*",))
        self.stopping = False
        # the I/O plane's route table: nbws's own pages and assets, live
        # pages and sockets, static paths; the app is the fallback
        self.routes = Routes(spec.static)
        self.messages_out = 0
        total = settings.max_total_send_buffer
        self.send_budget = SendBudget(total) if total is not None else None
        self.sessions = SessionTable(settings, io, plane, spec)
        """The resumable sessions of pages using ``nbws.js`` (``nbws.io.resumption``)."""
        self.router = Router(make_backplane(settings, plane))
        """What this server shares with the other servers of its app (``nbws.backplane``)."""
        self.router.listen(BROADCAST, "", self.broadcast)
        self.router.listen(EMIT, "", self.emit_text)
        self.role = role
        """"kernel" (user code) or "relay" (``nbws relay``: none)."""
        self.live: dict[tuple[str, str], Any] = {}
        """Live plots and channels by (backplane kind, name): what a kernel announces to relays."""
        self.kernel: Any = None
        """A kernel's side of ``nbws relay`` (``nbws.relay.kernel``), when its backplane is shared."""
        self.sides: list[Any] = []
        """What runs beside the server on this endpoint (``nbws.relay``): each has ``async stop()``."""
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

    def protocol(self) -> asyncio.BaseProtocol:
        """Factory for asyncio's ``create_server``."""
        from .http import HttpConnection

        return HttpConnection(self)

    def relay_protocol(self) -> asyncio.BaseProtocol:
        """Factory for the Unix listener the Jupyter extension relays to."""
        from .http import HttpConnection

        return HttpConnection(self, self.relay_settings)

    async def listen(self, sock: socket.socket, ssl: Any, backlog: int, relay: socket.socket | None) -> None:
        """Accept on the TCP socket ``sock`` and, when given, on the Unix socket ``relay``."""
        await self.router.start()  # BackplaneUnavailableError before anything is served
        # asyncio calls listen() again on the socket: pass the backlog, or it
        # falls back to 100 and a burst of connections waits for SYN retransmits.
        try:
            self.aio_server = await self.io.loop.create_server(self.protocol, sock=sock, ssl=ssl, backlog=backlog)
            if relay is not None:
                self.relay_server = await self.io.loop.create_server(self.relay_protocol, sock=relay,
                                                                     backlog=backlog)
        except BaseException:
            await self.router.stop()
            raise
        if self.role == "relay" or self.router.sharing:
            from ..relay.side import start_side

            await start_side(self)

    def call_handler(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run the HTTP handler ``fn(*args)`` on the handler plane; a future on
        the I/O loop settles with its (awaited) result converted to a
        Response, or None. Errors become a logged 500 (a BadRequestError its
        400). Runs on the I/O thread."""
        future: asyncio.Future[Any] = self.io.loop.create_future()
        label = getattr(fn, "__qualname__", repr(fn))
        plane = self.plane

        def settle(value: Any) -> None:  # I/O thread
            if not future.done():
                future.set_result(value)

        def on_error(exc: BaseException) -> None:  # handler plane
            if isinstance(exc, BadRequestError):  # the request's fault, not the handler's
                log.debug("nbws: HTTP handler %s: %s", label, exc)
                answer = plain(exc.status, str(exc))
            else:
                log.error("nbws: HTTP handler %s raised", label, exc_info=exc)
                answer = plain(500, "Internal Server Error")
            submit(lambda: settle(answer))

        def on_result(value: Any) -> None:  # handler plane
            if value is not None:
                try:
                    value = to_response(value)
                except Exception as exc:  # noqa: BLE001 - a 500, never a dead server
                    on_error(exc)
                    return
            submit(lambda: settle(value))

        deliver(plane, lambda: invoke(plane, fn, *args, on_result=on_result, on_error=on_error))
        return future

    def ws_lost(self, conn: WsConnection, code: int, reason: str) -> None:
        """A WebSocket's TCP connection is gone."""
        self.websockets.discard(conn)
        if conn.gate is not None:
            conn.gate.lost()
        user = conn.user
        if user is not None:
            def job() -> None:  # handler plane
                self.closed(user)
                user._finish(code, reason)

            deliver(self.plane, job)

    @on_io_thread
    def broadcast(self, data: str | bytes, peers: list[WsConnection] | None = None) -> int:
        """Send one message to every open WebSocket (or to ``peers``); returns
        how many got it. The frame is serialised once for all peers without
        extensions."""
        payload = data.encode("utf-8") if isinstance(data, str) else data
        opcode = Opcode.TEXT if isinstance(data, str) else Opcode.BINARY
        shared: list[bytes] = []

        def frame() -> bytes:
            if not shared:
                shared.append(Frame(opcode, payload).serialize(mask=False, extensions=[]))
            return shared[0]

        size = len(data)
        sent = 0
        for conn in list(self.websockets) if peers is None else peers:
            try:
                if not conn.reserve(size):
                    continue
            except Exception:  # noqa: BLE001 - 'error' policy: skip this peer in a broadcast
                continue
            conn.send_shared(frame, data, size)
            sent += 1
        self.messages_out += sent
        return sent

    @on_io_thread
    def emit(self, envelope: str) -> int:
        """Send a topic envelope to every open WebSocket: numbered and kept
        for replay on each resumable session (a page that is away gets it
        when it comes back), one shared frame for the other sockets. Returns
        how many sockets and sessions got it. A socket of the envelope
        endpoint whose first message has not come yet may hold it back
        (``Gate.hold``): if that message resumes a session, the session's
        replay has it."""
        sent = self.sessions.emit(envelope)
        plain = [conn for conn in self.websockets
                 if conn.gate is None or (conn.gate.state is None and not conn.gate.hold(envelope, sent > 0))]
        if plain:
            sent += self.broadcast(envelope, plain)
        return sent

    def emit_text(self, envelope: str | bytes) -> None:
        """:meth:`emit` for a router's delivery (bytes are not a topic envelope: ignored)."""
        if isinstance(envelope, str):
            self.emit(unsequenced(envelope))  # numbered by the app's log (nbws.relay): this server numbers its own

    async def stop(self) -> None:
        """Stop listening and close every connection (1001 for WebSockets)."""
        self.stopping = True
        if self._pressure_timer is not None:
            self._pressure_timer.cancel()
            self._pressure_timer = None
            self._pressure_summary()
        for listener in (self.aio_server, self.relay_server):
            if listener is not None:
                listener.close()
        for ws in list(self.websockets):
            if ws.gate is not None and ws.gate.state is not None:
                # the page's messages that arrived are acknowledged before the
                # Close, so it does not send them again to the next server
                ws.gate.send_ack()
                ws.close_connection(1001, "server stopping")
            else:
                ws.start_close(1001, "server stopping")
        self.sessions.stop()
        for conn in list(self.connections):
            if conn.ws is None:
                conn.close()
        for side in self.sides:
            await side.stop()
        await self.router.stop()
