"""The Redis backplane (``backplane="redis://host:6379/0"``, extra ``nbws[redis]``).

Fan-out is Redis pub/sub on one channel per app (``nbws:{app}:bus``) and one
per node (``nbws:{app}:node:{id}``, :meth:`send_to`); logs and queues are
Redis Streams (``nbws:{app}:log:{key}``, ``nbws:{app}:q:{name}``: ``XADD``
with ``MAXLEN ~``, ``XRANGE``, consumer groups with ``XREADGROUP`` /
``XACK`` / ``XAUTOCLAIM``); values are plain keys (``nbws:{app}:kv:{key}``). redis-py's asyncio client, on the I/O thread.

The failure policy (the README's "Past one process"):

* ``publish`` never blocks and never raises: it appends to this node's
  outgoing buffer, which one task writes to Redis in pipelined batches.
  While Redis is unreachable the buffer keeps the newest
  ``backplane_buffer_messages`` messages / ``backplane_buffer_bytes`` bytes;
  past either bound the oldest are dropped and counted (``dropped``). A batch
  whose write broke is kept and written again (receivers skip what already
  arrived, by its number), so nothing is lost *in the publisher* inside the
  bound.
* After a reconnect the publisher waits up to ``backplane_resume_wait``
  seconds for as many subscribers as its last publish reached (``PUBSUB
  NUMSUB``) before it sends what it buffered, so nodes that resubscribe
  within that time get it all.
* The subscriber reconnects with exponential backoff (50 ms doubling to
  5 s, with jitter) and resubscribes. Pub/sub keeps nothing: what was
  published while a node was not subscribed is lost to that node, and it
  counts how much (``missed``, from the gap in the sender's numbering).
* Each log has an epoch, a random id under ``nbws:{app}:epoch:{key}``, made
  by the first read or append that finds none — so it exists before a page
  numbers anything from the log, and is made anew when Redis lost both (a
  restart without persistence): a reader can tell a new log that grew past
  its position from the one it read. (nbws's keys have no expiry: with a
  ``maxmemory`` policy Redis must not evict them — ``noeviction`` or a
  ``volatile-*`` policy.)
* Logs and queues live in Redis: a Redis restarted without persistence has
  none of them (an app that needs them across restarts runs Redis with AOF).
  Their awaitable calls raise :class:`~nbws.BackplaneUnavailableError` while
  Redis is down.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ..errors import BackplaneUnavailableError
from .base import Backplane, Entry, LogSlice, Receiver, gap, key_prefix, new_node_id, parse_id
from .wire import encode

__all__ = ["RedisBackplane", "redacted"]

log = logging.getLogger("nbws")
BATCH = 512
"""Most messages written in one pipeline."""
START_TIMEOUT = 5.0
"""Seconds :meth:`RedisBackplane.start` waits for the subscription."""
MAX_BLOCK = 5.0
"""Longest wait of one :meth:`RedisBackplane.take` (below the socket timeout)."""
APPEND = """
redis.call('SET', KEYS[2], ARGV[3], 'NX')
return {redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '0-*', 'd', ARGV[2]), redis.call('GET', KEYS[2])}
"""
"""Append to a log and return (id, epoch), the epoch made first if there is none (one atomic step)."""


def redacted(url: str) -> str:
    """``url`` without its password. Pure."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


def _errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError, asyncio.TimeoutError)


