"""One WebSocket connection on the I/O thread: frames in, messages out.

The RFC 6455 framing, handshake validation and permessage-deflate come from
the ``websockets`` library's Sans-I/O protocol objects. This module adds what
that layer leaves to its caller: assembling fragmented messages (bounded by
``max_message_size``), validating text incrementally (1007 on the first bad
fragment), keepalive pings, the close and idle timers, and bounded buffers in
both directions.

Everything here runs on the I/O thread except the :class:`Link` methods
(``send_message``, ``close_connection``, ``message_handled``,
``add_drain_waiter``, ``remove_drain_waiter``), ``reserve`` and
``pending_out``, which are thread-safe.

Outbound memory: what a peer has not yet taken (messages queued for the I/O
thread plus the asyncio transport's write buffer) is bounded per peer by
``send_buffer_size`` and, across a server, by its :class:`~nbws.budget.SendBudget`
(``max_total_send_buffer``). Past a bound, ``send_buffer_policy`` applies.
Producers that prefer to wait use ``drain()``: the transport's write-buffer
limits are set low (at most :data:`WATCH_LEVEL`), so asyncio calls
``resume_writing`` on the I/O thread as the buffer empties, which wakes them.
"""

from __future__ import annotations

import asyncio
import codecs
import os
import struct
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import CLOSED, OPEN, SEND_EOF, Protocol, Side
from websockets.server import ServerProtocol

from .budget import SendBudget
from .errors import ConnectionClosedError, SendBufferFullError

if TYPE_CHECKING:
    from .bridge import HandlerPlane, IOThread
    from .config import Settings
    from .websocket import Message, WebSocket

__all__ = ["WsConnection", "StrictServerProtocol", "StrictClientProtocol", "frame_header", "DrainWake", "WATCH_LEVEL"]

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


class StrictClientProtocol(_CloseBetweenFragments, ClientProtocol):
    """The client side of :class:`_CloseBetweenFragments`."""

_utf8_decoder = codecs.getincrementaldecoder("utf-8")


