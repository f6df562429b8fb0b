"""A kernel's books on what it takes from the relays' queue: how much waits
for the handler plane (:class:`Ledger`: it stops taking past a bound, and an
entry is acknowledged once the handler plane has dequeued it), and which
messages were handled (:class:`Keys`: idempotency keys, kept while a socket
uses them and for a grace after). Runs on the I/O thread.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque

__all__ = ["Ledger", "Keys", "RECORD_BYTES", "MAX_WAITING"]

Where = tuple[str, str]
"""(relay, connection): one remote socket."""
RECORD_BYTES = 1024 * 1024
"""What one record is assumed to weigh when deciding how many to take at
once (a relay's default ``max_message_size``), so one take passes the byte
bound by little."""
MAX_WAITING = 10_000
"""Most remote messages waiting for the handler plane at once."""


class Ledger:
    """Remote messages handed to the handler plane and not yet dequeued there. I/O thread."""

    def __init__(self, limit_bytes: int, batch: int) -> None:
        self.limit_bytes = limit_bytes
        self.batch = batch
        self.waiting_bytes = 0
        self.waiting = 0
        self._by_socket: dict[Where, deque[tuple[str, int]]] = {}
        self._done: list[str] = []
        self._room = asyncio.Event()

    def room(self) -> int:
        """How many entries to take now (0: wait for :meth:`wait_room`)."""
        free_bytes = self.limit_bytes - self.waiting_bytes
        free = MAX_WAITING - self.waiting
        if free_bytes <= 0 or free <= 0:
            return 0
        return max(1, min(self.batch, free, free_bytes // RECORD_BYTES))

    async def wait_room(self, timeout: float) -> None:
        """Until the handler plane dequeued something (at most ``timeout`` seconds)."""
        self._room.clear()
        try:
            await asyncio.wait_for(self._room.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def handed(self, where: Where, entry_id: str, size: int) -> None:
        """The entry ``entry_id``'s message (``size`` bytes) went to the handler plane for ``where``."""
        self._by_socket.setdefault(where, deque()).append((entry_id, size))
        self.waiting += 1
        self.waiting_bytes += size

    def handled(self, where: Where) -> None:
        """The handler plane dequeued ``where``'s oldest message (in order): its entry may be acknowledged."""
        queue = self._by_socket.get(where)
        if not queue:
            return  # the socket closed meanwhile (released then)
        entry_id, size = queue.popleft()
        if not queue:
            del self._by_socket[where]
        self._release(entry_id, size)

    def closed(self, where: Where) -> None:
        """``where`` closed: what it still had waiting is released (its entries acknowledged)."""
        for entry_id, size in self._by_socket.pop(where, ()):
            self._release(entry_id, size)

    def _release(self, entry_id: str, size: int) -> None:
        self.waiting -= 1
        self.waiting_bytes -= size
        self._done.append(entry_id)
        self._room.set()

    def done(self) -> list[str]:
        """Entries to acknowledge now (each once)."""
        done, self._done = self._done, []
        return done


class Keys:
    """Idempotency keys: the last number handled per key. A key is kept while
    a socket uses it; once none does, a plain socket's key goes at once (it is
    never sent again: only a session page resends, through another relay),
    and a session's stays for ``grace`` seconds (its page may come back and
    send again what was not acknowledged), the oldest first past ``cap``. I/O thread."""

    def __init__(self, grace: float, cap: int) -> None:
        self.grace = grace
        self.cap = cap
        self.seen: dict[str, int] = {}
        self._key_of: dict[Where, str] = {}
        self._users: dict[str, int] = {}
        self._idle: OrderedDict[str, float] = OrderedDict()

    def repeat(self, key: str, n: int) -> bool:
        """True when message ``n`` of ``key`` was handled before."""
        last = self.seen.get(key)
        return last is not None and n <= last

    def mark(self, key: str, n: int, where: Where) -> None:
        """Message ``n`` of ``key`` is handled, from the socket ``where``."""
        self.seen[key] = n
        if self._key_of.get(where) != key:
            self._forget_socket(where, plain=False)
            self._key_of[where] = key
            self._users[key] = self._users.get(key, 0) + 1
            self._idle.pop(key, None)

    def closed(self, where: Where) -> None:
        """The socket ``where`` closed (``relay:conn`` is a plain socket's key)."""
        self._forget_socket(where, plain=True)

    def _forget_socket(self, where: Where, plain: bool) -> None:
        key = self._key_of.pop(where, None)
        if key is None:
            return
        users = self._users.get(key, 1) - 1
        if users > 0:
            self._users[key] = users
            return
        self._users.pop(key, None)
        if plain and key == f"{where[0]}:{where[1]}":
            self.seen.pop(key, None)
        else:
            self._idle[key] = time.monotonic()
            self.sweep()

    def sweep(self) -> None:
        """Forget the keys no socket used for ``grace`` seconds, and the oldest past ``cap``."""
        deadline = time.monotonic() - self.grace
        idle = self._idle
        while idle and (len(idle) > self.cap or next(iter(idle.values())) < deadline):
            key, _ = idle.popitem(last=False)
            self.seen.pop(key, None)
