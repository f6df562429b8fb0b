"""Large HTTP bodies on the I/O thread: a file region, or a body made while
it is sent (a plot's CSV), streamed in chunks, waiting for the socket to
drain after each, so a large body costs no more memory than a small one. A
peer that takes nothing for ``stream_stall_timeout`` seconds is dropped."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import h11

from ..boundary import on_io_thread
from ..messages import Response
from .endpoint import SERVER_HEADER, plain
from .routes import FileResponse, StreamResponse

if TYPE_CHECKING:
    from .http import HttpConnection

__all__ = ["send_file", "send_stream", "drained", "CHUNK"]

log = logging.getLogger("nbws")

CHUNK = 256 * 1024
"""Bytes read and written per step."""


@on_io_thread
async def send_file(conn: HttpConnection, answer: FileResponse | StreamResponse,
                    extra: list[tuple[bytes, bytes]]) -> None:
    """Send ``answer``'s file region (no body for HEAD); a file that shrank
    while being sent ends the connection. A :class:`StreamResponse` goes to
    :func:`send_stream`. Runs on the I/O thread."""
    assert conn.transport is not None
    if isinstance(answer, StreamResponse):
        await send_stream(conn, answer, extra)
        return
    try:
        f = open(answer.path, "rb")
    except OSError:
        conn._safe_respond(plain(404, "Not Found"))
        return
    head = conn._method == b"HEAD"  # as h11 frames it: methods are case-sensitive
    status, length = answer.status, answer.length
    raw = [(b"Server", SERVER_HEADER)] + [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer.headers]
    reason = Response(status).reason.encode()
    with f:
        conn._log_access(status, 0 if head else length)
        conn.transport.write(conn.h11.send(h11.Response(status_code=status, headers=raw + extra, reason=reason))
                             or b"")
        if not head:
            f.seek(answer.start)
            remaining = length
            while remaining > 0 and not conn._closed:
                chunk = f.read(min(CHUNK, remaining))
                if not chunk:  # the file shrank while being sent: end the connection
                    conn.close()
                    return
                remaining -= len(chunk)
                conn.transport.write(conn.h11.send(h11.Data(data=chunk)) or b"")
                if not await drained(conn):
                    return
            if conn._closed:
                return
    conn.transport.write(conn.h11.send(h11.EndOfMessage()) or b"")


@on_io_thread
async def send_stream(conn: HttpConnection, answer: StreamResponse, extra: list[tuple[bytes, bytes]]) -> None:
    """Send ``answer``'s body part by part (none for HEAD), making the next
    part only when the socket has room again; a part that fails to be made,
    or a peer that stalls (:func:`drained`), ends the connection (the body is
    cut short, so the peer sees it broken). The parts' iterator is closed
    however it ends. Runs on the I/O thread."""
    assert conn.transport is not None
    head = conn._method == b"HEAD"
    raw = [(b"Server", SERVER_HEADER)] + [(n.encode("latin-1"), v.encode("latin-1")) for n, v in answer.headers]
    conn._log_access(answer.status, 0)
    conn.transport.write(conn.h11.send(h11.Response(status_code=answer.status, headers=raw + extra,
                                                    reason=Response(answer.status).reason.encode())) or b"")
    if not head:
        parts = answer.chunks()
        try:
            for part in parts:
                if conn._closed:
                    return
                if part:
                    conn.transport.write(conn.h11.send(h11.Data(data=part)) or b"")
                    if not await drained(conn):
                        return
                await asyncio.sleep(0)  # a turn for the loop's other work between parts
        except Exception:
            log.exception("nbws: a streamed response failed; its connection ends")
            conn.close()
            return
        finally:
            close = getattr(parts, "close", None)
            if close is not None:
                close()  # a generator's cleanup runs now, not when it is collected
        if conn._closed:
            return
    conn.transport.write(conn.h11.send(h11.EndOfMessage()) or b"")


@on_io_thread
async def drained(conn: HttpConnection) -> bool:
    """Wait until the transport is below its high-water mark again; False
    when the connection is gone, or when the peer took nothing for
    ``stream_stall_timeout`` seconds: it is then dropped at once (its unsent
    bytes discarded, not flushed). Runs on the I/O thread."""
    if not conn._write_paused:
        return not conn._closed
    timeout = conn.settings.stream_stall_timeout
    try:
        await asyncio.wait_for(conn._wait_writable(), timeout)
    except TimeoutError:
        log.info("nbws: %s: a streamed response stalled for stream_stall_timeout (%g s); connection dropped",
                 conn.remote[0], timeout)
        conn.close()
        if conn.transport is not None:
            conn.transport.abort()
        return False
    return not conn._closed
