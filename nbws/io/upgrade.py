"""The WebSocket handshake, shared by the server and the client side.

:func:`server_protocol` / :func:`client_protocol` build the ``websockets``
Sans-I/O protocol objects with nbws's settings (size limits,
permessage-deflate, subprotocols), including the one RFC 6455 fix nbws
makes to them; :func:`upgrade` takes an HTTP connection whose request asks
for a WebSocket through the checks (route, Origin, handshake headers,
``on_headers``) to a :class:`~nbws.io.wsconn.WsConnection`. Runs on the I/O thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import h11
from websockets.client import ClientProtocol
from websockets.extensions.base import ClientExtensionFactory
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory, ServerPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Request as WsRequest
from websockets.protocol import OPEN, Protocol
from websockets.server import ServerProtocol
from websockets.typing import Origin, Subprotocol
from websockets.uri import WebSocketURI

from ..__about__ import __version__
from ..app import ENVELOPE_PATH
from ..boundary import deliver, on_io_thread
from ..messages import Request
from ..security import Rejection, origin_allowed, websocket_handshake_problem
from ..websocket import WebSocket
from .wsconn import WsConnection

if TYPE_CHECKING:
    from ..config import Settings
    from .http import HttpConnection

__all__ = ["StrictServerProtocol", "StrictClientProtocol", "server_protocol", "client_protocol", "upgrade"]

log = logging.getLogger("nbws")
SERVER_NAME = f"nbws/{__version__}"


class _CloseBetweenFragments(Protocol):
    """websockets' protocol, with one RFC 6455 fix.

    A Close frame may arrive between the fragments of a message (control
    frames can be interleaved, section 5.4). websockets answers it with 1002
    "incomplete fragmented message"; RFC 6455 and Autobahn case 7.1.5 expect
    the normal closing handshake, echoing the peer's code. The unfinished
    message is discarded.
    """

    def recv_frame(self, frame: Frame) -> None:
        if frame.opcode is Opcode.CLOSE and self.current_size is not None:
            self.current_size = None
        super().recv_frame(frame)


class StrictServerProtocol(_CloseBetweenFragments, ServerProtocol):
    """The server side of :class:`_CloseBetweenFragments`."""

    def forget_handshake(self) -> None:
        """Let the parsed opening handshake go once the connection is open.

        websockets' server parser keeps the request (with its headers, ~2.5
        KiB) alive as a local of its generator for the connection's whole
        life. Once the 101 is sent and no byte is buffered, the parser is at
        the frame stage: restart it there, as websockets itself swaps parsers
        (``self.parser = self.discard()``). nbws keeps its own copy of the
        request (``ws.request``). Runs on the I/O thread."""
        if self.state is OPEN and not self.reader.buffer:
            self.parser = Protocol.parse(self)
            next(self.parser)


class StrictClientProtocol(_CloseBetweenFragments, ClientProtocol):
    """The client side of :class:`_CloseBetweenFragments`."""


def _max_size(settings: Settings) -> tuple[int | None, int | None]:
    max_message = settings.max_message_size
    return max_message, settings.max_frame_size if settings.max_frame_size is not None else max_message


def server_protocol(settings: Settings) -> StrictServerProtocol:
    """A server-side protocol object with the server's settings."""
    extensions = []
    if settings.compression:
        bits = settings.compression_window_bits
        extensions.append(ServerPerMessageDeflateFactory(
            server_max_window_bits=bits,
            client_max_window_bits=bits,
            compress_settings={"memLevel": 5, "level": 1},
        ))
    return StrictServerProtocol(
        extensions=extensions,
        subprotocols=[Subprotocol(p) for p in settings.subprotocols] or None,
        max_size=_max_size(settings),
        logger=logging.getLogger("nbws.protocol"),
    )


