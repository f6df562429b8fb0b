"""The backplane's primitives (nbws.backplane), in memory and on a real
Redis: fan-out to the other nodes only, bounded logs with gap detection,
queues whose entries go to exactly one consumer and come back only when a
consumer dies without acknowledging."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from nbws.backplane import Backplane, Envelope, MemoryBackplane
from tests.conftest import run

Make = Callable[[Callable[[Envelope], None]], Backplane]


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> Make:
    """A factory of nodes of one fresh app, on the memory hub or on Redis."""
    app = "t" + secrets.token_hex(6)
    if request.param == "memory":
        return lambda receiver: MemoryBackplane(app, receiver, log_length=5, queue_length=1000)
    url = request.getfixturevalue("redis_url")
    from nbws.backplane.redis import RedisBackplane

    return lambda receiver: RedisBackplane(url, app, receiver, log_length=5, queue_length=1000)


async def wait_for(predicate: Callable[[], object], timeout: float = 5.0) -> None:
    """Yield to the loop until ``predicate()`` holds (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.005)


def nodes(make: Make, count: int) -> tuple[list[Backplane], list[list[Envelope]]]:
    inboxes: list[list[Envelope]] = [[] for _ in range(count)]
    return [make(inbox.append) for inbox in inboxes], inboxes