class RedisBackplane(Backplane):
    """One node's connection to Redis. Every method runs on the I/O thread."""

    kind = "redis"

    def __init__(self, url: str, app: str, on_message: Receiver, *, buffer_messages: int = 10_000,
                 buffer_bytes: int = 16 * 1024 * 1024, log_length: int = 10_000, queue_length: int = 100_000,
                 resume_wait: float = 2.0) -> None:
        super().__init__(app, on_message)
        self.url = url
        self.buffer_messages = buffer_messages
        self.buffer_bytes = buffer_bytes
        self.log_length = log_length
        self.queue_length = queue_length
        self.resume_wait = resume_wait
        prefix = key_prefix(app)
        self.prefix = prefix
        self.bus = f"{prefix}bus".encode()
        self.direct = f"{prefix}node:{self.node}".encode()
        self._out: deque[tuple[bytes, bytes]] = deque()  # (channel, envelope) waiting for Redis
        self._out_bytes = 0
        self._inflight = (0, 0)  # (messages, bytes) being written now
        self._wake = asyncio.Event()
        self._subscribed = asyncio.Event()
        self._sub_ok = False
        self._pub_ok = True
        self._stopping = False
        self._audience = 1  # subscribers the last publish on the bus reached (this node's own included)
        self._groups: set[tuple[str, str]] = set()
        self._client: Any = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def connected(self) -> bool:
        return self._sub_ok and self._pub_ok

    @property
    def buffered(self) -> tuple[int, int]:
        return len(self._out) + self._inflight[0], self._out_bytes + self._inflight[1]

    async def start(self) -> None:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff

        self._client = Redis.from_url(self.url, socket_connect_timeout=2.0, socket_timeout=MAX_BLOCK + 5.0,
                                      retry=Retry(NoBackoff(), 0), health_check_interval=10)
        try:
            await self._client.ping()
        except _errors() as exc:
            await self._client.aclose()
            raise BackplaneUnavailableError(redacted(self.url), str(exc) or type(exc).__name__) from None
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._subscriber()), loop.create_task(self._publisher())]
        try:
            await asyncio.wait_for(self._subscribed.wait(), START_TIMEOUT)
        except asyncio.TimeoutError:
            await self.stop()
            raise BackplaneUnavailableError(redacted(self.url), "no subscription within "
                                            f"{START_TIMEOUT:g} s") from None

    async def stop(self) -> None:
        """Write what is buffered (for at most a second), then disconnect."""
        self._stopping = True
        self._wake.set()
        if self._tasks:
            publisher = self._tasks[1]
            try:
                await asyncio.wait_for(asyncio.shield(publisher), 1.0)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # -- fan-out --

    def publish(self, kind: str, name: str, data: str | bytes) -> None:
        self._queue(self.bus, encode(self.node, self.next_seq(), kind, name, data))

    def send_to(self, node: str, kind: str, name: str, data: str | bytes) -> None:
        self._queue(f"{self.prefix}node:{node}".encode(),
                    encode(self.node, self.next_direct(node), kind, name, data, direct=True))

    def _queue(self, channel: bytes, raw: bytes) -> None:
        self._out.append((channel, raw))
        self._out_bytes += len(raw)
        self._bound()
        self._wake.set()

    def _bound(self) -> None:
        out = self._out
        while len(out) > self.buffer_messages or (self._out_bytes > self.buffer_bytes and len(out) > 1):
            self._out_bytes -= len(out.popleft()[1])
            self.dropped += 1

    async def _publisher(self) -> None:
        errors = _errors()
        while True:
            if not self._out:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._out.popleft() for _ in range(min(BATCH, len(self._out)))]
            size = sum(len(raw) for _, raw in batch)
            self._out_bytes -= size
            self._inflight = (len(batch), size)
            try:
                pipe = self._client.pipeline(transaction=False)
                for channel, raw in batch:
                    pipe.publish(channel, raw)
                reached = await pipe.execute()
            except errors as exc:
                self._inflight = (0, 0)
                self._out.extendleft(reversed(batch))  # kept, in order; the bound drops the oldest
                self._out_bytes += size
                self._bound()
                if self._stopping:
                    return
                self._pub_ok = False
                log.warning("nbws: the backplane's publisher lost %s (%s); buffering up to %d messages",
                            redacted(self.url), exc, self.buffer_messages)
                await self._reconnect()
                continue
            self._inflight = (0, 0)
            self.published += len(batch)
            for (channel, _), count in zip(batch, reached, strict=True):
                if channel == self.bus and isinstance(count, int):
                    self._audience = count

    async def _reconnect(self) -> None:
        """Wait (with backoff) until Redis answers, then up to ``resume_wait``
        for the subscribers the bus had before."""
        errors = _errors()
        delay = 0.05
        while not self._stopping:
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            try:
                await self._client.ping()
                break
            except errors:
                delay = min(5.0, delay * 2)
        deadline = time.monotonic() + self.resume_wait
        while not self._stopping and time.monotonic() < deadline:
            try:
                numsub = await self._client.pubsub_numsub(self.bus)
                if numsub and numsub[0][1] >= self._audience:
                    break
            except errors:
                # not a reason to stop waiting: right after a restart the pool still hands out
                # connections to the old server (each fails once); the wait is bounded anyway
                pass
            await asyncio.sleep(0.05)
        self._pub_ok = True
        log.info("nbws: the backplane's publisher is back on %s", redacted(self.url))

    async def _subscriber(self) -> None:
        errors = _errors()
        delay = 0.05
        first = True
        while not self._stopping:
            pubsub = self._client.pubsub()
            try:
                await pubsub.subscribe(self.bus, self.direct)
                confirmed = 0
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        continue
                    kind = message.get("type")
                    if kind == "message":
                        self.receive(message.get("data"))
                    elif kind == "subscribe":
                        confirmed += 1
                        if confirmed == 2:
                            self._sub_ok, delay = True, 0.05
                            self._subscribed.set()
                            if not first:
                                self.reconnects += 1
                                log.info("nbws: the backplane resubscribed on %s", redacted(self.url))
                            first = False
            except errors as exc:
                if self._sub_ok:
                    log.warning("nbws: the backplane lost its subscription on %s (%s); reconnecting",
                                redacted(self.url), exc)
                self._sub_ok = False
            finally:
                try:
                    await pubsub.aclose()
                except errors:
                    pass
            if not self._stopping:
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(5.0, delay * 2)

    # -- logs --

    async def _call(self, fn: Any) -> Any:
        try:
            return await fn()
        except _errors() as exc:
            from redis.exceptions import ResponseError

            if isinstance(exc, ResponseError):
                raise
            raise BackplaneUnavailableError(redacted(self.url), str(exc) or type(exc).__name__) from None

    async def append(self, key: str, payload: bytes) -> str:
        return (await self.append_with_epoch(key, payload))[0]

    async def append_with_epoch(self, key: str, payload: bytes) -> tuple[str, str]:
        # "0-*": Redis numbers the entries of one log 0-1, 0-2, 0-3 ... (consecutive), so a
        # reader can tell from the first id it gets whether entries were trimmed before it read
        name, mark = f"{self.prefix}log:{key}", f"{self.prefix}epoch:{key}"
        entry_id, epoch = await self._call(lambda: self._client.eval(APPEND, 2, name, mark, self.log_length,
                                                                      payload, new_node_id()))
        return _text(entry_id), _text(epoch)

    async def read(self, key: str, after: str, limit: int) -> LogSlice:
        name = f"{self.prefix}log:{key}"
        mark = parse_id(after)

        async def both() -> Any:
            pipe = self._client.pipeline(transaction=True)  # the entries, the newest and the epoch of one log
            pipe.xrange(name, min=f"({mark[0]}-{mark[1]}", max="+", count=limit)
            pipe.xrevrange(name, max="+", min="-", count=1)
            pipe.set(f"{self.prefix}epoch:{key}", new_node_id(), nx=True)  # made on first sight
            pipe.get(f"{self.prefix}epoch:{key}")
            return await pipe.execute()

        found, last, _, epoch = await self._call(both)
        entries = self._entries(found)
        newest = self._entries(last)
        return LogSlice(tuple(entries), gap(mark, entries, newest[0].id if newest else None),
                        _text(epoch) if epoch else "")

    def _entries(self, rows: Any) -> list[Entry]:
        """Entries from an XRANGE / XREADGROUP answer; malformed rows (a
        deleted entry, a foreign writer) are counted as bad and skipped."""
        entries = []
        for row in rows or ():
            try:
                entry_id, fields = row
                payload = fields[b"d"]
                if not isinstance(payload, bytes):
                    raise TypeError(payload)
                entries.append(Entry(_text(entry_id), payload))
            except (TypeError, ValueError, KeyError, IndexError):
                self.bad += 1
        return entries

    # -- values --

    async def put(self, key: str, value: bytes) -> None:
        name = f"{self.prefix}kv:{key}"
        await self._call(lambda: self._client.set(name, value))

    async def get(self, key: str) -> bytes | None:
        name = f"{self.prefix}kv:{key}"
        value = await self._call(lambda: self._client.get(name))
        return value if isinstance(value, bytes) else None

    # -- queues --

    async def _group(self, name: str, group: str) -> None:
        from redis.exceptions import ResponseError

        if (name, group) in self._groups:
            return
        try:
            await self._call(lambda: self._client.xgroup_create(name, group, id="0", mkstream=True))
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._groups.add((name, group))

    async def _grouped(self, name: str, group: str, fn: Any) -> Any:
        """``fn()`` on a consumer group, recreated once if Redis lost it (a restart)."""
        from redis.exceptions import ResponseError

        await self._group(name, group)
        try:
            return await self._call(fn)
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._groups.discard((name, group))
            await self._group(name, group)
            return await self._call(fn)

    async def enqueue(self, queue: str, payload: bytes) -> str:
        name = f"{self.prefix}q:{queue}"
        entry_id = await self._call(lambda: self._client.xadd(name, {b"d": payload}, maxlen=self.queue_length,
                                                               approximate=True))
        return _text(entry_id)

    async def take(self, queue: str, group: str, consumer: str, count: int, block: float) -> list[Entry]:
        name = f"{self.prefix}q:{queue}"
        wait = int(min(max(block, 0.0), MAX_BLOCK) * 1000)
        answer = await self._grouped(name, group, lambda: self._client.xreadgroup(
            group, consumer, {name: ">"}, count=count, block=wait if wait > 0 else None))
        return self._entries(_stream_rows(answer))

    async def ack(self, queue: str, group: str, ids: list[str]) -> int:
        if not ids:
            return 0
        name = f"{self.prefix}q:{queue}"
        return int(await self._grouped(name, group, lambda: self._client.xack(name, group, *ids)))

    async def pending(self, queue: str, group: str, consumer: str, count: int) -> list[Entry]:
        name = f"{self.prefix}q:{queue}"
        answer = await self._grouped(name, group, lambda: self._client.xreadgroup(
            group, consumer, {name: "0"}, count=count))
        return [e for e in self._entries([r for r in _stream_rows(answer) if r and r[1]])]

    async def claim(self, queue: str, group: str, consumer: str, min_idle: float, count: int) -> list[Entry]:
        name = f"{self.prefix}q:{queue}"
        answer = await self._grouped(name, group, lambda: self._client.xautoclaim(
            name, group, consumer, min_idle_time=int(min_idle * 1000), start_id="0-0", count=count))
        rows = answer[1] if isinstance(answer, (list, tuple)) and len(answer) > 1 else []
        return self._entries([r for r in rows if r and r[1]])


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _stream_rows(answer: Any) -> list[Any]:
    """The rows of the one stream in an XREADGROUP answer (a list or, RESP3, a dict)."""
    if not answer:
        return []
    if isinstance(answer, dict):
        return [row for rows in answer.values() for row in (rows[0] if rows and isinstance(rows[0], list)
                                                            else rows)]
    return list(answer[0][1])
