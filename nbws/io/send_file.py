"""A file region as an HTTP response on the I/O thread: streamed in chunks,
waiting for the socket to drain, so a large file costs no more memory than a
small one."""

from __future__ import annotations

from typing import TYPE_CHECKING

import h11

from ..boundary import on_io_thread
from ..messages import Response
from .endpoint import SERVER_HEADER, plain
from .routes import FileResponse

if TYPE_CHECKING:
    from .http import HttpConnection

__all__ = ["send_file", "CHUNK"]

CHUNK = 256 * 1024
"""Bytes read and written per step."""


@on_io_thread
async def send_file(conn: HttpConnection, answer: FileResponse, extra: list[tuple[bytes, bytes]]) -> None:
    """Send ``answer``'s file region (no body for HEAD); a file that shrank
    while being sent ends the connection. Runs on the I/O thread."""
    assert conn.transport is not None
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
                await conn._wait_writable()
            if conn._closed:
                return
    conn.transport.write(conn.h11.send(h11.EndOfMessage()) or b"")
