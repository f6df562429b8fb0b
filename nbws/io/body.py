"""A request body on the I/O thread: bounded by ``max_body_size`` (413) and
by ``body_timeout`` between reads (408); ``100 Continue`` when asked."""

from __future__ import annotations

from typing import TYPE_CHECKING

import h11

from ..boundary import on_io_thread
from ..messages import Request

if TYPE_CHECKING:
    from .http import HttpConnection

__all__ = ["read_body", "finish_bodyless"]


@on_io_thread
async def read_body(conn: HttpConnection, request: Request) -> list[bytes] | None:
    """Read the request body (bounded by max_body_size, and by body_timeout
    between reads); None when the request was answered (413, 408, 400 for
    a malformed or cut-short body) or the connection closed. Runs on the I/O thread."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > conn.settings.max_body_size:
        conn._reject(413, f"Content Too Large: the body is over max_body_size ({conn.settings.max_body_size} bytes)")
        return None
    if conn.h11.client_is_waiting_for_100_continue:
        assert conn.transport is not None
        conn.transport.write(conn.h11.send(h11.InformationalResponse(status_code=100, headers=[])) or b"")
    timed = length is not None or "transfer-encoding" in request.headers  # else the body is empty
    if timed:
        conn._reading_body = True
        conn._last_read = conn.loop.time()
        conn._set_timer(conn.settings.body_timeout)
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            event = await conn._next_event()
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > conn.settings.max_body_size:
                    conn._reject(413, "Content Too Large: the body is over max_body_size")
                    return None
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return chunks
            else:
                conn.close()
                return None
    except h11.RemoteProtocolError as exc:
        gone = conn.h11.trailing_data[1]
        why = "the connection closed before the request body was complete" if gone else "malformed request body"
        conn._peer_fault(f"Bad Request: {why} ({exc})")
        return None
    finally:
        if timed:
            conn._reading_body = False
            if conn._timer is not None:
                conn._timer.cancel()
                conn._timer = None

def finish_bodyless(conn: HttpConnection, request: Request) -> None:
    """Consume the end of a request that announced no body, so the
    connection can be kept alive after an early answer."""
    if "content-length" in request.headers or "transfer-encoding" in request.headers:
        return
    if conn.h11.their_state is h11.SEND_BODY:
        event = conn.h11.next_event()
        assert isinstance(event, h11.EndOfMessage) or event is h11.NEED_DATA
