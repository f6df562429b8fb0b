"""The per-connection outbox: what crosses between planes for one WebSocket.

:class:`Outbox` is the thread-safe half of a connection (the ``Link`` a
:class:`~nbws.websocket.WebSocket` talks to): ``send_message``,
``close_connection``, ``message_handled`` and the drain waiters, plus the
accounting of unsent bytes against ``send_buffer_size`` and the server's
:class:`~nbws.boundary.budget.SendBudget`. :class:`~nbws.io.wsconn.WsConnection`
is its I/O-thread half and implements the hooks at the end of the class.

**The direct-write fast path.** When nothing is queued for a peer, the
sender's thread frames the message and writes it straight to the
non-blocking socket under the connection's lock (``os.writev``), instead of
waking the I/O thread; what the socket does not take goes to the I/O thread,
in order. It saves one thread wake-up per reply (see the README's
Performance section for what it is worth). One lock guards the protocol
object, writes and the accounting: the I/O thread holds it while it feeds or
flushes the protocol, a sender while it writes directly.

Outbound memory: what a peer has not yet taken (messages queued for the I/O
thread plus the asyncio transport's write buffer) is bounded per peer by
``send_buffer_size`` and, across a server, by the budget
(``max_total_send_buffer``). Past a bound, ``send_buffer_policy`` applies.
Producers that prefer to wait use ``drain()``: the transport's write-buffer
limits are set low (at most :data:`WATCH_LEVEL`), so asyncio calls
``resume_writing`` on the I/O thread as the buffer empties, which wakes them.
"""

from __future__ import annotations

import asyncio
import os
import struct
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Union

from websockets.frames import Opcode

from ..errors import ConnectionClosedError, SendBufferFullError
from .budget import SendBudget

if TYPE_CHECKING:
    from ..config import Settings
    from .io_thread import IOThread

__all__ = ["Outbox", "DrainWake", "WATCH_LEVEL", "frame_header"]

Message = Union[str, bytes]
DrainWake = Callable[[Exception | None], None]
"""Called once on the I/O thread: with None when the peer's unsent bytes fell
below the low-water mark, or with a ConnectionClosedError."""

WATCH_LEVEL = 64 * 1024
"""The transport's write-buffer limit (high = low) for WebSockets, capped by
the drain low-water mark: asyncio calls ``resume_writing`` each time a buffer
that passed it falls back to it, which is when drain waiters are woken and a
connection's budget charge is brought up to date."""


def frame_header(opcode: Opcode, length: int) -> bytes:
    """The header of a final, unmasked frame (RFC 6455 5.2) carrying ``length`` bytes."""
    first = 0x80 | opcode.value
    if length < 126:
        return struct.pack("!BB", first, length)
    if length < 65536:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def _skip(parts: list[bytes], count: int) -> bytes:
    """The bytes of ``parts`` after the first ``count``."""
    rest: list[bytes | memoryview] = []
    for part in parts:
        if count >= len(part):
            count -= len(part)
            continue
        rest.append(memoryview(part)[count:] if count else part)
        count = 0
    return b"".join(rest)