def client_protocol(uri: WebSocketURI, settings: Settings, origin: str | None,
                    subprotocols: Sequence[str]) -> StrictClientProtocol:
    """A client-side protocol object. With ``settings.compression`` it makes
    two offers: context takeover (better ratio), then without it (for servers
    that want it off); the server picks one, and both windows (at most 15
    bits, 32 KiB each: the inflated size is bounded by max_message_size
    regardless)."""
    extensions: list[ClientExtensionFactory] | None = None
    if settings.compression:
        extensions = [
            ClientPerMessageDeflateFactory(client_max_window_bits=True, server_max_window_bits=None,
                                           compress_settings={"memLevel": 5}),
            ClientPerMessageDeflateFactory(client_max_window_bits=True, client_no_context_takeover=True,
                                           compress_settings={"memLevel": 5}),
        ]
    return StrictClientProtocol(
        uri, origin=Origin(origin) if origin else None, extensions=extensions,
        subprotocols=[Subprotocol(s) for s in subprotocols] or None,
        max_size=_max_size(settings),
    )


@on_io_thread
async def upgrade(conn: HttpConnection, request: Request, target: str,
                  raw_headers: list[tuple[bytes, bytes]]) -> bool:
    """Check a WebSocket upgrade request and, if it passes, answer 101 and
    turn ``conn`` into a WebSocket; True when it did."""
    settings = conn.settings
    spec = conn.ep.spec
    io_socket = conn.ep.routes.socket_for(request.path)
    if io_socket is None and not spec.accepts_websocket(request.path):
        return conn._reject(404, "Not Found: no WebSocket endpoint at this path")
    origin = request.headers.get("origin")
    host_header = request.headers.get("host", "")
    if not origin_allowed(origin, host_header, conn.ep.scheme, settings.allowed_origins):
        return conn._reject(403, "Forbidden: cross-origin WebSocket refused (add the origin to allowed_origins)")
    refused: Rejection | None = websocket_handshake_problem(request.http_version, request.headers)
    if refused is not None:
        log.debug("nbws: %s: %s", conn.remote[0] or "-", refused.text)
        return conn._reject(refused.status, refused.text, refused.headers)
    if spec.on_headers is not None and io_socket is None:
        conn._pause()
        early = await conn.ep.call_handler(spec.on_headers, request)
        if early is not None:
            conn._safe_respond(early, close=True)
            conn.close()
            return False
    proto = server_protocol(settings)
    # The protocol object parses the upgrade request itself: feed it the
    # request head exactly as received (h11 already validated it).
    head = b"".join([b"GET ", target.encode("latin-1"), b" HTTP/1.1\r\n"]
                    + [n + b": " + v + b"\r\n" for n, v in raw_headers] + [b"\r\n"])
    proto.receive_data(head)
    parsed = [e for e in proto.events_received() if isinstance(e, WsRequest)]
    assert conn.transport is not None
    if not parsed:  # checked above, so rare: say why rather than close in silence
        cause = proto.handshake_exc.__cause__ if proto.handshake_exc is not None else None
        return conn._reject(400, f"Bad Request: not a valid WebSocket handshake ({cause or proto.handshake_exc})")
    response = proto.accept(parsed[0])
    if response.status_code != 101:
        proto.send_response(response)
        for data in proto.data_to_send():
            if data:
                conn.transport.write(data)
        conn.close()
        return False
    response.headers["Server"] = SERVER_NAME
    proto.send_response(response)
    proto.forget_handshake()
    # Bytes the client sent after its handshake belong to the WebSocket.
    while True:
        event = conn.h11.next_event()
        if event is h11.PAUSED or event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
            break
    trailing, _ = conn.h11.trailing_data
    ws = WsConnection(conn.transport, proto, settings, conn.ep.io, conn.ep.plane, conn.ep.ws_lost,
                      conn.ep.send_budget)
    conn.ws = ws
    conn.ep.websockets.add(ws)
    ws.flush()
    user = WebSocket(ws, conn.ep.plane, request, proto.subprotocol, settings.close_on_handler_error,
                     ws.peer_address)
    ep = conn.ep
    if io_socket is None and request.path == ENVELOPE_PATH:
        ws.gate = ep.sessions.gate(ws, user)
    ws.start(user)
    on_open = spec.on_ws_open if io_socket is None else None

    def open_job() -> None:  # handler plane
        ep.opened(user)
        if on_open is not None:
            user._run_callback(on_open, user)

    deliver(ep.plane, open_job)
    if io_socket is not None:
        io_socket(ws)  # nbws's own endpoint, on this thread: works while the kernel is busy
    conn._resume()
    if trailing:
        ws.data_received(bytes(trailing))
    return True
