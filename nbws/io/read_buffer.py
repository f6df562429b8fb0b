"""The I/O thread's one read buffer: every socket is read into it.

asyncio's socket transport, given a plain ``Protocol``, reads with
``sock.recv(256 KiB)``: a fresh 256 KiB bytes object per read, which costs
about 1 µs, or about 13 µs when the allocator maps and unmaps such a block
each time (it depends on the process's allocation history). Given a
``BufferedProtocol`` it reads with ``sock.recv_into`` into the buffer the
protocol hands it instead.

So the connections (:class:`~nbws.io.http.HttpConnection` through its
``Endpoint.reads``, the client's :class:`~nbws.io.session.Stream`) are
buffered protocols that all hand out the same :class:`ReadBuffer`, one per
I/O loop, and copy out exactly the bytes just read (:meth:`ReadBuffer.take`)
before doing anything else with them. That is safe because one loop reads
one socket at a time, and the transport calls ``buffer_updated`` right after
``recv_into`` with nothing in between; nothing keeps a view of the buffer,
so a connection costs no more memory than before, however many there are,
and one read never sees another connection's bytes. Runs on the I/O thread.
"""

from __future__ import annotations

import asyncio
import weakref

__all__ = ["READ_SIZE", "ReadBuffer", "read_buffer"]

READ_SIZE = 256 * 1024
"""Bytes read from a socket at most at once: asyncio's own ``max_size`` for a plain protocol."""


class ReadBuffer:
    """One loop's buffer for ``recv_into``. Runs on the I/O thread."""

    __slots__ = ("__weakref__", "view")

    def __init__(self, size: int = READ_SIZE) -> None:
        self.view = memoryview(bytearray(size))
        """What ``get_buffer`` returns: the whole buffer, every time."""

    def take(self, nbytes: int) -> bytes:
        """The ``nbytes`` just read, copied out (the buffer is reused by the next read, of any socket)."""
        return self.view[:nbytes].tobytes()


_buffers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ReadBuffer] = weakref.WeakKeyDictionary()


def read_buffer(loop: asyncio.AbstractEventLoop) -> ReadBuffer:
    """The read buffer of ``loop``, made on first use. Any thread (a server's
    endpoint is made on its caller's): two first calls racing may make two
    buffers for one loop, which is harmless, as only that loop's thread
    reads into them, one socket at a time."""
    buffer = _buffers.get(loop)
    if buffer is None:
        buffer = _buffers[loop] = ReadBuffer()
    return buffer