class Outbox:
    """The thread-safe half of one WebSocket connection (see the module).

    The methods without a leading underscore are thread-safe but for
    :meth:`resume_writing` (I/O thread); the ``_locked`` ones run under the
    lock. The hooks at the end are implemented by the I/O-thread half."""

    # no per-instance dict: it is most of the memory of an idle connection
    __slots__ = (
        "_charged", "_close_posted", "_closed_with", "_direct_tail", "_drain_waiters", "_fd", "_held",
        "_held_mark", "_in_handled", "_in_queued", "_lock", "_lost", "_out_framed", "_out_posted",
        "_out_written", "_reading_paused", "_watch", "budget", "io", "settings", "transport",
    )

    def __init__(self, transport: asyncio.Transport, settings: Settings, io: IOThread,
                 budget: SendBudget | None) -> None:
        self.transport = transport
        self.settings = settings
        self.io = io
        self._lock = threading.Lock()
        sock = transport.get_extra_info("socket")
        direct = os.name == "posix" and sock is not None and transport.get_extra_info("sslcontext") is None
        self._fd: int | None = sock.fileno() if direct else None
        self._direct_tail = 0  # remainders of direct writes still to be written by the I/O thread
        # outbound accounting
        self._out_posted = 0  # written by senders under the lock
        self._out_written = 0  # written on the I/O thread
        self._out_framed = 0  # message bytes in the protocol's output, not yet in the transport (I/O thread)
        self._close_posted = False
        # the server-wide budget: what this connection charges it (under the lock)
        self.budget = budget
        self._charged = 0
        if budget is not None:
            budget.join()
        self._drain_waiters: list[DrainWake] = []  # guarded by the lock
        self._watch = 0  # the transport's write-buffer limit (high = low); I/O thread
        self._closed_with: tuple[int, str] | None = None  # set once TCP is gone
        # inbound flow control
        self._in_queued = 0  # written on the I/O thread
        self._in_handled = 0  # written under the lock (a callback or a blocking receive() consumed it)
        self._reading_paused = False  # I/O thread
        # After the peer's protocol error, the protocol's Close (and EOF) are
        # held back until the messages received before it are handled (the
        # handler's answers go out first), at most close_timeout.
        self._held: list[Any] | None = None  # I/O thread, under the lock
        self._held_mark = 0  # _in_queued when the connection failed
        self._lost = False  # TCP is gone (I/O thread)

    def pending_out(self) -> int:
        """Bytes handed to this connection but not yet sent to the peer's kernel. Thread-safe."""
        return self._out_posted - self._out_written + self.transport.get_write_buffer_size()

    def _pending_locked(self) -> int:
        # the transport's buffer size is read live: a plain length, safe to read from any thread
        return self._out_posted - self._out_written + self.transport.get_write_buffer_size()

    def _charge_locked(self, pending: int) -> None:
        """Bring this connection's charge to the server budget up to date (under the lock)."""
        budget = self.budget
        if budget is None or self._lost:
            return
        charge = budget.rounded(pending)
        if charge != self._charged:
            budget.move(charge - self._charged)
            self._charged = charge

    def drain_level(self) -> int:
        """The low-water mark of :meth:`WebSocket.drain`: a quarter of
        ``send_buffer_size``, or of this peer's fair share of the server's
        ``max_total_send_buffer`` when that is smaller. Thread-safe."""
        level = self.settings.send_buffer_size
        if self.budget is not None:
            level = min(level, self.budget.share())
        return level // 4

    def reserve(self, size: int) -> bool:
        """Account for ``size`` bytes about to be sent, applying the send-buffer
        policy past the peer's ``send_buffer_size`` or, when the server's
        budget is exhausted, past the peer's fair share of it. Thread-safe.
        True when the bytes may be sent."""
        with self._lock:
            return self._reserve_locked(size)

    def _reserve_locked(self, size: int) -> bool:
        """:meth:`reserve` under the lock (which the caller holds)."""
        pending = self._pending_locked()
        limit = self.settings.send_buffer_size
        budget = self.budget
        over = pending >= limit
        total: int | None = None  # set when the server's budget, not this peer's bound, refuses
        if not over and budget is not None and not self._lost:
            self._charge_locked(pending)
            if budget.refuses(pending, size):
                over, limit, total = True, budget.share(), budget.limit
        if over:
            policy = self.settings.send_buffer_policy
            if policy == "error":
                raise SendBufferFullError(pending, limit, total)
            if policy == "close" and not self._close_posted:
                self._close_posted = True
                reason = ("send buffer full: the peer is not reading" if total is None
                          else "server send buffers full: the peer is not reading")
                self.io.post(lambda: self.start_close(1008, reason))
            return False
        self._out_posted += size
        self._charge_locked(pending + size)
        return True

    def add_drain_waiter(self, wake: DrainWake) -> bool:
        """Thread-safe. True at once when the peer holds at most
        :meth:`drain_level` unsent bytes; otherwise keep ``wake`` and return
        False: it is called once on the I/O thread, with None when the peer
        falls to the mark, or with a ConnectionClosedError. Raises
        ConnectionClosedError when the connection is already gone."""
        with self._lock:
            if self._closed_with is not None:
                raise ConnectionClosedError(*self._closed_with)
            if self._pending_locked() <= self.drain_level():
                return True
            self._drain_waiters.append(wake)
        self.io.post(self._arm_drain)
        return False

    def remove_drain_waiter(self, wake: DrainWake) -> None:
        """Forget a waiter that stopped waiting (cancelled, timed out). Thread-safe."""
        with self._lock:
            if wake in self._drain_waiters:
                self._drain_waiters.remove(wake)

    def send_message(self, data: Message) -> bool:
        """Send a message to the peer. Thread-safe, never blocks.

        Fast path: when nothing is queued for this peer, the sender's thread
        frames the message and writes it straight to the non-blocking socket
        under the connection's lock, saving a wake-up of the I/O thread; what
        the socket does not take at once goes to the I/O thread, in order.
        Otherwise the message is queued for the I/O thread."""
        size = len(data)
        direct = self._fd is not None and threading.get_ident() != self.io.ident
        with self._lock:  # one acquisition for the accounting and the direct write
            if not self._reserve_locked(size):
                return False
            if direct and self._write_direct_locked(data, size):
                return True
        self.io.post(lambda: self._write_message(data, size))
        return True

    def _write_direct_locked(self, data: Message, size: int) -> bool:
        """The fast path: frame and write on the sender's thread, under the
        lock (which the caller holds). False when the message must go through
        the I/O thread instead. Runs on the sender's thread."""
        step = self.settings.fragment_size
        if (
            self._lost
            or (step and size > step // 4)
            or self._direct_tail
            or self._out_posted - size != self._out_written
            or self.transport.get_write_buffer_size()
        ):
            return False
        parts = self._direct_frames_locked(data)
        if parts is None:
            return False
        assert self._fd is not None
        try:
            written = os.writev(self._fd, parts)
        except OSError:  # EAGAIN, or a broken connection the I/O thread will notice
            written = 0
        self._out_written += size
        total = len(parts[0]) + len(parts[1]) if len(parts) == 2 else sum(len(part) for part in parts)
        if written < total:
            tail = _skip(parts, written)
            self._direct_tail += 1
            self._out_posted += len(tail)
            self.io.post(lambda: self._write_tail(tail))
        self._after_write_locked()
        return True

    def _write_tail(self, tail: bytes) -> None:
        """Write what a direct write could not (the socket was full)."""
        with self._lock:
            self._direct_tail -= 1
            self._out_written += len(tail)
            if not self._lost:
                self.transport.write(tail)
            self._after_write_locked()

    def close_connection(self, code: int, reason: str) -> None:
        """Start the closing handshake. Thread-safe."""
        self.io.post(lambda: self.start_close(code, reason))

    def message_handled(self, size: int) -> None:
        """A message of ``size`` bytes was consumed: by a callback on the
        handler loop, or by a blocking ``receive()`` on any thread. Thread-safe
        (the counter is updated under the lock: two threads may consume)."""
        with self._lock:
            self._in_handled += size
            release = self._held is not None and self._in_handled >= self._held_mark
            resume = self._reading_paused and self._in_queued - self._in_handled <= self.settings.receive_buffer_size // 2
        if release:
            self.io.post(self._release_failure)  # the answers were posted before this
        if resume:
            self.io.post(self._resume_reading)

    def resume_writing(self) -> None:
        """The transport's buffer fell to the watch level (asyncio's flow
        control): update the budget charge and wake drain waiters. Runs on
        the I/O thread."""
        with self._lock:
            if self._drain_waiters:
                self._wake_drained_locked()
            else:
                self._charge_locked(self._pending_locked())

    def _set_watch(self, level: int | None = None) -> None:
        """Let asyncio call ``resume_writing`` when the transport's buffer
        falls to ``min(WATCH_LEVEL, level)`` (default: the drain low-water
        mark). Runs on the I/O thread."""
        watch = min(WATCH_LEVEL, self.drain_level() if level is None else level)
        if watch != self._watch and not self._lost:
            self._watch = watch
            self.transport.set_write_buffer_limits(high=watch, low=watch)

    def _arm_drain(self) -> None:
        """A drain waiter was added: check it at once. Runs on the I/O thread."""
        with self._lock:
            if self._drain_waiters:
                self._wake_drained_locked()

    def _after_write_locked(self) -> None:
        """Bytes left nbws's hands (to the socket or the transport): bring the
        server budget's charge down to what is still unsent, and wake drain
        waiters. Without this, bytes the socket took at once would stay
        charged until the next send to this peer. Under the lock."""
        if self._drain_waiters:
            self._wake_drained_locked()
        elif self.budget is not None:
            self._charge_locked(self._pending_locked())

    def _wake_drained_locked(self) -> None:
        """Wake the drain waiters if the peer is at or below the low-water
        mark; else make sure the transport calls back when its buffer falls to
        it (the mark shrinks as peers join). I/O thread, under the lock."""
        pending = self._pending_locked()
        self._charge_locked(pending)
        level = self.drain_level()
        if pending > level:
            self._set_watch(level)
            return
        waiters, self._drain_waiters = self._drain_waiters, []
        for wake in waiters:
            wake(None)


    # ------------------------------------------------ hooks of the I/O-thread half

    def _direct_frames_locked(self, data: Message) -> list[bytes] | None:
        """The bytes of ``data`` framed for a direct write, or None when the
        protocol state forbids one. Under the lock, on the sender's thread."""
        raise NotImplementedError

    def _write_message(self, data: Message, size: int) -> None:
        """Frame and write a message. Runs on the I/O thread."""
        raise NotImplementedError

    def start_close(self, code: int, reason: str) -> None:
        """Start the closing handshake. Runs on the I/O thread."""
        raise NotImplementedError

    def _release_failure(self) -> None:
        """Send a held Close. Runs on the I/O thread."""
        raise NotImplementedError

    def _resume_reading(self) -> None:
        """Read from the peer again. Runs on the I/O thread."""
        raise NotImplementedError
