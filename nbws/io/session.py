"""The client's I/O side: connecting, the handshake, reconnects.

:class:`Stream` is the client's TCP connection (handshake bytes first, then
frames); :class:`Session` makes the attempts (with backoff when
``reconnect=True``) and runs the same :class:`~nbws.io.wsconn.WsConnection`
as the server side once the handshake is done. Runs on the I/O thread.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl as ssl_module
from typing import TYPE_CHECKING, Any

from websockets.http11 import Response as WsResponse
from websockets.protocol import CONNECTING
from websockets.uri import parse_uri

from ..boundary import ClientOutbox, deliver, submit
from ..errors import connect_failure
from .read_buffer import read_buffer
from .upgrade import StrictClientProtocol, client_protocol
from .wsconn import WsConnection

if TYPE_CHECKING:
    from ..client import ClientWebSocket
    from ..config import Settings

__all__ = ["Session", "Stream"]


class Stream(asyncio.BufferedProtocol):
    """The client's TCP connection: handshake bytes first, then frames; read
    into the loop's one buffer (:mod:`nbws.io.read_buffer`). Runs on the I/O thread."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.transport: asyncio.Transport | None = None
        self.ws: WsConnection | None = None
        self.proto: StrictClientProtocol | None = None
        self.handshake: asyncio.Future[list[Any]] = session.io.loop.create_future()
        self.leftover: list[Any] = []  # frames parsed before the WsConnection took over
        self.lost = False
        self.reads = read_buffer(session.io.loop)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.set_write_buffer_limits(high=self.session.settings.send_buffer_size)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.reads.view

    def buffer_updated(self, nbytes: int) -> None:
        self.data_received(self.reads.take(nbytes))  # copied out first: the next read, of any socket, reuses it

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


class Session(ClientOutbox):
    """The I/O side of one client: attempts, reconnects, the current
    connection. Runs on the I/O thread; the thread-safe Link methods are
    :class:`~nbws.boundary.ClientOutbox`'s."""

    def __init__(self, user: ClientWebSocket, settings: Settings, params: dict[str, Any]) -> None:
        super().__init__(settings)
        self.user = user
        self.params = params
        self.plane = user._plane
        self.task: asyncio.Task[None] | None = None
        self.attempt = 0

    # -- I/O thread --

    def start(self) -> None:
        """Start connecting. Thread-safe."""
        submit(self._spawn)

    def _spawn(self) -> None:
        self.task = self.io.loop.create_task(self._run())

    def _abort(self, code: int, reason: str) -> None:
        if self.conn is None:
            if self.task is not None and not self.task.done():
                self.task.cancel()
            user = self.user
            deliver(self.plane, lambda: user._finish(code, reason))
            self._hand_over_waiters(None, code, reason)

    async def _run(self) -> None:
        url = self.user.url
        try:
            proto, stream = await asyncio.wait_for(self._handshake(), self.params["open_timeout"])
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a ConnectError
            error = connect_failure(url, exc, self.params["open_timeout"])
            user = self.user
            deliver(self.plane, lambda: user._error_job(error))
            self._after_close(1006, error.reason, failed=True)
            return
        assert stream.transport is not None
        conn = WsConnection(stream.transport, proto, self.settings, self.io, self.plane, self._lost)
        stream.ws = conn
        conn.start(self.user)
        closing = self.take_pending(conn)  # before on_open: its sends come after the queued ones
        self.attempt = 0
        user = self.user
        subprotocol, peer = proto.subprotocol, conn.peer_address
        deliver(self.plane, lambda: user._opened_job(subprotocol, peer))
        self._hand_over_waiters(conn)
        if closing is not None:
            conn.close_connection(*closing)
        # frames that came with (or right after) the 101, and whatever the
        # protocol already wrote in answer (a pong, a Close after a failure:
        # the connection was open when they arrived, so a failure waits
        # behind the messages before it)
        conn.take_over(stream.leftover)
        stream.leftover = []
        if stream.lost:  # it closed while being set up
            conn.connection_lost()

    async def _handshake(self) -> tuple[StrictClientProtocol, Stream]:
        p = self.params
        wsuri = parse_uri(self.user.url)
        context = p["ssl"]
        if wsuri.secure and context is None:
            context = ssl_module.create_default_context()
        elif not wsuri.secure:
            context = None
        loop = self.io.loop
        stream = Stream(self)
        proto = client_protocol(wsuri, self.settings, p["origin"], p["subprotocols"])
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
        self.forget(conn)
        self._after_close(code, reason, failed=False)

    def _after_close(self, code: int, reason: str, failed: bool) -> None:
        user = self.user
        if self.params["reconnect"] and self.user_closed is None:
            self.attempt += 1
            base = min(self.params["reconnect_max_delay"], 0.25 * 2 ** min(self.attempt, 16))
            delay = base * random.uniform(0.5, 1.0)
            if not failed:
                deliver(self.plane, lambda: user._dropped_job(code, reason))
            self.io.loop.call_later(delay, self._spawn)
            return
        deliver(self.plane, lambda: user._finish(code, reason))
        self._hand_over_waiters(None, code, reason)


