"""A resumable session's outgoing messages: numbered, kept until the page
acknowledges them, replayed after a reconnect.

A :class:`ReplayLog` is written from any thread (``session.emit`` on the
handler plane, ``server.emit`` and replays on the I/O thread) and trimmed on
the I/O thread (acknowledgements, age); one lock keeps numbering, buffering
and writing to the current connection in one order, so the page sees
sequence numbers in the order they were given. Lock order: a log's lock,
then the connection's (``Outbox``'s); the I/O thread never takes a log's lock
while holding a connection's.

:class:`ReplayBudget` bounds the bytes kept by all the sessions of one server
(``max_total_session_buffer``).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .outbox import Outbox

__all__ = ["ReplayBudget", "ReplayLog", "sequenced"]


def sequenced(seq: int, envelope: str) -> str:
    """``envelope`` (a JSON object's text) with ``"seq": seq`` as its first
    member, where the I/O thread on the other side finds it without parsing
    the rest. Pure."""
    if not envelope.startswith("{"):
        raise ValueError("only a JSON object (an envelope) can carry a sequence number")
    rest = envelope[1:]
    return f'{{"seq":{seq}' + ("," + rest if rest != "}" else "}")


class ReplayBudget:
    """Bytes held by the replay logs of one server. Thread-safe."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.total = 0
        self._lock = threading.Lock()

    def move(self, delta: int) -> None:
        """Add ``delta`` (which may be negative) to the total. Thread-safe."""
        with self._lock:
            self.total += delta

    def over(self) -> bool:
        """True when the logs hold more than the limit. Thread-safe (reads without the lock)."""
        return self.limit is not None and self.total > self.limit


class ReplayLog:
    """Numbered outgoing messages of one session, bounded in count, bytes and
    age, with the connection they currently go to. Thread-safe."""

    def __init__(self, max_messages: int, max_bytes: int, max_age: float, budget: ReplayBudget) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.budget = budget
        self.next_seq = 1
        """The number the next message gets."""
        self.bytes = 0
        self.trimmed_unacked = 0
        """Messages trimmed by a bound before the page acknowledged them (a gap, if it comes back)."""
        self._entries: deque[tuple[int, str, float]] = deque()  # (seq, framed text, time added)
        self._acked = 0  # the page has every message up to here
        self._link: Outbox | None = None
        self._closed = False  # the session ended: keep nothing more
        self._lock = threading.Lock()

    def send(self, envelope: str) -> bool:
        """Number ``envelope``, keep it, and write it to the current
        connection if there is one. Thread-safe, never blocks on the peer.
        True when it went to a connection now (False: kept for the replay,
        or dropped because the session ended)."""
        with self._lock:
            if self._closed:
                return False
            seq = self.next_seq
            self.next_seq += 1
            text = sequenced(seq, envelope)
            size = len(text)
            self._entries.append((seq, text, time.monotonic()))
            self.bytes += size
            self.budget.move(size)
            self._bound_locked()
            link = self._link
            if link is None:
                return False
            try:
                return link.send_message(text)
            except Exception:  # noqa: BLE001 - 'error' policy or closed: it waits in the log for the replay
                return False

    def acknowledge(self, seq: int) -> None:
        """The page has every message up to ``seq``: forget them. Thread-safe."""
        with self._lock:
            self._acknowledge_locked(seq)

    def _acknowledge_locked(self, seq: int) -> None:
        if seq <= self._acked:
            return
        self._acked = min(seq, self.next_seq - 1)
        freed = 0
        while self._entries and self._entries[0][0] <= self._acked:
            freed += len(self._entries.popleft()[1])
        self._release_locked(freed)

    def attach(self, link: Outbox, acked: int, welcome: Callable[[int], str]) -> None:
        """Make ``link`` the current connection: write ``welcome(first)`` to
        it, then every kept message after ``acked``, in order and before any
        later send. ``first`` is the first sequence number replayed or to
        come (a page that had fewer than ``first - 1`` messages missed some).
        Thread-safe."""
        with self._lock:
            self._link = None
            if self._closed:
                return
            self._acknowledge_locked(acked)
            start = self._entries[0][0] if self._entries else self.next_seq
            try:
                link.send_message(welcome(max(start, acked + 1)))
                for seq, text, _ in self._entries:
                    if seq > acked:
                        link.send_message(text)
            except Exception:  # noqa: BLE001 - the new link failed at once; the next reconnect replays
                return
            self._link = link

    def detach(self, link: Outbox) -> None:
        """``link`` closed: keep messages for the next one. Thread-safe."""
        with self._lock:
            if self._link is link:
                self._link = None

    def trim(self, now: float | None = None) -> None:
        """Forget messages past their age (and, over the server's total,
        the oldest). Thread-safe."""
        with self._lock:
            self._bound_locked(time.monotonic() if now is None else now)

    def clear(self) -> None:
        """Forget everything and keep nothing more: the session ended (a
        ``send`` racing with this, e.g. from a handler that has not yet seen
        ``Session.expired``, is dropped). Thread-safe."""
        with self._lock:
            self._closed = True
            self._link = None
            self._release_locked(self.bytes)
            self._entries.clear()

    def _bound_locked(self, now: float | None = None) -> None:
        entries = self._entries
        oldest = None if now is None else now - self.max_age
        freed = 0
        while entries and (
            len(entries) > self.max_messages or self.bytes - freed > self.max_bytes or self.budget.over()
            or (oldest is not None and entries[0][2] < oldest)
        ):
            seq, text, _ = entries.popleft()
            freed += len(text)
            if seq > self._acked:
                self.trimmed_unacked += 1
            if self.budget.over():  # release now, so the total falls as this loop goes
                self._release_locked(freed)
                freed = 0
        self._release_locked(freed)

    def _release_locked(self, freed: int) -> None:
        if freed:
            self.bytes -= freed
            self.budget.move(-freed)

    @property
    def size(self) -> tuple[int, int]:
        """(messages, bytes) kept now. Thread-safe (a moment old)."""
        return len(self._entries), self.bytes
