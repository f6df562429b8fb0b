"""A classroom through ``nbws relay``: the issue's lecture hall, where the
students' devices reach two relays but not the instructor's kernel.

The kernel is this test process (a ``Classroom`` whose server shares a real
Redis with the relays); the relays are two ``python -m nbws relay``
processes; 200 students speak the documented protocol (the ``websockets``
library, as tests/test_classroom_load.py) on both relays. Every answer is
counted once in the kernel's table; what the instructor shows reaches every
student on both relays; a relay killed mid-answer loses nobody: its students
rejoin the other relay as themselves, resend what was not acknowledged, and
nothing is counted twice. The instructor's capability never goes through a
relay."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

import nbws
from tests.brokers import redis_available
from tests.conftest import http_request, run
from tests.relay_pages import Relay
from tests.test_classroom_load import expect, send

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs redis-server and redis-py")
STUDENTS = 200


@pytest.fixture
def hall(redis_url: str) -> Iterator[tuple[nbws.Classroom, list[Relay]]]:
    """Two relays, and a classroom whose join URL is the first one's."""
    app = "class" + secrets.token_hex(4)
    relays: list[Relay] = []
    room: nbws.Classroom | None = None
    try:
        relays = [Relay(app, redis_url) for _ in range(2)]
        room = nbws.Classroom("hall", host="127.0.0.1", backplane=redis_url, app_name=app, relay_secret="s3cret",
                              public_url=relays[0].url, rate=50.0, burst=50)
        yield room, relays
    finally:
        if room is not None:
            room.close()
        for relay in relays:
            relay.stop()


def socket_url(relay: Relay, path: str = "_room/ws") -> str:
    return "ws" + relay.url[4:] + path


async def served(relay: Relay, path: str, timeout: float = 30.0) -> None:
    """Wait (bounded) until the relay serves what the kernel announced."""
    port = int(relay.url.rsplit(":", 1)[1].strip("/"))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (await http_request(port, path=path))[0] != 200:
        assert loop.time() < deadline, f"{relay.url} never served {path}"
        await asyncio.sleep(0.05)


class Student:
    """One student's page: its identity and the answers it has not seen acknowledged."""

    def __init__(self, i: int) -> None:
        self.i = i
        self.me: dict[str, Any] = {}
        self.ws: ClientConnection | None = None
        self.unacked: dict[str, dict[str, Any]] = {}

    async def join(self, relay: Relay) -> None:
        self.ws = await connect(socket_url(relay), open_timeout=30, ping_interval=None)
        who = {"student": self.me["student"], "key": self.me["key"]} if self.me else {"name": f"student {self.i}"}
        await send(self.ws, "join", who)
        welcome = await expect(self.ws, "welcome")
        assert not self.me or welcome["student"] == self.me["student"], "the same student, on any relay"
        self.me = welcome
        for answer in list(self.unacked.values()):  # as the page does: resend what was not acknowledged
            await send(self.ws, "answer", answer)

    async def answer(self, activity: str, value: int, answer_id: str) -> None:
        msg = {"activity": activity, "value": value, "id": answer_id}
        self.unacked[answer_id] = msg
        assert self.ws is not None
        try:
            await send(self.ws, "answer", msg)
        except ConnectionClosed:
            pass  # resent after the rejoin

    async def acked(self, timeout: float = 60.0) -> None:
        """Read until every answer is acknowledged (the views and content on the way are skipped)."""
        assert self.ws is not None
        async with asyncio.timeout(timeout):
            while self.unacked:
                message = json.loads(await self.ws.recv())
                if message["topic"] == "ack":
                    self.unacked.pop(message["data"]["id"], None)

    async def until_view(self, check: Any, timeout: float = 60.0) -> dict[str, Any]:
        assert self.ws is not None
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                if message["topic"] == "view" and check(message["data"]):
                    return dict(message["data"])

    async def until_shown(self, timeout: float = 60.0) -> dict[str, Any]:
        assert self.ws is not None
        async with asyncio.timeout(timeout):
            while True:
                message = json.loads(await self.ws.recv())
                if message["topic"] == "shown" and message["data"] is not None:
                    return dict(message["data"])