def with_nodes(make: Make, count: int, body: Callable[[list[Backplane], list[list[Envelope]]], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        started, inboxes = nodes(make, count)
        for node in started:
            await node.start()
        try:
            return await body(started, inboxes)
        finally:
            for node in started:
                await node.stop()

    return run(main)


def test_publish_reaches_every_other_node_once_in_order(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        for i in range(200):
            n[0].publish("b", "", f"m{i}")
        n[1].publish("c", "prices", b"\x00\xff")
        await wait_for(lambda: len(inboxes[1]) == 200 and len(inboxes[2]) == 201 and len(inboxes[0]) == 1)
        assert [e.data for e in inboxes[1]] == [f"m{i}" for i in range(200)]
        assert Envelope(n[1].node, 1, "c", "prices", b"\x00\xff") in inboxes[2]  # (order is per sender)
        assert [e.kind for e in inboxes[0]] == ["c"]  # never its own
        await wait_for(lambda: n[0].stats(0).published == 200)  # counted once Redis answered the pipeline
        assert n[2].stats(0).received == 201 and n[2].stats(0).missed == 0

    with_nodes(make, 3, body)


def test_send_to_reaches_one_node(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        n[0].send_to(n[2].node, "w", "conn-7", "just you")
        n[0].publish("b", "", "everyone")
        await wait_for(lambda: len(inboxes[2]) == 2 and len(inboxes[1]) == 1)
        assert [e.data for e in inboxes[2]] == ["just you", "everyone"]
        assert [e.data for e in inboxes[1]] == ["everyone"]

    with_nodes(make, 3, body)


def test_messages_sent_to_one_node_are_not_counted_missed_by_the_others(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        for k in range(5):  # to node 2 only (a kernel's replies to one relay's pages)
            n[0].send_to(n[2].node, "w", "conn-7", f"just you {k}")
        n[0].publish("b", "", "everyone")
        n[0].send_to(n[1].node, "w", "conn-1", "and you")
        n[0].publish("b", "", "everyone again")
        await wait_for(lambda: len(inboxes[2]) == 7 and len(inboxes[1]) == 3)
        for node in n[1:]:
            stats = node.stats(0)
            assert stats.missed == 0 and stats.duplicates == 0, "nothing was lost on the way"

    with_nodes(make, 3, body)


def test_different_apps_are_isolated(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        seen: list[Envelope] = []
        outsider = _other_app(n[0], seen.append)
        await outsider.start()
        try:
            outsider.publish("b", "", "not yours")
            n[0].publish("b", "", "yours")
            await wait_for(lambda: len(inboxes[1]) == 1)
            await asyncio.sleep(0.1)
            assert [e.data for e in inboxes[1]] == ["yours"] and seen == []
        finally:
            await outsider.stop()

    with_nodes(make, 2, body)


def _other_app(node: Backplane, receiver: Callable[[Envelope], None]) -> Backplane:
    app = "other" + secrets.token_hex(4)
    if isinstance(node, MemoryBackplane):
        return MemoryBackplane(app, receiver)
    from nbws.backplane.redis import RedisBackplane

    assert isinstance(node, RedisBackplane)
    return RedisBackplane(node.url, app, receiver)


def test_log_reads_after_an_id_and_reports_trimmed_entries(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        ids = [await n[0].append("room", f"e{i}".encode()) for i in range(3)]
        got = await n[1].read("room", ids[0], 10)  # another node reads what one appended
        assert [e.payload for e in got.entries] == [b"e1", b"e2"] and not got.missed
        assert [e.id for e in got.entries] == ids[1:]
        assert (await n[1].read("room", "0-0", 2)).entries[0].payload == b"e0"
        assert (await n[1].read("room", ids[2], 10)).entries == ()
        for i in range(3, 200):  # far past log_length=5: the oldest are trimmed
            await n[0].append("room", f"e{i}".encode())
        late = await n[1].read("room", ids[2], 1000)
        assert late.missed, "a reader whose next entry was trimmed is told"
        assert late.entries[-1].payload == b"e199" and len(late.entries) < 197
        current = await n[1].read("room", late.entries[-2].id, 10)
        assert [e.payload for e in current.entries] == [b"e199"] and not current.missed
        empty = await n[1].read("nothing-here", "0-0", 10)
        assert empty.entries == () and not empty.missed

    with_nodes(make, 2, body)


def test_a_value_put_by_one_node_is_read_by_a_node_started_later(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        assert await n[0].get("announce") is None
        await n[0].put("announce", b"v1")
        await n[0].put("announce", b"v2")  # replaces
        late = make(lambda envelope: None)
        await late.start()
        try:
            assert await late.get("announce") == b"v2"
            assert await late.get("other") is None
        finally:
            await late.stop()

    with_nodes(make, 1, body)


def test_queue_gives_each_entry_to_exactly_one_consumer(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        async def produce(node: Backplane, tag: str) -> None:
            for i in range(150):
                await node.enqueue("inbound", f"{tag}{i}".encode())

        taken: dict[str, list[bytes]] = {"k1": [], "k2": []}

        async def consume(node: Backplane, name: str) -> None:
            while sum(len(v) for v in taken.values()) < 300:
                entries = await node.take("inbound", "kernel", name, 32, 0.05)
                taken[name] += [e.payload for e in entries]
                assert await node.ack("inbound", "kernel", [e.id for e in entries]) == len(entries)

        await asyncio.wait_for(asyncio.gather(produce(n[0], "a"), produce(n[1], "b"),
                                              consume(n[2], "k1"), consume(n[3], "k2")), 30)
        everything = taken["k1"] + taken["k2"]
        assert sorted(everything) == sorted([f"a{i}".encode() for i in range(150)] +
                                            [f"b{i}".encode() for i in range(150)])
        assert len(set(everything)) == 300  # none twice
        assert await n[2].take("inbound", "kernel", "k1", 10, 0.05) == []
        assert await n[2].claim("inbound", "kernel", "k1", 0.0, 100) == []  # all acknowledged: nothing to claim

    with_nodes(make, 4, body)


def test_a_dead_consumers_entries_are_claimed_by_another(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        for i in range(5):
            await n[0].enqueue("inbound", f"x{i}".encode())
        lost = await n[1].take("inbound", "kernel", "dead", 3, 0.5)  # taken, never acknowledged
        assert [e.payload for e in lost] == [b"x0", b"x1", b"x2"]
        assert [e.payload for e in await n[1].pending("inbound", "kernel", "dead", 10)] == [b"x0", b"x1", b"x2"]
        rest = await n[1].take("inbound", "kernel", "alive", 10, 0.5)
        assert [e.payload for e in rest] == [b"x3", b"x4"]  # new entries only: not the dead one's
        assert await n[1].claim("inbound", "kernel", "alive", 60.0, 10) == []  # not idle long enough
        claimed = await n[1].claim("inbound", "kernel", "alive", 0.0, 10)
        assert sorted(e.payload for e in claimed) == [b"x0", b"x1", b"x2", b"x3", b"x4"]
        assert await n[1].ack("inbound", "kernel", [e.id for e in claimed]) == 5
        assert await n[1].ack("inbound", "kernel", [e.id for e in claimed]) == 0  # once
        assert await n[1].pending("inbound", "kernel", "dead", 10) == []

    with_nodes(make, 2, body)


def test_take_waits_for_an_entry_then_returns(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        waiting = asyncio.ensure_future(n[1].take("inbound", "kernel", "k", 10, 3.0))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        await n[0].enqueue("inbound", b"late")
        entries = await asyncio.wait_for(waiting, 3.0)
        assert [e.payload for e in entries] == [b"late"]
        assert await n[1].take("inbound", "kernel", "k", 10, 0.1) == []  # bounded wait, then empty

    with_nodes(make, 2, body)


def test_a_log_keeps_its_epoch_until_it_is_lost(make: Make) -> None:
    async def body(n: list[Backplane], inboxes: list[list[Envelope]]) -> None:
        epoch = (await n[1].read("emit", "0-0", 10)).epoch  # made on first sight, before any entry
        assert len(epoch) >= 12
        first, at_first = await n[0].append_with_epoch("emit", b"e0")
        assert first == "0-1" and at_first == epoch
        for i in range(1, 8):  # past log_length=5: trimming is not a loss of the log
            assert (await n[0].append_with_epoch("emit", f"e{i}".encode()))[1] == epoch
        assert (await n[1].read("emit", "0-3", 10)).epoch == epoch  # what a reader sees
        # the log is lost (a Redis restarted without persistence; here: its keys deleted) and grows again
        if isinstance(n[0], MemoryBackplane):
            n[0].hub.logs.pop("emit"), n[0].hub.log_next.pop("emit"), n[0].hub.epochs.pop("emit")
        else:
            await n[0]._client.delete(f"{n[0].prefix}log:emit", f"{n[0].prefix}epoch:emit")  # type: ignore[attr-defined]
        again, new = await n[0].append_with_epoch("emit", b"new")
        assert again == "0-1" and new != epoch, "a new log, a new epoch"
        assert (await n[1].read("emit", "0-0", 10)).epoch == new

    with_nodes(make, 2, body)
