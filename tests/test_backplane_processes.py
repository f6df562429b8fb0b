"""The backplane between real processes: three nbws server processes of one
app on a real Redis (tests/brokers.py), WebSocket clients (the ``websockets``
library) on each. A broadcast, an emit, a channel value and a plot frame sent
by any process reach every client on every process exactly once; another app
on the same Redis sees none of it; and a Redis killed and restarted loses
exactly what the documented policy says."""

from __future__ import annotations

import asyncio
import json
import secrets
import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from tests.brokers import Node, RedisServer, redis_available
from tests.conftest import run

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs redis-server and redis-py")
CLIENTS = 3  # per process and kind


@pytest.fixture(scope="module")
def trio(redis_url: str) -> Iterator[list[Node]]:
    """Three server processes of one app."""
    app = "trio" + secrets.token_hex(4)
    nodes: list[Node] = []
    try:
        for _ in range(3):
            nodes.append(Node(app, redis_url))
        yield nodes
    finally:
        for node in nodes:
            node.stop()


async def clients(nodes: list[Node], path: str, first: str | None = None) -> list[ClientConnection]:
    opened = []
    for node in nodes:
        for _ in range(CLIENTS):
            ws = await connect(node.url + path, max_size=None)
            if first is not None:
                await ws.send(first)  # the envelope endpoint's first message: a plain client
            opened.append(ws)
    return opened


async def command(node: Node, line: str) -> dict[str, Any]:
    return await asyncio.to_thread(node.command, line)


async def until_ends(ws: ClientConnection, ends: set[str], timeout: float = 20.0) -> list[Any]:
    """Every message until one of each end marker arrived (each sender's
    marker comes after its messages: pub/sub keeps one sender's order)."""
    got: list[Any] = []
    missing = set(ends)
    async with asyncio.timeout(timeout):
        while missing:
            message = await ws.recv()
            got.append(message)
            for end in list(missing):
                if end in str(message):
                    missing.discard(end)
    return got


def test_broadcasts_from_every_process_reach_every_client_once(trio: list[Node]) -> None:
    async def main() -> None:
        sockets = await clients(trio, "_nbws/ws")
        try:
            for i, node in enumerate(trio):
                await command(node, f"many 50 n{i}-")
                await command(node, f"broadcast end-{i}")
            for ws in sockets:
                got = await until_ends(ws, {f"end-{i}" for i in range(3)})
                for i in range(3):
                    mine = [m for m in got if m.startswith(f"n{i}-")]
                    assert mine == [f"n{i}-{k}" for k in range(50)], "every message once, in the sender's order"
                assert len(got) == 153
        finally:
            for ws in sockets:
                await ws.close()

    run(main, 60)


def test_emits_reach_every_client_once_numbered_by_each_process(trio: list[Node]) -> None:
    async def main() -> None:
        sockets = await clients(trio, "_nbws/ws", first="ready")
        try:
            for i, node in enumerate(trio):
                for k in range(5):
                    await command(node, f'emit score {json.dumps({"from": i, "k": k})}')
                await command(node, f'emit score {json.dumps({"from": i, "end": f"end-{i}"})}')
            for ws in sockets:
                got = [json.loads(m) for m in await until_ends(ws, {f"end-{i}" for i in range(3)})]
                assert all(m["topic"] == "score" for m in got)
                for i in range(3):
                    assert [m["data"]["k"] for m in got if m["data"]["from"] == i and "k" in m["data"]] == list(range(5))
                assert len(got) == 18
        finally:
            for ws in sockets:
                await ws.close()

    run(main, 60)


def test_channel_values_reach_every_subscribed_page_once(trio: list[Node]) -> None:
    async def main() -> None:
        sockets = await clients(trio, "_nbws/channel/prices")
        try:
            for i, node in enumerate(trio):
                for k in range(20):
                    await command(node, f"channel c{i}-{k}")
                await command(node, f"channel end-{i}")
            for ws in sockets:
                got = await until_ends(ws, {f"end-{i}" for i in range(3)})
                for i in range(3):
                    assert [m for m in got if m.startswith(f"c{i}-")] == [f"c{i}-{k}" for k in range(20)]
                assert len(got) == 63
        finally:
            for ws in sockets:
                await ws.close()

    run(main, 60)


def frame_points(frame: bytes) -> list[float]:
    """The x values in a LivePlot frame (nbws.live.plot's format)."""
    xs: list[float] = []
    at = 0
    while at < len(frame):
        magic, _version, _kind, _series, count = struct.unpack_from("<4sBBHI", frame, at)
        assert magic == b"NBLP"
        at += 12
        xs.extend(struct.unpack_from(f"<{count}d", frame, at))
        at += 16 * count
    return xs