def test_two_hundred_students_on_two_relays_are_counted_once_even_when_a_relay_dies(
        hall: tuple[nbws.Classroom, list[Relay]]) -> None:
    room, relays = hall
    assert room.join_url == relays[0].url and room.qr.startswith("<svg")  # the QR code and links: the relay
    assert room.projector_url.startswith(relays[0].url + "_room/projector")

    async def main() -> None:
        for relay in relays:
            await served(relay, "/")  # the student page, from the kernel's announcement
        students = [Student(i) for i in range(STUDENTS)]
        for start in range(0, STUDENTS, 50):
            await asyncio.gather(*(s.join(relays[s.i % 2]) for s in students[start:start + 50]))
        assert len({s.me["student"] for s in students}) == STUDENTS

        # a question shown reaches every student on both relays
        poll = room.poll("Which sort is stable?", ["quicksort", "mergesort", "heapsort"])
        await asyncio.gather(*(s.until_view(lambda v: (v["activity"] or {}).get("id") == poll.id) for s in students))
        for s in students:
            await s.answer(poll.id, s.i % 3, f"{s.i}-r1")
        await asyncio.gather(*(s.acked() for s in students))
        assert poll.results == {"quicksort": 67, "mergesort": 67, "heapsort": 66}, "each answer once"

        room.show("<b>Mergesort keeps equal keys in order.</b>")
        shown = await asyncio.gather(*(s.until_shown() for s in students))
        assert all("Mergesort" in json.dumps(x) for x in shown)

        # a relay dies while its students answer round 2: they rejoin the other relay as themselves
        poll.reopen()
        await asyncio.gather(*(s.until_view(lambda v: (v["activity"] or {}).get("round") == 2) for s in students))
        doomed = [s for s in students if s.i % 2 == 0]
        for s in doomed:
            await s.answer(poll.id, (s.i + 1) % 3, f"{s.i}-r2")
        relays[0].kill()
        for s in doomed:  # the resend of an answer that may or may not have been recorded is counted once
            s.unacked.setdefault(f"{s.i}-r2", {"activity": poll.id, "value": (s.i + 1) % 3, "id": f"{s.i}-r2"})
        await asyncio.gather(*(s.join(relays[1]) for s in doomed))
        for s in students:
            if s.i % 2:
                await s.answer(poll.id, (s.i + 1) % 3, f"{s.i}-r2")
        await asyncio.gather(*(s.acked() for s in students))
        rounds = poll.rounds
        assert [sum(r.values()) for r in rounds] == [STUDENTS, STUDENTS]
        assert rounds[1] == {"quicksort": 66, "mergesort": 67, "heapsort": 67}
        roster = room.students
        assert len(roster) == STUDENTS, "nobody came back as a second student"
        assert sorted(roster["name"]) == sorted(f"student {i}" for i in range(STUDENTS))
        assert set(roster["answers"]) == {2}, "each round's answer once, the resends not counted"
        for s in students:
            assert s.ws is not None
            await s.ws.close()

    run(main, 240)


def test_the_instructors_capability_stays_off_the_relays(hall: tuple[nbws.Classroom, list[Relay]]) -> None:
    room, relays = hall
    relay = relays[1]
    instructor_key = room._instructor_key
    projector_key = room.projector_url.rpartition("#key=")[2]

    async def main() -> None:
        await served(relay, "/_room/projector")
        port = int(relay.url.rsplit(":", 1)[1].strip("/"))
        assert (await http_request(port, path="/_room/panel"))[0] == 404, "the instructor's panel is not relayed"
        for key in ("wrong", instructor_key):
            async with connect(socket_url(relay, "_room/view")) as ws:
                await send(ws, "hello", {"key": key})
                with pytest.raises(ConnectionClosed):
                    async with asyncio.timeout(30):
                        while True:
                            assert json.loads(await ws.recv())["topic"] != "room", "no instructor view on a relay"
                assert ws.close_code == 1008
        async with connect(socket_url(relay, "_room/view")) as ws:  # the projector's public view is relayed
            await send(ws, "hello", {"key": projector_key})
            view = await expect(ws, "room")
            assert view["roster"] == [] and view["anonymous"] is True

    run(main, 60)


def test_what_a_service_sends_travels_once_per_relay_and_text_in_each_sockets_order() -> None:
    from nbws.relay.peers import Outgoing
    from nbws.relay.wire import MANY, SEND, decode_many

    sent: list[tuple[str, str, str, str | bytes]] = []
    soon: list[Any] = []
    out = Outgoing(lambda *message: sent.append(message), soon.append)

    def queue() -> None:  # I/O thread
        out.queue("r1", "1", "shown")
        out.queue("r1", "2", "shown")
        out.queue("r2", "7", "shown")
        out.queue("r1", "1", "view-1")
        out.queue("r1", "2", "view-2")
        out.queue("r1", "1", "shown")  # socket 1 has a later message: a new group, not the first one
        out.queue("r1", "3", "shown")

    io = nbws.boundary.io_thread()
    io.call(queue, timeout=10)
    assert len(soon) == 1 and not sent, "sent at the end of the loop's turn, once"
    io.call(soon[0], timeout=10)
    per_socket: dict[tuple[str, str], list[str | bytes]] = {}
    for relay, kind, name, data in sent:
        if kind == MANY:
            found = decode_many(data)
            assert found is not None
            for conn in found[0]:
                per_socket.setdefault((relay, conn), []).append(found[1])
        else:
            assert kind == SEND
            per_socket.setdefault((relay, name), []).append(data)
    assert per_socket == {("r1", "1"): ["shown", "view-1", "shown"], ("r1", "2"): ["shown", "view-2"],
                          ("r1", "3"): ["shown"], ("r2", "7"): ["shown"]}
    assert len(sent) == 5, "one backplane message per relay and text (in order)"
