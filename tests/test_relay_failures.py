"""``nbws relay`` when things go wrong, between real processes: a Redis of
the module's own (killed, restarted, made to refuse writes), one kernel
process (tests/relay_kernel.py; killed and started again) and two ``nbws
relay`` commands, shared by the module's tests (in file order: the kernel's
restart is last). Pages speak nbws.js's session protocol (tests/relay_pages.py).

What is checked is what users see: a Redis outage longer than the kernel's
relay timeout loses no answer (the session pages are told the log restarted) (and the announcement written last after it is
the newest); a Redis that answers with an error (OOM under
``maxmemory``) stops nothing; emits published while a relay's subscription
was cut reach its pages, every one, in order; a restarted kernel has its
pages reconnect instead of talking to nobody; a page that floods a relay
whose Redis is down is closed (1013) at the outbox's byte bound."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from nbws.relay.kernel import RELAY_TIMEOUT
from tests.brokers import RedisServer, redis_available
from tests.conftest import run
from tests.relay_pages import Kernel, Page, Relay
from tests.test_relay_processes import command, open_pages, stats_until, until

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs redis-server and redis-py")


@dataclass
class Hall:
    redis: RedisServer
    app: str
    kernel: Kernel
    relays: list[Relay] = field(default_factory=list)

    @property
    def urls(self) -> list[str]:
        return [r.url for r in self.relays]

    def client(self) -> Any:
        import redis

        return redis.Redis(port=self.redis.port, socket_timeout=5)


@pytest.fixture(scope="module")
def hall() -> Iterator[Hall]:
    """Redis, the kernel and two relays, for the module's tests (always stopped)."""
    with RedisServer() as server:
        app = "fail" + secrets.token_hex(4)
        hall = Hall(server, app, Kernel(app, server.url))
        try:
            hall.relays = [Relay(app, server.url) for _ in range(2)]
            yield hall
        finally:
            for relay in hall.relays:
                relay.stop()
            hall.kernel.stop()


def thanked(pages: list[Page], prefix: str) -> bool:
    return all(f"{prefix}-{k}" in p.plain_topic("thanks") for k, p in enumerate(pages))


async def closes(ws: Any) -> int | None:
    """Send 512 KiB messages until the relay closes the socket; its close code."""
    blob = json.dumps({"topic": "blob", "data": "y" * (512 * 1024)})
    try:
        for _ in range(200):
            await ws.send(blob)
        await asyncio.wait_for(ws.wait_closed(), 10)
    except (ConnectionClosed, asyncio.TimeoutError):
        pass
    return ws.close_code  # type: ignore[no-any-return]


def test_a_redis_outage_longer_than_the_relay_timeout_loses_no_answer(hall: Hall) -> None:
    async def main() -> None:
        pages = await open_pages(hall.urls, 10)
        flood = await connect(hall.relays[0].url.replace("http", "ws") + "_nbws/ws", max_size=None,
                              ping_interval=None)
        try:
            for k, p in enumerate(pages):
                await p.send("answer", {"id": f"up-{k}"})
            await until(lambda: thanked(pages, "up"), "the first answers", 30, pages)
            hall.redis.stop()
            for k, p in enumerate(pages):
                await p.send("answer", {"id": f"down-{k}"})  # they wait in the relays' outboxes
            # a page sending 512 KiB messages meanwhile: closed at the outbox's byte bound (16 MiB), not kept
            assert await closes(flood) == 1013
            await asyncio.sleep(RELAY_TIMEOUT + 2 - 1)  # the outage: longer than the kernel's relay timeout
            hall.redis.start()
            # Redis lost the log and its epoch: once resubscribed, each relay sees the log's new epoch and
            # closes its session pages (1012: the log restarted); they come back (as nbws.js does)
            await until(lambda: all(p.ws is None for p in pages), "the relays to close their session pages", 30,
                        pages)
            await asyncio.gather(*(p.reopen(p.url) for p in pages))
            await until(lambda: all(not p.unacked for p in pages), "the outboxes", 30, pages)
            # (a reply published before its relay resubscribed is lost, as pub/sub is: answers sent once
            # everyone listens again are thanked; those sent while Redis was down are handled once)
            client = hall.client()
            bus = f"nbws:{hall.app}:bus"
            await until(lambda: client.pubsub_numsub(bus)[0][1] == 3, "the kernel and relays to resubscribe")
            client.close()
            for k, p in enumerate(pages):
                await p.send("answer", {"id": f"after-{k}"})
            await until(lambda: thanked(pages, "after"), "every answer's thanks", 30, pages)
            stats = await stats_until(hall.kernel, lambda s: s["answers"] >= 30, "30 answers")
            assert stats["answers"] == stats["unique"] == 30, stats
            assert stats["kernel"]["orphans"] == 0, stats
        finally:
            await flood.close()
            await asyncio.gather(*(p.close() for p in pages))

    run(main, 120)


def test_an_error_reply_from_redis_stops_neither_the_relays_nor_the_kernel(hall: Hall) -> None:
    client = hall.client()

    def refusals() -> int:
        return int(client.info("errorstats").get("errorstat_OOM", {}).get("count", 0))

    async def main() -> None:
        pages = await open_pages(hall.urls, 2)
        try:
            before = refusals()
            client.config_set("maxmemory", "1")  # every write is refused with OOM (as MISCONF, READONLY ...)
            try:
                await pages[0].send("answer", {"id": "oom-0"})
                await command(hall.kernel, "emit 1 oom")
                await until(lambda: refusals() >= before + 2, "Redis to refuse the relay's and the kernel's write")
            finally:
                client.config_set("maxmemory", "0")
            await until(lambda: "oom-0" in pages[0].plain_topic("thanks")
                        and all([d["p"] for d in p.topic("m")] == ["oom"] for p in pages), "the recovery", 30, pages)
        finally:
            await asyncio.gather(*(p.close() for p in pages))

    try:
        run(main, 60)
    finally:
        client.close()


