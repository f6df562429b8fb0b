"""The server-wide budget for unsent bytes (``max_total_send_buffer``).

Each WebSocket of a server charges its budget with what it holds for its peer:
messages queued for the I/O thread plus the asyncio transport's write buffer
(the memory that grows when a peer stops reading). While the total is within
the limit, only the per-peer ``send_buffer_size`` applies. Once a send would
take the total past the limit, the send-buffer policy applies to the peers
holding at least their fair share (limit / open WebSockets), so peers that keep
up keep getting data while the slow ones are closed, refused or dropped.

Thread-safety: a connection updates its own charge under its own lock. The
shared total has a small lock of its own, taken only when a connection's
charge moves by a whole :data:`QUANTUM` (charges are rounded down to it), so
small messages to peers that keep up never touch it. Reading the total takes
no lock; a sender may see a value a few updates old. The total undercounts by
less than one quantum per connection.
"""

from __future__ import annotations

import threading

__all__ = ["SendBudget", "QUANTUM"]

QUANTUM = 16 * 1024
"""Charges are rounded down to this many bytes."""


class SendBudget:
    """The unsent bytes of one server's WebSockets, against one limit. Thread-safe."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.total = 0
        """Bytes charged by the open connections (rounded down per connection)."""
        self.peers = 0
        """Open connections charging this budget."""
        self._lock = threading.Lock()

    def join(self) -> None:
        """A connection starts charging this budget. Thread-safe."""
        with self._lock:
            self.peers += 1

    def leave(self, charged: int) -> None:
        """A connection is gone; release what it had charged. Thread-safe."""
        with self._lock:
            self.peers -= 1
            self.total -= charged

    def move(self, delta: int) -> None:
        """Add ``delta`` (which may be negative) to the total. Thread-safe."""
        with self._lock:
            self.total += delta

    def share(self) -> int:
        """A peer's fair share of the limit: limit / open connections. Thread-safe."""
        return self.limit // max(1, self.peers)

    @staticmethod
    def rounded(pending: int) -> int:
        """What a connection holding ``pending`` bytes charges."""
        return pending - pending % QUANTUM

    def refuses(self, pending: int, size: int) -> bool:
        """True when ``size`` more bytes for a peer already holding
        ``pending`` must get the send-buffer policy: the total would pass the
        limit and the peer holds at least its fair share. Thread-safe."""
        return pending >= self.share() and self.total + size > self.limit
