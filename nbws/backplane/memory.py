"""The in-process backplane (the default): no broker, no new dependency.

With no ``app_name`` (the default) a server shares nothing: today's
behaviour. Servers of this process started with the same ``app_name`` share
one :class:`Hub` — fan-out, logs and queues — which is how tests and a relay
running in the kernel's process use the interface without Redis. Everything
runs on the I/O thread (one per process), so the hub needs no lock.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from .base import Backplane, Entry, LogSlice, Receiver, gap, new_node_id, parse_id
from .wire import encode

__all__ = ["Hub", "MemoryBackplane"]


@dataclass
class _Group:
    delivered: int = 0  # the last entry number handed to a consumer
    pending: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (consumer, when)


@dataclass
class _Queue:
    entries: OrderedDict[str, bytes] = field(default_factory=OrderedDict)
    last: int = 0
    groups: dict[str, _Group] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    """What the nodes of one app share inside this process. I/O thread."""

    def __init__(self) -> None:
        self.nodes: dict[str, MemoryBackplane] = {}
        self.logs: dict[str, deque[tuple[int, bytes]]] = {}
        self.log_next: dict[str, int] = {}
        self.epochs: dict[str, str] = {}  # each log's epoch: made with its first entry
        self.queues: dict[str, _Queue] = {}
        self.values: dict[str, bytes] = {}


_hubs: dict[str, Hub] = {}


class MemoryBackplane(Backplane):
    """Fan-out, logs and queues between the servers of one app in this
    process. Every method runs on the I/O thread."""

    kind = "memory"

    def __init__(self, app: str | None, on_message: Receiver, log_length: int = 10_000,
                 queue_length: int = 100_000) -> None:
        super().__init__(app, on_message)
        self.log_length = log_length
        self.queue_length = queue_length
        self.hub = Hub() if app is None else _hubs.setdefault(app, Hub())
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def connected(self) -> bool:
        return True

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.app is not None:
            self.hub.nodes[self.node] = self

    async def stop(self) -> None:
        self.hub.nodes.pop(self.node, None)
        if self.app is not None and not self.hub.nodes:
            _hubs.pop(self.app, None)

    def publish(self, kind: str, name: str, data: str | bytes) -> None:
        others = [n for n in self.hub.nodes.values() if n is not self]
        raw = encode(self.node, self.next_seq(), kind, name, data)
        self.published += 1
        for node in others:
            node.arrive(raw)

    def send_to(self, node: str, kind: str, name: str, data: str | bytes) -> None:
        target = self.hub.nodes.get(node)
        raw = encode(self.node, self.next_direct(node), kind, name, data, direct=True)
        self.published += 1
        if target is not None and target is not self:
            target.arrive(raw)

    def arrive(self, raw: bytes) -> None:
        """Deliver ``raw`` soon (not inside the sender's call), in order."""
        if self._loop is not None:
            self._loop.call_soon(self.receive, raw)

    # -- logs --

    async def append(self, key: str, payload: bytes) -> str:
        entries = self.hub.logs.setdefault(key, deque())
        number = self.hub.log_next.get(key, 0) + 1
        self.hub.log_next[key] = number
        entries.append((number, payload))
        while len(entries) > self.log_length:
            entries.popleft()
        self.hub.epochs.setdefault(key, new_node_id())
        return f"0-{number}"

    async def append_with_epoch(self, key: str, payload: bytes) -> tuple[str, str]:
        entry_id = await self.append(key, payload)
        return entry_id, self.hub.epochs[key]

    async def read(self, key: str, after: str, limit: int) -> LogSlice:
        mark = parse_id(after)
        entries = self.hub.logs.get(key, deque())
        found = [Entry(f"0-{n}", p) for n, p in entries if (0, n) > mark][:limit]
        return LogSlice(tuple(found), gap(mark, found, f"0-{entries[-1][0]}" if entries else None),
                        self.hub.epochs.setdefault(key, new_node_id()))

    # -- values --

    async def put(self, key: str, value: bytes) -> None:
        self.hub.values[key] = value

    async def get(self, key: str) -> bytes | None:
        return self.hub.values.get(key)

    # -- queues --

    def _queue(self, queue: str) -> _Queue:
        return self.hub.queues.setdefault(queue, _Queue())

    async def enqueue(self, queue: str, payload: bytes) -> str:
        q = self._queue(queue)
        q.last += 1
        entry_id = f"{q.last}-0"
        q.entries[entry_id] = payload
        while len(q.entries) > self.queue_length:
            q.entries.popitem(last=False)
        q.arrived.set()
        return entry_id

    async def take(self, queue: str, group: str, consumer: str, count: int, block: float) -> list[Entry]:
        q = self._queue(queue)
        g = q.groups.setdefault(group, _Group())
        deadline = time.monotonic() + block
        while True:
            fresh = [(i, p) for i, p in q.entries.items() if parse_id(i)[0] > g.delivered][:count]
            left = deadline - time.monotonic()
            if fresh or left <= 0:
                break
            q.arrived.clear()
            try:
                await asyncio.wait_for(q.arrived.wait(), left)
            except asyncio.TimeoutError:
                pass
        now = time.monotonic()
        for entry_id, _ in fresh:
            g.delivered = parse_id(entry_id)[0]
            g.pending[entry_id] = (consumer, now)
        return [Entry(i, p) for i, p in fresh]

    async def ack(self, queue: str, group: str, ids: list[str]) -> int:
        g = self._queue(queue).groups.get(group)
        if g is None:
            return 0
        return sum(1 for i in ids if g.pending.pop(i, None) is not None)

    async def pending(self, queue: str, group: str, consumer: str, count: int) -> list[Entry]:
        q = self._queue(queue)
        g = q.groups.get(group)
        if g is None:
            return []
        mine = [i for i, (c, _) in g.pending.items() if c == consumer and i in q.entries]
        return [Entry(i, q.entries[i]) for i in mine[:count]]

    async def claim(self, queue: str, group: str, consumer: str, min_idle: float, count: int) -> list[Entry]:
        q = self._queue(queue)
        g = q.groups.get(group)
        if g is None:
            return []
        now = time.monotonic()
        idle = [i for i, (_, when) in g.pending.items() if now - when >= min_idle and i in q.entries][:count]
        for i in idle:
            g.pending[i] = (consumer, now)
        return [Entry(i, q.entries[i]) for i in idle]