def test_plot_frames_reach_the_plots_pages_on_every_process(trio: list[Node]) -> None:
    async def main() -> None:
        sockets = await clients(trio, "live/loss/ws")
        try:
            for ws in sockets:
                assert json.loads(await ws.recv())["topic"] == "meta"
            for k in range(30):  # pushed on the first process only
                await command(trio[0], f"plot {k} {k * 0.5}")
            for ws in sockets:
                xs: list[float] = []
                async with asyncio.timeout(20):
                    while len(xs) < 30:
                        message = await ws.recv()
                        assert isinstance(message, bytes)
                        xs.extend(frame_points(message))
                assert xs == [float(k) for k in range(30)], "each frame once, in order"
        finally:
            for ws in sockets:
                await ws.close()

    run(main, 60)


def test_another_app_on_the_same_redis_sees_nothing(trio: list[Node], redis_url: str) -> None:
    stranger = Node("other" + secrets.token_hex(4), redis_url)

    async def main() -> None:
        mine = await clients(trio[:1], "_nbws/ws")
        theirs = await clients([stranger], "_nbws/ws")
        try:
            await command(stranger, "broadcast from-the-other-app")
            await command(stranger, "broadcast end-other")
            await command(trio[1], "broadcast end-trio")
            for ws in mine:
                assert await until_ends(ws, {"end-trio"}) == ["end-trio"]
            for ws in theirs:
                assert await until_ends(ws, {"end-other"}) == ["from-the-other-app", "end-other"]
        finally:
            for ws in mine + theirs:
                await ws.close()

    try:
        run(main, 60)
        assert stranger.stats()["stats"]["received"] == 0
    finally:
        stranger.stop()


def wait_stats(node: Node, predicate: Any, timeout: float = 20.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        stats = node.stats()["stats"]
        if predicate(stats):
            return stats
        assert time.monotonic() < deadline, f"timed out; last stats {stats}"
        time.sleep(0.05)


@pytest.mark.parametrize("bound", [None, 10])
def test_redis_restart_loses_exactly_what_the_policy_says(bound: int | None) -> None:
    """Redis is killed; one process broadcasts 30 messages while it is down
    (publishing returns at once, buffered); Redis restarts on the same port.
    With the default buffer every client everywhere gets all 30 once, in
    order; with ``backplane_buffer_messages=10`` the publisher drops the 20
    oldest (``dropped``), the other process's clients get the last 10, and
    that process counts the 20 as ``missed``. Local clients get all 30."""
    # resume_wait: the publisher waits (up to 10 s, not the default 2) for the other process to
    # resubscribe, longer than its reconnect backoff (at most 5 s, with jitter) on a slow machine
    traits: dict[str, object] = {"backplane_resume_wait": 10.0}
    if bound:
        traits["backplane_buffer_messages"] = bound
    with RedisServer() as redis:
        app = "restart" + secrets.token_hex(4)
        a, b = Node(app, redis.url, traits=traits), Node(app, redis.url, traits=traits)
        try:
            async def main() -> None:
                sockets = await clients([a, b], "_nbws/ws")
                local, remote = sockets[:CLIENTS], sockets[CLIENTS:]
                await command(a, "broadcast before")
                for ws in sockets:
                    assert await until_ends(ws, {"before"}) == ["before"]
                redis.stop()
                await asyncio.to_thread(wait_stats, a, lambda s: not s["connected"])
                started = time.monotonic()
                await command(a, "many 30 down-")
                assert time.monotonic() - started < 2.0, "publishing does not wait for Redis"
                kept = bound or 30
                await asyncio.to_thread(wait_stats, a, lambda s: s["buffered"] == kept and s["dropped"] == 30 - kept)
                await asyncio.to_thread(redis.start)
                await asyncio.to_thread(wait_stats, a, lambda s: s["connected"] and s["buffered"] == 0)
                await asyncio.to_thread(wait_stats, b, lambda s: s["connected"])
                await command(a, "broadcast after")
                expected = [f"down-{k}" for k in range(30 - (bound or 30), 30)]
                for ws in local:
                    assert await until_ends(ws, {"after"}) == [f"down-{k}" for k in range(30)] + ["after"]
                received = [(await until_ends(ws, {"after"}))[:-1] for ws in remote]
                stats_b = (await command(b, "stats"))["stats"]
                for got in received:
                    # What the publisher kept arrives, in order, once (the other process resubscribes
                    # within backplane_resume_wait: its backoff is at most 6 s); only what the publisher
                    # dropped is missing there, counted as missed.
                    assert got == expected, stats_b
                    assert stats_b["missed"] == 30 - len(expected) and stats_b["duplicates"] == 0
                assert stats_b["reconnects"] >= 1
                for ws in sockets:
                    await ws.close()

            run(main, 90)
        finally:
            a.stop()
            b.stop()
