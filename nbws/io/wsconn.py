"""One WebSocket connection on the I/O thread: frames in, messages out.

The RFC 6455 framing, handshake validation and permessage-deflate come from
the ``websockets`` library's Sans-I/O protocol objects. This module drives
one: it feeds it bytes, hands data frames to the pure
:class:`~nbws.io.assembler.Assembler`, delivers messages to the handler plane
in one job per read, answers pongs, and runs the keepalive, close and idle
timers. The thread-safe half (sending, drain waiters, accounting, the
direct-write fast path) is :class:`~nbws.boundary.outbox.Outbox`.

Everything here runs on the I/O thread.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from websockets.frames import Frame, Opcode
from websockets.protocol import CLOSED, OPEN, SEND_EOF, Protocol, Side

from ..boundary import Outbox, SendBudget, deliver, frame_header, on_io_thread
from ..errors import ConnectionClosedError
from .assembler import Assembler, InvalidText, MessageTooBig
from .routes import close_reason, tell

if TYPE_CHECKING:
    from ..boundary import HandlerPlane, IOThread
    from ..config import Settings
    from ..websocket import Message, WebSocket
    from .resumption import Gate
    from .routes import Listener

__all__ = ["WsConnection"]


class WsConnection(Outbox):
    """Drive a websockets Sans-I/O protocol over an asyncio transport.

    Runs on the I/O thread; the thread-safe methods are :class:`Outbox`'s."""

    # no per-instance dict: it is most of the memory of an idle connection
    __slots__ = (
        "_batch", "_close_timer", "_flush_scheduled", "_hold_timer", "_idle_timer", "_last_rx", "_ping_payload",
        "_ping_timer", "_pong_timer", "assembler", "gate", "listener", "loop", "on_lost", "peer_address", "plane",
        "proto",
        "user",
    )

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
        super().__init__(transport, settings, io, budget)
        self.proto = proto
        self.loop = io.loop
        self.plane = plane
        self.on_lost = on_lost
        self.user: WebSocket | None = None
        self.gate: Gate | None = None  # the session protocol, on the envelope endpoint
        self.listener: Listener | None = None  # a socket served on the I/O thread (Routes.add_socket)
        peer = transport.get_extra_info("peername")
        self.peer_address: tuple[str, int] = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else ("", 0)
        max_message = settings.max_message_size
        self.assembler = Assembler(max_message)
        self._batch: list[Message] = []  # messages of the current read, dispatched together
        self._hold_timer: asyncio.TimerHandle | None = None
        self._flush_scheduled = False
        # timers
        self._close_timer: asyncio.TimerHandle | None = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._pong_timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._ping_payload: bytes | None = None
        self._last_rx = time.monotonic()

    @on_io_thread
    def take_over(self, events: list[Any]) -> None:
        """Process what the handshake left: frames that came with (or right
        after) the 101, and the protocol's answers to them (a pong, a Close
        after a failure: the connection was open when they arrived, so a
        failure waits behind the messages before it)."""
        with self._lock:
            self._process_events(events, was_open=True)
        self._dispatch()

    @property
    def lost(self) -> bool:
        """True once the TCP connection is gone."""
        return self._lost

    @on_io_thread
    def start(self, user: WebSocket) -> None:
        """Attach the user object, set the write-buffer watch level, and start
        the keepalive and idle timers."""
        self.user = user
        self._set_watch()
        self._schedule_ping()
        if self.settings.idle_timeout is not None:
            self._idle_timer = self.loop.call_later(self.settings.idle_timeout, self._check_idle)

    @on_io_thread
    def data_received(self, data: bytes) -> None:
        """Feed bytes from the socket; deliver complete messages."""
        self._last_rx = time.monotonic()
        with self._lock:
            was_open = self.proto.state is OPEN
            self.proto.receive_data(data)
            self._process_events(was_open=was_open)
        self._dispatch()

    @on_io_thread
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
        listener = self.listener
        if listener is not None:  # a socket served on the I/O thread
            for message in batch:
                if self._lost or self.proto.state is not OPEN or not tell(listener, self, message):
                    break
            return
        user = self.user
        if user is None:
            return
        if len(batch) == 1:
            message = batch[0]
            awake = deliver(self.plane, lambda: user._deliver(message), now=True)
        else:
            awake = deliver(self.plane, lambda: user._deliver_many(batch), now=True)
        if awake and len(batch) == 1:
            # a request/reply peer: the reply, then its next message, come
            # soon; look for it without sleeping (not after a batch: a
            # pipelining peer keeps the thread busy anyway, and polling
            # would only take the GIL from the handlers between their writes)
            self.io.stay_awake()

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
        # message_handled reads these under the same lock, so it cannot run in between
        self._held_mark = self._in_queued
        self._held = []
        self._hold_timer = self.loop.call_later(self.settings.close_timeout, self._release_failure)

    @on_io_thread
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
            self.transport.write(data)

    def _on_data_frame(self, frame: Frame) -> bool:
        """Assemble one data frame; False when the connection was failed."""
        try:
            message = self.assembler.feed(frame)
        except InvalidText as exc:
            self.proto.fail(1007, str(exc))
            return False
        except MessageTooBig as exc:
            self.proto.fail(1009, str(exc))
            return False
        if message is not None:
            self._deliver(message)
        return True

    def _deliver(self, message: Message) -> None:
        if self.listener is not None:
            self._batch.append(message)
            return
        user = self.user
        if user is None:
            return
        gate = self.gate
        if gate is not None and isinstance(message, str) and gate(message):
            return  # the session protocol's own message, answered on this thread
        self._in_queued += len(message)
        self._batch.append(message)
        if self._in_queued - self._in_handled > self.settings.receive_buffer_size and not self._reading_paused:
            self._reading_paused = True
            self.transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and not self._lost:
            self._reading_paused = False
            self.transport.resume_reading()

    @on_io_thread
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
        self._after_write_locked()

    def _write_out(self, chunks: list[Any]) -> None:
        """Write protocol output; SEND_EOF closes TCP. Runs on the I/O thread, under the lock."""
        for data in chunks:
            if data is SEND_EOF or not data:
                # a server closes TCP after the closing handshake; a client
                # gets SEND_EOF only once the server has closed its side
                self.transport.close()
            else:
                    self.transport.write(data)

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.io.flush_after_batch(self.flush)

    @on_io_thread
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
            self.transport.write(payload)
            self._after_write_locked()

    @on_io_thread
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

    @on_io_thread
    def start_close(self, code: int, reason: str) -> None:
        """Send a Close frame (if still open) and wait for the peer."""
        with self._lock:
            if self.proto.state is OPEN and not self._lost:
                self.proto.send_close(code, close_reason(reason))
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

    @on_io_thread
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
        if self.listener is not None:
            tell(self.listener, self)
        self.on_lost(self, code, reason)

    def _direct_frames_locked(self, data: Message) -> list[bytes] | None:
        """Frame ``data`` for the direct-write path; None when a flush is
        pending or the protocol is not open. Runs on the sender's thread, under the lock."""
        if self._flush_scheduled or self.proto.state is not OPEN:
            return None
        body = data.encode("utf-8") if isinstance(data, str) else data
        if not self.proto.extensions and self.proto.side is Side.SERVER:
            # an unmasked, uncompressed frame: header and payload go out
            # with one writev, without copying the payload into a frame
            opcode = Opcode.TEXT if isinstance(data, str) else Opcode.BINARY
            return [frame_header(opcode, len(body)), body]
        if isinstance(data, str):
            self.proto.send_text(body)
        else:
            self.proto.send_binary(body)
        return self.proto.data_to_send()