def test_emits_published_while_a_relays_subscription_was_cut_reach_its_pages(hall: Hall) -> None:
    client = hall.client()
    count = 3000

    async def main() -> None:
        pages = await open_pages(hall.urls, 10)
        try:
            await command(hall.kernel, f"emitslow {count}")  # one a millisecond
            for _ in range(3):
                mark = len(pages[0].numbered)
                await until(lambda m=mark: len(pages[0].numbered) >= m + 200, "the emits to flow", 30, pages)
                client.client_kill_filter(_type="pubsub")  # every subscription cut: a blip, an output limit
            await until(lambda: all(len(p.topic("m")) >= count for p in pages), "every emit on every page", 30,
                        pages)
            for p in pages:
                assert [d["i"] for d in p.topic("m")] == list(range(count)), "every one, in order, once"
                assert p.resyncs == [] and p.repeats == 0
        finally:
            await asyncio.gather(*(p.close() for p in pages))

    try:
        run(main, 90)
    finally:
        client.close()


def test_a_busy_kernel_takes_no_more_than_its_bound_and_redis_keeps_only_what_waits(hall: Hall) -> None:
    client = hall.client()
    queue = f"nbws:{hall.app}:q:relay-in"
    count, size = 60, 512 * 1024  # 30 MiB from one page while a cell runs; the kernel's bound is 16 MiB

    def pending() -> int:
        return int(client.xpending(queue, "kernel")["pending"])

    async def main() -> None:
        page = Page()
        await page.open(hall.urls[0])
        try:
            before = (await command(hall.kernel, "stats"))["blobs"]
            await command(hall.kernel, "block 12")  # the handler plane busy: a running cell
            for _ in range(count):
                await page.send("blob", "x" * size)
            await until(lambda: not page.unacked, "the relay to queue every message", 30, [page])
            await until(lambda: pending() >= 16 * 1024 * 1024 // size, "the kernel to take its share", 30)
            await asyncio.sleep(1)  # (an observation window: it takes no more)
            taken = pending()  # handed to the handler plane, not acknowledged until it takes them
            assert 16 * 1024 * 1024 // size <= taken <= 16 * 1024 * 1024 // size + 2, taken
            assert client.xlen(queue) >= count, "the rest waits in Redis"
            stats = await stats_until(hall.kernel, lambda s: s["blobs"] >= before + count, "the blobs handled")
            assert stats["blobs"] == before + count and stats["kernel"]["waiting_bytes"] == 0, stats
            await until(lambda: client.xlen(queue) == 0, "the handled entries to be deleted from Redis", 30)
        finally:
            await page.close()

    try:
        run(main, 90)
    finally:
        client.close()


def test_the_newest_announcement_is_stored_last_after_an_outage(hall: Hall) -> None:
    import nbws
    from nbws.relay.wire import decode_announcement

    client = hall.client()
    app = "ann" + secrets.token_hex(4)

    def plots() -> list[str] | None:
        raw = client.get(f"nbws:{app}:kv:relay:announce")
        found = decode_announcement(raw, None, app) if raw else None
        return sorted(found.plots) if found else None

    async def main() -> None:
        server = nbws.start_server(app=nbws.App(), app_name=app, backplane=hall.redis.url, ping_interval=None)
        try:
            hall.redis.stop()
            nbws.LivePlot("a", server=server)
            await asyncio.sleep(4)  # the outage: the first announcement's retries back off meanwhile
            nbws.LivePlot("b", server=server)
            await asyncio.sleep(0.3)
            hall.redis.start()
            await until(lambda: plots() == ["a", "b"], "the announcement with both plots", 30)
            await asyncio.sleep(2.5)  # (an observation window: no older announcement overwrites it)
            assert plots() == ["a", "b"]
        finally:
            server.stop()

    try:
        run(main, 60)
    finally:
        client.close()


def test_a_restarted_kernel_has_the_pages_reconnect_and_handles_their_answers(hall: Hall) -> None:
    async def main() -> None:
        pages = await open_pages(hall.urls, 6)
        try:
            for k, p in enumerate(pages):
                await p.send("answer", {"id": f"old-{k}"})
            await until(lambda: thanked(pages, "old"), "the old kernel's thanks", 30, pages)
            hall.kernel.process.kill()
            hall.kernel.stop()
            hall.kernel = Kernel(hall.app, hall.redis.url)
            await until(lambda: all(p.ws is None for p in pages), "the relays to close the pages (1012)", 30, pages)
            await asyncio.gather(*(p.reopen(p.url) for p in pages))
            for k, p in enumerate(pages):
                await p.send("answer", {"id": f"new-{k}"})
            await until(lambda: thanked(pages, "new"), "the new kernel's thanks", 30, pages)
            stats = await stats_until(hall.kernel, lambda s: s["answers"] >= 6, "6 answers")
            assert stats["answers"] == stats["unique"] == 6, stats
        finally:
            await asyncio.gather(*(p.close() for p in pages))

    run(main, 90)
