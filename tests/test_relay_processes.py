"""``nbws relay`` between real processes: one kernel (a plain publisher
process, tests/relay_kernel.py, not a Jupyter kernel), three ``python -m nbws
relay`` commands on a real Redis, and 1,000 pages (the ``websockets`` library
speaking nbws.js's session protocol, tests/relay_pages.py) spread over the
relays. Emits and broadcasts reach every page once; plot frames reach pages
on every relay and a late joiner gets the history; 1,000 answers reach the
kernel's handler exactly once; a relay killed mid-stream loses its pages to
the others, which replay what they missed, in order, none twice; a Redis
restart loses what the documented policy says, and the pages are told."""

from __future__ import annotations

import asyncio
import secrets
import struct
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.brokers import RedisServer, redis_available
from tests.conftest import http_request, run
from tests.relay_pages import Kernel, Page, Relay

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs redis-server and redis-py")
PAGES = 1000


@pytest.fixture(scope="module")
def hall(redis_url: str) -> Iterator[tuple[Kernel, list[Relay]]]:
    """The app's kernel and three relays, shared by the module's tests."""
    app = "hall" + secrets.token_hex(4)
    kernel = Kernel(app, redis_url)
    relays: list[Relay] = []
    try:
        for _ in range(3):
            relays.append(Relay(app, redis_url))
        yield kernel, relays
    finally:
        for relay in relays:
            relay.stop()
        kernel.stop()


