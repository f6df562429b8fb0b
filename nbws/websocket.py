"""The WebSocket object users hold, on the server side and the client side.

Its callbacks run on the handler loop; :meth:`WebSocket.send` and
:meth:`WebSocket.close` are thread-safe and never block; producers that prefer
waiting to the send-buffer policy ``await ws.drain()`` (or, in a thread or a
cell, call ``ws.drain_blocking()``). Sync and async are explicit in the name:
``ws.receive(timeout)`` blocks, ``await ws.areceive(timeout)`` awaits.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any, Protocol, Union

from .boundary import Latch, call_on_loop, deliver, invoke, on_handler_plane
from .envelope import encode_topic
from .errors import ConnectionClosedError

if TYPE_CHECKING:
    from .boundary import HandlerPlane
    from .messages import Request
    from .session import Session

__all__ = ["WebSocket", "Message", "list_connections"]

log = logging.getLogger("nbws")
Message = Union[str, bytes]
MessageCallback = Callable[[Message], Any]
CloseCallback = Callable[[int, str], Any]
_ids = itertools.count(1)
_open: weakref.WeakValueDictionary[int, WebSocket] = weakref.WeakValueDictionary()


class Link(Protocol):
    """What a WebSocket needs from its I/O side. Thread-safe."""

    def send_message(self, data: Message) -> bool: ...
    def close_connection(self, code: int, reason: str) -> None: ...
    def message_handled(self, size: int) -> None: ...
    def add_drain_waiter(self, wake: Callable[[Exception | None], None]) -> bool: ...
    def remove_drain_waiter(self, wake: Callable[[Exception | None], None]) -> None: ...


def list_connections() -> list[WebSocket]:
    """Every WebSocket of this process not yet closed, servers' and clients',
    oldest first (Tcl's ``find``); each tells its ``state``, ``peer_address``
    and ``request`` or ``url``."""
    return sorted((ws for ws in list(_open.values()) if not ws.closed), key=lambda ws: ws.id)


class WebSocket:
    """A WebSocket connection.

    Register callbacks with :meth:`on_message` and :meth:`on_close`, or read
    with :meth:`receive` (blocking), ``await ws.areceive()`` or
    ``async for msg in ws``. Callbacks and coroutines run
    on the handler loop: in a notebook, when the kernel is idle or when a busy
    cell calls :func:`nbws.service`.

    Attributes:
        request: the upgrade :class:`~nbws.Request` (server side).
        subprotocol: the negotiated subprotocol, or None.
        peer_address: the peer's (host, port).
        id: a number unique in this process.
    """

    def __init__(
        self,
        link: Link,
        plane: HandlerPlane,
        request: Request | None,
        subprotocol: str | None,
        close_on_error: bool = True,
        peer_address: tuple[str, int] = ("", 0),
    ) -> None:
        self._link = link
        self._plane = plane
        self.request = request
        self.subprotocol = subprotocol
        self.peer_address = peer_address
        self.id = next(_ids)
        self._close_on_error = close_on_error
        self._message_callbacks: list[MessageCallback] = []
        self._close_callbacks: list[CloseCallback] = []
        self._inbox: deque[Message] | None = None  # made on the first unconsumed message (~600 bytes)
        self._waiter: asyncio.Future[None] | None = None
        self._close_waiters: list[asyncio.Future[None]] = []
        self._state = "OPEN"  # "CLOSED" only once the handler loop saw the close
        self._error: BaseException | None = None
        self.close_code: int | None = None
        """The close code once closed (1006: dropped without a Close frame)."""
        self.close_reason: str = ""
        """The close reason once closed."""
        self.messages_in = 0
        """Messages received so far."""
        self.messages_out = 0
        """Messages sent so far."""
        self.session: Session | None = None
        """The resumable :class:`~nbws.Session` this socket carries (a page
        using ``nbws.js`` on ``/_nbws/ws``), set before its first message is
        handled; None for other clients."""
        _open[self.id] = self

    # -- callbacks (register from any thread; they run on the handler loop) --

    def on_message(self, fn: MessageCallback) -> MessageCallback:
        """Call ``fn(message)`` for every message (``str`` for text, ``bytes``
        for binary). Returns ``fn``, so it works as a decorator."""
        self._message_callbacks.append(fn)
        return fn

    def on_close(self, fn: CloseCallback) -> CloseCallback:
        """Call ``fn(code, reason)`` when the connection closes."""
        self._close_callbacks.append(fn)
        if self.closed:
            deliver(self._plane, lambda: self._run_callback(fn, self.close_code or 1006, self.close_reason))
        return fn

    # -- sending (thread-safe) --

    def send(self, data: Message) -> bool:
        """Send a message: ``str`` as a text frame, ``bytes`` as a binary frame.

        Thread-safe and never blocks. Returns False when the send-buffer policy
        ``"drop"`` dropped it (on a client that is still connecting, a full
        queue also drops with ``"close"``: there is nothing to close yet). Raises :class:`~nbws.ConnectionClosedError` once
        closed and, with policy ``"error"``, :class:`~nbws.SendBufferFullError`
        when the peer is not reading.
        """
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        elif not isinstance(data, (str, bytes)):
            raise TypeError(f"send() takes str or bytes, not {type(data).__name__}")
        if self.closed:
            raise ConnectionClosedError(self.close_code or 1006, self.close_reason)
        sent = self._link.send_message(data)
        if sent:
            self.messages_out += 1
        return sent

    async def drain(self) -> None:
        """Wait until this peer's unsent bytes are at most the low-water mark.

        ``await ws.drain()`` after sends makes a producer wait for a slow peer
        instead of meeting the send-buffer policy. The mark is a quarter of
        ``send_buffer_size``, or a quarter of the peer's fair share of the
        server's ``max_total_send_buffer`` when that is smaller. Returns at once
        when the peer is already below it; the wake-up comes from the I/O
        thread as the socket takes the bytes (no polling). Raises
        :class:`~nbws.ConnectionClosedError` if the connection is closed or
        closes while waiting. Runs on the handler loop (or whichever asyncio
        loop awaits it).
        """
        if self.closed:
            self._raise_closed()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def settle(error: Exception | None) -> None:  # the awaiting loop
            if not future.done():
                if error is None:
                    future.set_result(None)
                else:
                    future.set_exception(error)

        def wake(error: Exception | None) -> None:  # I/O thread
            call_on_loop(loop, settle, error)  # False: the awaiting loop is closed, nobody waits

        if self._link.add_drain_waiter(wake):
            return
        try:
            await future
        finally:
            self._link.remove_drain_waiter(wake)

    def drain_blocking(self, timeout: float | None = None) -> None:
        """Block this thread until the peer's unsent bytes are at most the
        low-water mark (see :meth:`drain`), for a cell or a worker thread that
        produces data. The wake-up comes from the I/O thread, so it also works
        on the handler loop's thread, but handlers do not run meanwhile.
        Thread-safe. Raises :class:`~nbws.ConnectionClosedError` if the
        connection closes, ``TimeoutError`` after ``timeout`` seconds.
        """
        if self.closed:
            self._raise_closed()
        outcome: Latch[Exception | None] = Latch()
        wake = outcome.set  # called on the I/O thread
        if self._link.add_drain_waiter(wake):
            return
        try:
            if not outcome.wait(timeout):
                raise TimeoutError(f"the peer did not take its unsent bytes within {timeout} s")
        finally:
            self._link.remove_drain_waiter(wake)
        error = outcome.value()
        if error is not None:
            raise error

    def emit(self, topic: str, data: Any = None) -> bool:
        """Send a JSON topic message (``{"topic": ..., "data": ...}``) that a
        page's ``conn.topic(topic, fn)`` receives. Thread-safe. On a socket
        that carries a resumable session this is ``ws.session.emit(...)``: it
        reaches the page even if this socket drops and the page reconnects."""
        if self.session is not None:
            return self.session.emit(topic, data)
        return self.send(encode_topic(topic, data))

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake. Thread-safe; :meth:`on_close` callbacks
        run when it completes. Closing a closed socket does nothing."""
        if not (code == 1000 or 3000 <= code <= 4999 or (1001 <= code <= 1014 and code not in (1004, 1005, 1006))):
            raise ValueError(f"invalid close code {code}; use 1000, 1001-1014, or 3000-4999")
        if len(reason.encode("utf-8")) > 123:
            raise ValueError("a close reason must be at most 123 bytes of UTF-8")
        if not self.closed:
            if self._state != "CLOSING":
                self._state = "CLOSING"
                self._closing()
            self._link.close_connection(code, reason)

    def _closing(self) -> None:
        """Called once when the user starts closing, before the handshake starts."""

    @property
    def closed(self) -> bool:
        """True once the connection is closed (as seen by the handler loop)."""
        return self._state == "CLOSED"

    @property
    def state(self) -> str:
        """``"CONNECTING"``, ``"OPEN"``, ``"CLOSING"`` or ``"CLOSED"``."""
        return self._state

    def wait_closed(self, timeout: float | None = None) -> int:
        """Block until the connection is closed as the handler loop sees it
        (:attr:`state` is ``"CLOSED"``, the ``on_close`` callbacks have run)
        and return the close code.

        For scripts, cells and worker threads, typically after :meth:`close`;
        in a coroutine use ``await ws.await_closed()``. On the handler loop's
        thread queued nbws handlers run meanwhile, so this also works when the
        peer is a server of the same kernel. Raises ``TimeoutError`` after
        ``timeout`` seconds and :class:`~nbws.HandlerLoopError` inside a handler.
        """
        self._plane.wait(
            lambda: self.closed, timeout,
            "wait_closed() was called inside a handler: the close can only be reported after "
            "the handler returns; use on_close or 'await ws.await_closed()'",
            f"the connection did not close within {timeout} s", "wait_closed()",
        )
        return self.close_code if self.close_code is not None else 1006

    async def await_closed(self, timeout: float | None = None) -> int:
        """Await until the connection is closed and return the close code; the
        awaitable form of :meth:`wait_closed`. Runs on the handler loop."""
        if not self.closed:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._close_waiters.append(future)
            try:
                await asyncio.wait_for(future, timeout)
            finally:
                if future in self._close_waiters:
                    self._close_waiters.remove(future)
        return self.close_code if self.close_code is not None else 1006

    # -- receiving --

    def receive(self, timeout: float | None = None) -> Message:
        """Block until the next message not consumed by :meth:`on_message`
        callbacks arrives, and return it (``str`` or ``bytes``).

        For scripts, cells and worker threads; in a coroutine use
        ``await ws.areceive()``. On the handler loop's thread, queued nbws
        handlers run meanwhile (so a cell cannot deadlock its own server).
        Raises :class:`~nbws.ConnectionClosedError` once closed,
        ``TimeoutError`` after ``timeout`` seconds, and
        :class:`~nbws.HandlerLoopError` when called inside a handler, where
        the message could only arrive after the handler returns.
        """
        self._plane.wait(
            lambda: bool(self._inbox) or self.closed, timeout,
            "receive() was called inside a handler: the message it waits for can only be "
            "delivered after the handler returns; use on_message or 'await ws.areceive()'",
            f"no message within {timeout} s", "a blocking receive()",
        )
        if not self._inbox:
            self._raise_closed()
        return self._take()

    async def areceive(self, timeout: float | None = None) -> Message:
        """Await the next message not consumed by :meth:`on_message`
        callbacks (``str`` or ``bytes``); the awaitable form of :meth:`receive`.

        Raises :class:`~nbws.ConnectionClosedError` once closed and
        ``TimeoutError`` after ``timeout`` seconds. Runs on the loop that
        awaits it (the handler loop).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._inbox:
            if self.closed:
                self._raise_closed()
            loop = asyncio.get_running_loop()
            self._waiter = loop.create_future()
            try:
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                await asyncio.wait_for(asyncio.shield(self._waiter), remaining)
            finally:
                self._waiter = None
        return self._take()

    def _take(self) -> Message:
        assert self._inbox is not None
        message = self._inbox.popleft()
        self._link.message_handled(len(message))
        return message

    def _raise_closed(self) -> None:
        if self._error is not None:
            raise self._error
        raise ConnectionClosedError(self.close_code or 1006, self.close_reason)

    def __aiter__(self) -> AsyncIterator[Message]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[Message]:
        while True:
            try:
                yield await self.areceive()
            except ConnectionClosedError as exc:
                if exc.code in (1000, 1001):
                    return
                raise

    # -- delivery from the I/O thread (these run on the handler loop) --

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    @on_handler_plane
    def _deliver(self, message: Message) -> None:
        """Hand one received message to the user. Runs on the handler loop."""
        self.messages_in += 1
        if not self._message_callbacks:
            if self._inbox is None:
                self._inbox = deque()
            self._inbox.append(message)
            self._wake()
            return
        for fn in self._message_callbacks:
            self._run_callback(fn, message)
        self._link.message_handled(len(message))

    def _deliver_many(self, messages: list[Message]) -> None:
        """Hand several received messages to the user, in order. Runs on the handler loop."""
        for message in messages:
            self._deliver(message)

    def _finish(self, code: int, reason: str) -> None:
        """Mark closed and run the close callbacks. Runs on the handler loop."""
        if self.closed:
            return
        self._state = "CLOSED"
        self.close_code, self.close_reason = code, reason
        _open.pop(self.id, None)
        self._wake()
        for future in self._close_waiters:
            if not future.done():
                future.set_result(None)
        for fn in self._close_callbacks:
            self._run_callback(fn, code, reason)

    def _run_callback(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a user callback (plain or ``async def``) through the boundary;
        an error is logged and, with ``close_on_handler_error``, closes with
        1011. Runs on the handler loop."""
        invoke(self._plane, fn, *args, on_error=self._handler_failed)

    def _handler_failed(self, exc: BaseException) -> None:
        if isinstance(exc, asyncio.CancelledError):  # a cancelled task is not an error
            return
        where = self.request.path if self.request is not None else getattr(self, "url", "?")
        log.error("nbws: a WebSocket handler for %s raised", where, exc_info=exc)
        if self._close_on_error and not self.closed:
            self._link.close_connection(1011, "handler error")

    def __repr__(self) -> str:
        where = self.request.path if self.request is not None else getattr(self, "url", "")
        state = f"closed {self.close_code}" if self.closed else self._state.lower()
        return f"<nbws.WebSocket #{self.id} {where} {state}>"