class WsConnection:
    """Drive a websockets Sans-I/O protocol over an asyncio transport.

    Runs on the I/O thread (but for the thread-safe Link methods)."""

    def __init__(
        self,
        transport: asyncio.Transport,
        proto: Protocol,
        settings: Settings,
        io: IOThread,
        plane: HandlerPlane,
        on_lost: Callable[[WsConnection, int, str], None],
        budget: SendBudget | None = None,
    ) -> None:
        self.transport = transport
        self.proto = proto
        self.settings = settings
        self.io = io
        self.loop = io.loop
        self.plane = plane
        self.on_lost = on_lost
        self.user: WebSocket | None = None
        peer = transport.get_extra_info("peername")
        self.peer_address: tuple[str, int] = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else ("", 0)
        # fragment assembly
        self._parts: list[Any] = []
        self._decoder: codecs.IncrementalDecoder | None = None
        self._assembling = False
        self._batch: list[Message] = []  # messages of the current read, dispatched together
        # inbound flow control: single-writer counters
        self._in_queued = 0  # written on the I/O thread
        self._in_handled = 0  # written on the handler loop
        self._reading_paused = False
        # After the peer's protocol error, the protocol's Close (and EOF) are
        # held back here until the messages received before it are handled
        # (the handler's answers go out first), at most close_timeout.
        self._held: list[Any] | None = None  # I/O thread, under the lock
        self._held_mark = 0  # _in_queued when the connection failed
        self._hold_timer: asyncio.TimerHandle | None = None
        # One lock guards the protocol object, writes and the send accounting:
        # the I/O thread holds it while it feeds or flushes the protocol, and a
        # sender holds it for a direct write (see send_message).
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
        self._flush_scheduled = False
        self.dropped = 0
        # the server-wide budget: what this connection charges it (under the lock)
        self.budget = budget
        self._charged = 0
        if budget is not None:
            budget.join()
        self._drain_waiters: list[DrainWake] = []  # guarded by the lock
        self._watch = 0  # the transport's write-buffer limit (high = low); I/O thread
        self._closed_with: tuple[int, str] | None = None  # set once TCP is gone
        # timers
        self._close_timer: asyncio.TimerHandle | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._last_rx = time.monotonic()
        self._lost = False
        self.bytes_in = 0
        self.bytes_out = 0

    # ------------------------------------------------------------------ I/O thread

    def start(self, user: WebSocket) -> None:
        """Attach the user object, set the write-buffer watch level, and start
        the keepalive and idle timers."""
        self.user = user
        self._set_watch()
        self._schedule_ping()
        if self.settings.idle_timeout is not None:
            self._idle_timer = self.loop.call_later(self.settings.idle_timeout, self._check_idle)

    def data_received(self, data: bytes) -> None:
        """Feed bytes from the socket; deliver complete messages."""
        self._last_rx = time.monotonic()
        self.bytes_in += len(data)
        with self._lock:
            was_open = self.proto.state is OPEN
            self.proto.receive_data(data)
            self._process_events(was_open=was_open)
        self._dispatch()

    def eof_received(self) -> None:
        """The peer half-closed its side."""
        with self._lock:
            was_open = self.proto.state is OPEN
            self.proto.receive_eof()
            self._process_events(was_open=was_open)
        self._dispatch()

    def _dispatch(self) -> None:
        """Hand the messages of this read to the handler loop in one job, as
        the last thing before the I/O thread goes back to waiting: the
        handler thread wakes while this one is about to release the GIL."""
        batch = self._batch
        if not batch:
            return
        self._batch = []
        user = self.user
        if user is None:
            return
        if len(batch) == 1:
            message = batch[0]
            self.plane.post_and_yield(lambda: user._deliver(message))
        else:
            self.plane.post_and_yield(lambda: user._deliver_many(batch))

    def _process_events(self, events: list[Any] | None = None, was_open: bool = False) -> None:
        """Assemble and queue the received messages, then flush the protocol's
        output; when this input made the connection fail (``was_open`` and
        no longer open, with no Close from the peer), hold the failure behind
        the messages queued before it. Runs on the I/O thread, under the lock."""
        if events is None:
            events = self.proto.events_received()
        for frame in events:
            if not isinstance(frame, Frame):  # the handshake request, already handled
                continue
            opcode = frame.opcode
            if opcode is Opcode.TEXT or opcode is Opcode.BINARY or opcode is Opcode.CONT:
                if not self._on_data_frame(frame):
                    break
            elif opcode is Opcode.PONG:
                if self._ping_payload is not None and frame.data == self._ping_payload:
                    self._ping_payload = None
                    if self._pong_timer is not None:
                        self._pong_timer.cancel()
                        self._pong_timer = None
                    self._schedule_ping()
        if was_open and self.proto.state is not OPEN and self.proto.close_rcvd is None:
            self._hold_failure()
        self._flush_locked()

    def _hold_failure(self) -> None:
        """The peer broke the protocol: its earlier messages still get their
        answers. Hold the protocol's Close until the handler loop has handled
        every message queued so far (:meth:`message_handled` releases it), at
        most ``close_timeout`` seconds. Runs on the I/O thread, under the lock."""
        if self._held is not None or self._lost or self._in_handled >= self._in_queued:
            return
        self._held = []
        self._held_mark = self._in_queued
        self._hold_timer = self.loop.call_later(self.settings.close_timeout, self._release_failure)
        if self._in_handled >= self._held_mark:  # handled meanwhile, before _held was visible
            self.io.post(self._release_failure)

    def _release_failure(self) -> None:
        """Send the held Close (and close TCP on the server side). Runs on the I/O thread."""
        with self._lock:
            held, self._held = self._held, None
            if self._hold_timer is not None:
                self._hold_timer.cancel()
                self._hold_timer = None
            if held is None:
                return
            self._write_out(held)
            self._flush_locked()

    def _send_while_failing(self, body: bytes, text: bool) -> None:
        """Frame a handler's answer sent while the failure is held: the
        protocol no longer frames data (it is CLOSING), so serialise the
        frames here exactly as it would, extensions (permessage-deflate)
        included, and write them ahead of the held Close. Runs on the I/O thread, under the lock."""
        opcode = Opcode.TEXT if text else Opcode.BINARY
        step = self.settings.fragment_size
        chunks = [body[i:i + step] for i in range(0, len(body), step)] if step and len(body) > step else [body]
        mask = self.proto.side is Side.CLIENT
        for index, chunk in enumerate(chunks):
            frame = Frame(opcode if index == 0 else Opcode.CONT, chunk, fin=index == len(chunks) - 1)
            data = frame.serialize(mask=mask, extensions=self.proto.extensions)
            self.bytes_out += len(data)
            self.transport.write(data)

    def _on_data_frame(self, frame: Frame) -> bool:
        """Assemble one data frame; False when the connection was failed."""
        data = frame.data
        try:
            if frame.opcode is Opcode.TEXT:
                if frame.fin:
                    self._deliver(bytes(data).decode("utf-8"))
                    return True
                self._decoder = _utf8_decoder()
                self._parts = [self._decoder.decode(data, False)]
                self._assembling = True
                return True
            if frame.opcode is Opcode.BINARY:
                if frame.fin:
                    self._deliver(bytes(data))
                    return True
                self._decoder = None
                self._parts = [bytes(data)]
                self._assembling = True
                return True
            # continuation (the protocol layer rejects one without a start)
            if self._decoder is not None:
                self._parts.append(self._decoder.decode(data, frame.fin))
            else:
                self._parts.append(bytes(data))
            if frame.fin:
                parts, self._parts, self._assembling = self._parts, [], False
                if self._decoder is not None:
                    self._decoder = None
                    text = "".join(parts)
                    self._deliver(text)
                else:
                    blob = b"".join(parts)
                    self._deliver(blob)
            return True
        except UnicodeDecodeError as exc:
            self._parts, self._decoder, self._assembling = [], None, False
            self.proto.fail(1007, f"invalid UTF-8 in a text message at byte {exc.start}")
            return False

    def _deliver(self, message: Message) -> None:
        user = self.user
        if user is None:
            return
        self._in_queued += len(message)
        self._batch.append(message)
        if self._in_queued - self._in_handled > self.settings.receive_buffer_size and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and not self._lost:
            self._reading_paused = False
            self.transport.resume_reading()

    def flush(self) -> None:
        """Write what the protocol produced; close TCP when it says so."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        self._flush_scheduled = False
        # the framed messages leave the protocol's output here; until now they
        # were still counted as pending (a drain waiter must not see a dip)
        framed, self._out_framed = self._out_framed, 0
        if self._lost:
            self.proto.data_to_send()
            self._out_written += framed
            return
        if self._held is not None:
            self._held.extend(self.proto.data_to_send())
            self._out_written += framed
            return
        self._write_out(self.proto.data_to_send())
        self._out_written += framed
        if self._close_timer is None and self.proto.close_expected():
            self._close_timer = self.loop.call_later(self.settings.close_timeout, self._close_timed_out)
        if self._drain_waiters:
            self._wake_drained_locked()

    def _write_out(self, chunks: list[Any]) -> None:
        """Write protocol output; SEND_EOF closes TCP. Runs on the I/O thread, under the lock."""
        for data in chunks:
            if data is SEND_EOF or not data:
                # a server closes TCP after the closing handshake; a client
                # gets SEND_EOF only once the server has closed its side
                self.transport.close()
            else:
                self.bytes_out += len(data)
                self.transport.write(data)

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.io.flush_after_batch(self.flush)

    def send_shared(self, frame: Callable[[], bytes], data: Message, size: int) -> None:
        """Send one message of a broadcast: the pre-serialised unmasked
        ``frame()`` when this connection uses no extension, else through the
        protocol (compression)."""
        with self._lock:
            if self._lost or self.proto.state is not OPEN:
                self._out_written += size
                return
            shareable = not self.proto.extensions and self.proto.side is Side.SERVER
            if not shareable:
                self._write_locked(data, size)
                return
            if self._flush_scheduled:
                self._flush_locked()
            self._out_written += size
            payload = frame()
            self.bytes_out += len(payload)
            self.transport.write(payload)
            if self._drain_waiters:
                self._wake_drained_locked()

    def _write_message(self, data: Message, size: int) -> None:
        with self._lock:
            self._write_locked(data, size)

    def _write_locked(self, data: Message, size: int) -> None:
        if self.proto.state is not OPEN or self._lost:
            self._out_written += size
            if self._held is not None and not self._lost:
                self._send_while_failing(data.encode("utf-8") if isinstance(data, str) else data, isinstance(data, str))
            return
        self._out_framed += size
        body = data.encode("utf-8") if isinstance(data, str) else data
        step = self.settings.fragment_size
        if step and len(body) > step:
            view = memoryview(body)
            if isinstance(data, str):
                self.proto.send_text(view[:step], fin=False)
            else:
                self.proto.send_binary(view[:step], fin=False)
            for start in range(step, len(body), step):
                self.proto.send_continuation(view[start:start + step], fin=start + step >= len(body))
        elif isinstance(data, str):
            self.proto.send_text(body)
        else:
            self.proto.send_binary(body)
        self._schedule_flush()

    def _write_tail(self, tail: bytes) -> None:
        """Write what a direct write could not (the socket was full)."""
        with self._lock:
            self._direct_tail -= 1
            self._out_written += len(tail)
            if not self._lost:
                self.bytes_out += len(tail)
                self.transport.write(tail)
            if self._drain_waiters:
                self._wake_drained_locked()

    def start_close(self, code: int, reason: str) -> None:
        """Send a Close frame (if still open) and wait for the peer."""
        with self._lock:
            if self.proto.state is OPEN and not self._lost:
                self.proto.send_close(code, reason)
                self._flush_locked()

    def _close_timed_out(self) -> None:
        self.transport.abort()

    def _schedule_ping(self) -> None:
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None
        interval = self.settings.ping_interval
        if interval is not None and interval > 0 and not self._lost:
            self._ping_timer = self.loop.call_later(interval, self._send_ping)

    def _send_ping(self) -> None:
        self._ping_timer = None
        if self.proto.state is not OPEN or self._lost:
            return
        self._ping_payload = os.urandom(4)
        with self._lock:
            self.proto.send_ping(self._ping_payload)
            self._flush_locked()
        timeout = self.settings.ping_timeout
        if timeout is not None:
            self._pong_timer = self.loop.call_later(timeout, self._ping_timed_out)

    def _ping_timed_out(self) -> None:
        self._pong_timer = None
        with self._lock:
            if self.proto.state is OPEN:
                self.proto.fail(1011, "keepalive ping timeout")
                self._flush_locked()

    def _check_idle(self) -> None:
        timeout = self.settings.idle_timeout
        if timeout is None or self._lost:
            return
        idle = time.monotonic() - self._last_rx
        if idle >= timeout:
            self.start_close(1001, "idle timeout")
        else:
            self._idle_timer = self.loop.call_later(timeout - idle, self._check_idle)

    def connection_lost(self) -> None:
        """TCP is gone: stop timers, release the budget, fail drain waiters,
        and tell the handler loop how it closed."""
        if self._lost:
            return
        self._lost = True
        self._held = None
        self._dispatch()
        for timer in (self._close_timer, self._ping_timer, self._pong_timer, self._idle_timer, self._hold_timer):
            if timer is not None:
                timer.cancel()
        with self._lock:
            if self.proto.state is not CLOSED:
                try:
                    self.proto.receive_eof()
                except Exception:  # noqa: BLE001 - the reader may already be at EOF
                    pass
                self.proto.events_received()
                self.proto.data_to_send()
        # the peer's Close frame; else the one we sent when we failed the
        # connection (1009, 1007 …); else 1006, dropped without a Close frame
        closing = self.proto.close_rcvd or self.proto.close_sent
        if closing is not None:
            code, reason = int(closing.code), closing.reason
        else:
            code, reason = 1006, ""
        with self._lock:
            self._closed_with = (code, reason)
            waiters, self._drain_waiters = self._drain_waiters, []
            if self.budget is not None:
                self.budget.leave(self._charged)
                self._charged = 0
        for wake in waiters:
            wake(ConnectionClosedError(code, reason))
        self.on_lost(self, code, reason)

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

    # ------------------------------------------------------------ thread-safe Link

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
                self.dropped += 1
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
        if not self.reserve(size):
            return False
        if self._fd is not None and not self.io.in_thread() and self._write_direct(data, size):
            return True
        self.io.post(lambda: self._write_message(data, size))
        return True

    def _write_direct(self, data: Message, size: int) -> bool:
        """Runs on the sender's thread, under the lock."""
        with self._lock:
            step = self.settings.fragment_size
            if (
                self._lost
                or (step and size > step // 4)
                or self._direct_tail
                or self._flush_scheduled
                or self._out_posted - size != self._out_written
                or self.proto.state is not OPEN
                or self.transport.get_write_buffer_size()
            ):
                return False
            body = data.encode("utf-8") if isinstance(data, str) else data
            if not self.proto.extensions and self.proto.side is Side.SERVER:
                # an unmasked, uncompressed frame: header and payload go out
                # with one writev, without copying the payload into a frame
                opcode = Opcode.TEXT if isinstance(data, str) else Opcode.BINARY
                parts = [frame_header(opcode, len(body)), body]
            else:
                if isinstance(data, str):
                    self.proto.send_text(body)
                else:
                    self.proto.send_binary(body)
                parts = self.proto.data_to_send()
            assert self._fd is not None
            try:
                written = os.writev(self._fd, parts)
            except OSError:  # EAGAIN, or a broken connection the I/O thread will notice
                written = 0
            self._out_written += size
            self.bytes_out += written
            total = sum(len(part) for part in parts)
            if written < total:
                tail = _skip(parts, written)
                self._direct_tail += 1
                self._out_posted += len(tail)
                self.io.post(lambda: self._write_tail(tail))
            return True

    def close_connection(self, code: int, reason: str) -> None:
        """Start the closing handshake. Thread-safe."""
        self.io.post(lambda: self.start_close(code, reason))

    def message_handled(self, size: int) -> None:
        """The handler loop consumed a message of ``size`` bytes. Thread-safe
        (called on the handler loop)."""
        self._in_handled += size
        if self._held is not None and self._in_handled >= self._held_mark:
            self.io.post(self._release_failure)  # the answers were posted before this
        if self._reading_paused and self._in_queued - self._in_handled <= self.settings.receive_buffer_size // 2:
            self.io.post(self._resume_reading)
