"""Which connections a server holds, and which it may close to make room.

At ``max_connections`` a server closes the connections that are cheapest to
lose before it refuses anyone (as nginx reuses keep-alive connections): first
those that have not sent a complete request head, oldest first, then idle
HTTP keep-alive connections, oldest first. WebSockets and requests in
progress are never closed for a newcomer; only when nothing can be reclaimed
does the newcomer get 503. One client address may hold at most
``max_pending_per_address`` connections without a request head; past it the
address's oldest one (older than ``pending_grace``) is reclaimed, so a flood
from one address evicts only its own sockets.

:class:`ConnectionTable` is bookkeeping only (no sockets): the caller closes
the victims it names. Every operation is O(1) amortised: insertion-ordered
dicts per phase, kept as each connection changes phase. It runs on the I/O
thread; its counters may be read from any thread. The age-ordered sets are
OrderedDicts: taking the oldest entry of a plain dict again and again scans
the holes its deletions left (O(n) per step until the next resize; 20 µs per
step at 65,536 entries against 0.4 µs).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["Admission", "ConnectionStats", "ConnectionTable"]

C = TypeVar("C", bound=Hashable)

_PENDING, _IDLE, _BUSY = "pending", "idle", "busy"


@dataclass(frozen=True)
class ConnectionStats:
    """A server's connection counts (``Server.connection_stats()``).

    Attributes:
        open: connections held now (HTTP and WebSocket).
        pending: of those, connections that have not sent a complete request head.
        idle: of those, HTTP keep-alive connections waiting for their next request.
        reclaimed: connections closed so far to make room (at ``max_connections``,
            or past ``max_pending_per_address``).
        refused: newcomers answered 503 so far because nothing could be reclaimed.
    """

    open: int
    pending: int
    idle: int
    reclaimed: int
    refused: int


@dataclass(frozen=True)
class Admission(Generic[C]):
    """What :meth:`ConnectionTable.arrive` decided: whether the newcomer is
    admitted, and the connections to close to make room for it."""

    admitted: bool
    victims: tuple[C, ...]


class ConnectionTable(Generic[C]):
    """The phases of a server's connections and the reclaim rules.

    Runs on the I/O thread (pure bookkeeping; the caller closes victims)."""

    def __init__(self, limit: int, per_address: int | None, grace: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.per_address = per_address
        self.grace = grace
        self.clock = clock
        self._phase: dict[C, str] = {}
        self._address: dict[C, str] = {}
        self._pending: OrderedDict[C, float] = OrderedDict()  # insertion order = age
        self._idle: OrderedDict[C, None] = OrderedDict()
        self._by_address: dict[str, OrderedDict[C, float]] = {}
        self.reclaimed = 0
        self.refused = 0

    def __len__(self) -> int:
        return len(self._phase)

    def stats(self) -> ConnectionStats:
        """The counts now. Thread-safe (each count is one atomic read)."""
        return ConnectionStats(len(self._phase), len(self._pending), len(self._idle), self.reclaimed, self.refused)

    def arrive(self, conn: C, address: str) -> Admission[C]:
        """A new connection from ``address`` ('' when it has none, as on a
        Unix socket). Returns whether it is admitted (as a connection waiting
        for its request head) and which connections to close first."""
        victims: list[C] = []
        now = self.clock()
        bucket = self._by_address.get(address) if address and self.per_address is not None else None
        if bucket is not None and self.per_address is not None:
            while len(bucket) >= self.per_address:
                oldest, since = next(iter(bucket.items()))
                if now - since < self.grace:
                    break  # a burst through one proxy: let it send its heads
                self._reclaim(oldest, victims)
        if len(self._phase) >= self.limit:
            victim = next(iter(self._pending), None)
            if victim is None:
                victim = next(iter(self._idle), None)
            if victim is None:
                self.refused += 1
                return Admission(False, tuple(victims))
            self._reclaim(victim, victims)
        self._phase[conn] = _PENDING
        self._address[conn] = address
        self._add_pending(conn, now)
        return Admission(True, tuple(victims))

    def busy(self, conn: C) -> None:
        """A complete request head arrived (so also when the connection
        becomes a WebSocket): never reclaimed until :meth:`next_request`."""
        phase = self._phase.get(conn)
        if phase == _PENDING:
            self._drop_pending(conn)
        elif phase == _IDLE:
            del self._idle[conn]
        else:
            return
        self._phase[conn] = _BUSY

    def next_request(self, conn: C, started: bool) -> None:
        """A busy connection's response is complete and it waits for its next
        request (HTTP keep-alive): idle, or waiting for a head when bytes of
        the next request are ``started`` already."""
        if self._phase.get(conn) != _BUSY:
            return
        if started:
            self._phase[conn] = _PENDING
            self._add_pending(conn, self.clock())
        else:
            self._phase[conn] = _IDLE
            self._idle[conn] = None

    def waiting(self, conn: C) -> None:
        """Bytes arrived on a connection. An idle keep-alive one has started
        its next request: it waits for a complete head again (as the newest).
        Other phases are unchanged."""
        if self._phase.get(conn) == _IDLE:
            del self._idle[conn]
            self._phase[conn] = _PENDING
            self._add_pending(conn, self.clock())

    def leave(self, conn: C) -> None:
        """The connection is closed (by anyone). Idempotent."""
        phase = self._phase.pop(conn, None)
        if phase == _PENDING:
            self._drop_pending(conn)
        elif phase == _IDLE:
            del self._idle[conn]
        self._address.pop(conn, None)

    # ------------------------------------------------------------- internals

    def _add_pending(self, conn: C, now: float) -> None:
        self._pending[conn] = now
        address = self._address[conn]
        if address:
            bucket = self._by_address.get(address)
            if bucket is None:
                bucket = self._by_address[address] = OrderedDict()
            bucket[conn] = now

    def _drop_pending(self, conn: C) -> None:
        del self._pending[conn]
        address = self._address.get(conn, "")
        bucket = self._by_address.get(address)
        if bucket is not None:
            bucket.pop(conn, None)
            if not bucket:
                del self._by_address[address]

    def _reclaim(self, conn: C, victims: list[C]) -> None:
        self.leave(conn)
        self.reclaimed += 1
        victims.append(conn)
