"""A room of 200 students speaking the documented protocol over real
sockets: they join at once, answer, all drop and come back at once (a
reconnect storm), and answer again. Nothing is lost or counted twice.
(Timings are in bench/classroom_bench.py, not asserted here.)"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

import nbws
from tests.conftest import run

STUDENTS = 200


async def expect(ws: ClientConnection, topic: str, timeout: float = 30.0) -> Any:
    async with asyncio.timeout(timeout):
        while True:
            message = json.loads(await ws.recv())
            if message["topic"] == topic:
                return message["data"]


async def send(ws: ClientConnection, topic: str, data: Any) -> None:
    await ws.send(json.dumps({"topic": topic, "data": data}))


def test_two_hundred_students_join_answer_drop_and_come_back() -> None:
    room = nbws.Classroom("lecture", host="127.0.0.1", rate=50.0, burst=50)
    base, _, query = room.join_url.partition("?")
    url = "ws" + base[4:] + "_room/ws?" + query

    async def main() -> None:
        poll = room.poll("Which sort is stable?", ["quicksort", "mergesort", "heapsort"])

        async def first_visit(i: int) -> tuple[ClientConnection, dict[str, Any]]:
            ws = await connect(url, open_timeout=30)
            await send(ws, "join", {"name": f"student {i}"})
            me = await expect(ws, "welcome")
            await send(ws, "answer", {"activity": poll.id, "value": i % 3, "id": f"{i}-r1"})
            await expect(ws, "ack")
            return ws, me

        visits = await asyncio.gather(*(first_visit(i) for i in range(STUDENTS)))
        assert sum(poll.results.values()) == STUDENTS
        for ws, _ in visits:  # the Wi-Fi goes: every socket dies without a Close
            ws.transport.abort()
        poll.reopen()

        async def come_back(i: int, me: dict[str, Any]) -> None:
            ws = await connect(url, open_timeout=30)
            await send(ws, "join", {"student": me["student"], "key": me["key"]})
            assert (await expect(ws, "welcome"))["student"] == me["student"]
            # the page resends what it had not seen acknowledged, then answers round 2
            await send(ws, "answer", {"activity": poll.id, "value": i % 3, "id": f"{i}-r1"})
            await expect(ws, "ack")
            await send(ws, "answer", {"activity": poll.id, "value": (i + 1) % 3, "id": f"{i}-r2"})
            await expect(ws, "ack")
            await ws.close()

        await asyncio.gather(*(come_back(i, me) for i, (_, me) in enumerate(visits)))
        rounds = poll.rounds
        assert [sum(r.values()) for r in rounds] == [STUDENTS, STUDENTS]
        assert rounds[0] == {"quicksort": 67, "mergesort": 67, "heapsort": 66}
        roster = room.students
        assert len(roster) == STUDENTS and sorted(roster["name"]) == sorted(f"student {i}" for i in range(STUDENTS))
        assert set(roster["answers"]) == {2}  # each answer of each round once; the resend counted once

    try:
        run(main, 120)
    finally:
        room.close()