async def until(predicate: Callable[[], object], what: str, timeout: float = 60.0,
                pages: list[Page] | None = None) -> None:
    """Yield until ``predicate()`` holds (bounded); on a timeout, say how the pages stand."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() >= deadline:
            states = sorted({(p.url, p.ws is None, len(p.numbered), len(p.unacked), tuple(p.resyncs))
                             for p in pages or []})[:10]
            raise AssertionError(f"timed out waiting for {what}: {states}")
        await asyncio.sleep(0.02)


async def command(node: Kernel, line: str) -> dict[str, Any]:
    return await asyncio.to_thread(node.command, line)


async def stats_until(kernel: Kernel, predicate: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
    for _ in range(300):
        stats = await command(kernel, "stats")
        if predicate(stats):
            return stats
        await asyncio.sleep(0.1)
    raise AssertionError(f"the kernel never saw {what}: {stats}")


async def open_pages(urls: list[str], count: int) -> list[Page]:
    pages = [Page() for _ in range(count)]
    for start in range(0, count, 100):
        await asyncio.gather(*(p.open(urls[i % len(urls)]) for i, p in enumerate(pages[start:start + 100], start)))
    return pages


def xs(frame: bytes) -> list[float]:
    """The x values of a plot frame (``NBLP`` chunks)."""
    found: list[float] = []
    at = 0
    while at < len(frame):
        assert frame[at:at + 4] == b"NBLP"
        count = struct.unpack_from("<I", frame, at + 8)[0]
        found += struct.unpack_from(f"<{count}d", frame, at + 12)
        at += 12 + 16 * count
    return found


def test_plot_frames_reach_pages_on_every_relay_and_a_late_page_gets_the_history(
        hall: tuple[Kernel, list[Relay]]) -> None:
    kernel, relays = hall

    async def main() -> None:
        await command(kernel, "plot 1 10")
        for relay in relays:
            status, _, body = await http_request(int(relay.url.rsplit(":", 1)[1].strip("/")), path="/live/loss/")
            assert status == 200 and b"liveplot" in body, "the relay serves the plot's page"
        socks = [await connect(r.url.replace("http", "ws") + "live/loss/ws", max_size=None) for r in relays
                 for _ in range(2)]
        try:
            for ws in socks:
                assert '"meta"' in str(await asyncio.wait_for(ws.recv(), 10))
                assert xs(bytes(await asyncio.wait_for(ws.recv(), 10))) == [1.0]  # the kernel's history
            await command(kernel, "plot 2 20")
            for ws in socks:
                assert xs(bytes(await asyncio.wait_for(ws.recv(), 10))) == [2.0]  # the live frame, on every relay
            late = await connect(relays[2].url.replace("http", "ws") + "live/loss/ws", max_size=None)
            socks.append(late)
            assert '"meta"' in str(await asyncio.wait_for(late.recv(), 10))
            seen = xs(bytes(await asyncio.wait_for(late.recv(), 10)))
            while seen != [1.0, 2.0]:
                seen += xs(bytes(await asyncio.wait_for(late.recv(), 10)))
                assert len(seen) <= 2
        finally:
            for ws in socks:
                await ws.close()

    run(main, 60)


def test_a_thousand_pages_over_three_relays_get_everything_once_and_resume_when_a_relay_dies(
        hall: tuple[Kernel, list[Relay]]) -> None:
    kernel, relays = hall
    urls = [r.url for r in relays]

    async def main() -> None:
        pages = await open_pages(urls, PAGES)
        try:
            # an emit reaches every page once, numbered, in order; a broadcast every page once
            await command(kernel, "emit 20 a")
            await command(kernel, "broadcast hello-all")
            await until(lambda: all(len(p.topic("m")) >= 20 and "hello-all" in p.plain for p in pages), "the emits", pages=pages)
            for p in pages:
                assert [d["i"] for d in p.topic("m") if d["p"] == "a"] == list(range(20))
                assert p.plain.count("hello-all") == 1 and p.repeats == 0 and p.resyncs == []

            # 1,000 answers, one per page: the kernel's handler sees each exactly once
            for k, p in enumerate(pages):
                await p.send("answer", {"id": f"first-{k}"})
            await until(lambda: all(p.plain_topic("thanks") for p in pages), "the kernel's thanks", pages=pages)
            stats = await stats_until(kernel, lambda s: s["answers"] >= PAGES, "1,000 answers")
            assert stats["answers"] == stats["unique"] == PAGES, stats
            assert all(not p.unacked for p in pages), "every answer was acknowledged once queued"

            # kill a relay mid-stream: its pages resume on the others and miss nothing
            doomed = [p for p in pages if p.url == urls[0]]
            for k, p in enumerate(doomed):  # answers in flight when it dies (some not yet acknowledged)
                await p.send("answer", {"id": f"second-{k}"})
            await command(kernel, "emit 100 b")
            relays[0].kill()
            await until(lambda: all(p.ws is None for p in doomed), "the dead relay's pages to notice", pages=doomed)
            await command(kernel, "emit 100 c")  # while they are away
            await asyncio.gather(*(p.reopen(urls[1 + k % 2]) for k, p in enumerate(doomed)))
            await command(kernel, "emit 50 d")
            await until(lambda: all(len(p.topic("m")) >= 270 for p in pages), "every page's missed emits", pages=pages)
            for p in pages:
                for prefix, count in (("b", 100), ("c", 100), ("d", 50)):
                    assert [d["i"] for d in p.topic("m") if d["p"] == prefix] == list(range(count)), p.url
                seqs = [seq for seq, _ in p.numbered]
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "consecutive, none twice"
                assert p.resyncs == []
            stats = await stats_until(kernel, lambda s: s["answers"] >= PAGES + len(doomed), "the second answers")
            assert stats["answers"] == stats["unique"] == PAGES + len(doomed), stats
            assert stats["twice"] == []
        finally:
            await asyncio.gather(*(p.close() for p in pages))

    run(main, 240)


def test_a_redis_restart_loses_what_the_policy_says_and_pages_are_told() -> None:
    app = "restart" + secrets.token_hex(4)
    with RedisServer() as redis:
        kernel = Kernel(app, redis.url)
        relays: list[Relay] = []
        try:
            relays = [Relay(app, redis.url) for _ in range(2)]

            async def main() -> None:
                pages = await open_pages([r.url for r in relays], 20)
                try:
                    await command(kernel, "emit 10 before")
                    await until(lambda: all(len(p.topic("m")) == 10 for p in pages), "the first emits")
                    redis.stop()
                    await command(kernel, "emit 5 down")  # waits in the kernel (within backplane_buffer_messages)
                    for k, p in enumerate(pages):
                        await p.send("answer", {"id": f"down-{k}"})  # wait in the relays' outboxes
                    redis.start()
                    await until(lambda: all(p.ws is None or p.resyncs for p in pages), "the relays to notice", 60)
                    await asyncio.gather(*(p.reopen(p.url) for p in pages if p.ws is None))
                    await command(kernel, "emit 1 after")
                    await until(lambda: all("after" in [d["p"] for d in p.topic("m")] for p in pages), "the recovery",
                                60)
                    for p in pages:
                        # nothing sent while Redis was down is lost (it waited within the bounds), in order;
                        # the log before the restart is gone, and the page was told so once
                        assert [d["i"] for d in p.topic("m") if d["p"] == "down"] == list(range(5))
                        assert p.resyncs == [("unknown", None)]
                    stats = await stats_until(kernel, lambda s: s["answers"] >= 20, "the answers sent while down")
                    assert stats["answers"] == stats["unique"] == 20 and stats["backplane"] == 0, stats
                finally:
                    await asyncio.gather(*(p.close() for p in pages))

            run(main, 120)
        finally:
            for relay in relays:
                relay.stop()
            kernel.stop()


RunAsync = Callable[[], Awaitable[None]]
