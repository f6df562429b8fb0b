"""The client's outbox: the thread-safe half of a client WebSocket.

A client (:func:`nbws.connect`) may be used before it is connected, and
between reconnects. While there is no connection, its messages wait here in
order (bounded by ``send_buffer_size``), as do its drain waiters; once
connected, everything goes to that connection's :class:`Outbox`. The
I/O-thread half is :class:`nbws.io.session.Session`.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, Union

from ..errors import ConnectionClosedError, SendBufferFullError
from .io_thread import io_thread

if TYPE_CHECKING:
    from ..config import Settings
    from .outbox import DrainWake, Outbox

__all__ = ["ClientOutbox"]

Message = Union[str, bytes]


class ClientOutbox:
    """The Link of a client WebSocket across connections. The public methods
    are thread-safe; :meth:`_hand_over_waiters` runs on the I/O thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.io = io_thread()
        self.lock = threading.Lock()
        self.pending: deque[Message] = deque()
        self.pending_bytes = 0
        self.drain_waiters: list[DrainWake] = []  # drain() calls made while not connected
        self.conn: Outbox | None = None
        self.user_closed: tuple[int, str] | None = None

    def send_message(self, data: Message) -> bool:
        with self.lock:
            conn = self.conn
            if conn is None:
                if self.user_closed is not None:
                    raise ConnectionClosedError(self.user_closed[0], self.user_closed[1])
                if self.pending_bytes >= self.settings.send_buffer_size:
                    # not connected, so nothing to close: 'error' raises, 'close' and 'drop' drop it
                    if self.settings.send_buffer_policy == "error":
                        raise SendBufferFullError(self.pending_bytes, self.settings.send_buffer_size)
                    return False
                self.pending.append(data)  # sent in order once open
                self.pending_bytes += len(data)
                return True
        return conn.send_message(data)

    def close_connection(self, code: int, reason: str) -> None:
        with self.lock:
            self.user_closed = (code, reason)
            conn = self.conn
        if conn is not None:
            conn.close_connection(code, reason)
        else:
            self.io.post(lambda: self._abort(code, reason))

    def message_handled(self, size: int) -> None:
        conn = self.conn
        if conn is not None:
            conn.message_handled(size)

    def add_drain_waiter(self, wake: DrainWake) -> bool:
        """Thread-safe: the connection's, or, while (re)connecting, the queue
        of messages waiting for it against a quarter of send_buffer_size."""
        with self.lock:
            conn = self.conn
            if conn is None:
                if self.user_closed is not None:
                    raise ConnectionClosedError(self.user_closed[0], self.user_closed[1])
                if self.pending_bytes <= self.settings.send_buffer_size // 4:
                    return True
                self.drain_waiters.append(wake)
                return False
        return conn.add_drain_waiter(wake)

    def remove_drain_waiter(self, wake: DrainWake) -> None:
        with self.lock:
            if wake in self.drain_waiters:
                self.drain_waiters.remove(wake)
            conn = self.conn
        if conn is not None:
            conn.remove_drain_waiter(wake)

    def _hand_over_waiters(self, conn: Outbox | None, code: int = 1006, reason: str = "") -> None:
        """Pass the waiters of the unconnected time to ``conn``, or fail them. I/O thread."""
        with self.lock:
            waiters, self.drain_waiters = self.drain_waiters, []
        for wake in waiters:
            try:
                if conn is None:
                    raise ConnectionClosedError(code, reason)
                if conn.add_drain_waiter(wake):
                    wake(None)
            except ConnectionClosedError as exc:
                wake(exc)

    def take_pending(self, conn: Outbox) -> tuple[int, str] | None:
        """Make ``conn`` the connection, after handing it the messages that
        waited for it; the close the user asked for meanwhile. Both happen
        under the lock that every sender takes first, so a send from another
        thread cannot pass the queued messages (it finds them still unwritten
        and queues behind them). Runs on the I/O thread."""
        with self.lock:
            pending, self.pending, self.pending_bytes = self.pending, deque(), 0
            for message in pending:  # on the I/O thread: queued to it in order, never written directly
                conn.send_message(message)
            self.conn = conn
            return self.user_closed

    def forget(self, conn: Outbox) -> None:
        """``conn`` is gone. Runs on the I/O thread."""
        with self.lock:
            if self.conn is conn:
                self.conn = None

    def _abort(self, code: int, reason: str) -> None:
        """Closed while not connected. Runs on the I/O thread."""
        raise NotImplementedError
