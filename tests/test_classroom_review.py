"""The classroom review's findings (issue 13), each reproduced over real
sockets with the ``websockets`` client: no student message can make the I/O
thread raise, the panel sees disconnects, idle sockets cannot lock the class
out, and a student's memory is bounded."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

import nbws
from tests.test_classroom import closed_with, expect, join, open_ws, send, ws_url

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                    max_leaves=6)
FIELDS = st.sampled_from(["name", "student", "key", "activity", "value", "id", "raised", "url"])
ENVELOPES = st.builds(lambda topic, data: json.dumps({"topic": topic, "data": data}, ensure_ascii=False),
                      st.sampled_from(["join", "answer", "hand", "hello", "qr"]) | st.text(max_size=60),
                      st.dictionaries(FIELDS, JSON | st.text(max_size=60), max_size=4))
MESSAGES = st.one_of(ENVELOPES, st.text(max_size=80), st.binary(max_size=40))


def reply_or_close(ws: ClientConnection, beat: int) -> int | None:
    """Send a heartbeat after the message under test: None when the socket
    answers it (so it is alive and the message was handled), else the close
    code it was closed with."""
    try:
        ws.send(json.dumps({"hb": beat}))
        while True:
            message = json.loads(ws.recv(timeout=5))
            if message == {"hb": beat}:
                return None
    except ConnectionClosed:
        return ws.close_code


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> Any:
    """The error records logged meanwhile (asyncio's "Fatal error: protocol.buffer_updated() call failed",
    nbws's own "a listener raised")."""
    caplog.set_level(logging.WARNING)
    return lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def test_no_student_or_view_message_makes_the_io_thread_raise(errors: Any) -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1", rate=1000.0, burst=1000)
    room.ask("Say something", kind="text")
    try:
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(MESSAGES, st.booleans())
        @example('{"topic": "join", "data": {"student": "x", "key": "é"}}', False)
        @example('{"topic": "hello", "data": {"key": "é"}}', False)
        @example('{"topic": "' + "é" * 60 + '", "data": {}}', True)
        def check(message: str | bytes, joined: bool) -> None:
            for path in ("_room/ws", "_room/view"):
                ws = open_ws(ws_url(room, path))
                try:
                    if joined and path == "_room/ws":
                        send(ws, "join", {"name": "Ada"})
                        expect(ws, "welcome")
                    ws.send(message)
                    code = reply_or_close(ws, 7)
                    assert code in (None, 1003, 1008, 1009), (path, message, code)
                finally:
                    ws.close()
            assert errors() == []

        check()
    finally:
        room.close()


def test_a_non_ascii_key_for_a_real_student_is_refused(errors: Any) -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1")
    try:
        ada, welcome = join(room, "Ada")
        thief = open_ws(ws_url(room))
        send(thief, "join", {"student": welcome["student"], "key": "clé"})
        assert "wrong key" in expect(thief, "refused")["reason"]
        assert reply_or_close(thief, 1) is None and reply_or_close(ada, 2) is None
        assert errors() == []
    finally:
        room.close()


class _Buggy:
    """A socket listener with a bug: every message raises."""

    def message(self, conn: Any, message: str | bytes) -> None:
        raise RuntimeError("a bug in the listener")

    def lost(self, conn: Any) -> None:
        raise RuntimeError("another bug")


def test_a_listener_that_raises_closes_its_socket_with_1011_and_logs_once(caplog: pytest.LogCaptureFixture) -> None:
    server = nbws.start_server(app=nbws.App())
    endpoint = server._endpoint
    assert endpoint is not None

    def opened(conn: Any) -> None:
        conn.listener = _Buggy()

    endpoint.io.call(lambda: endpoint.routes.add_socket("/buggy", opened))
    url = server.url.replace("http", "ws", 1).split("?")[0].rstrip("/") + "/buggy"
    with caplog.at_level(logging.WARNING):
        for _ in range(2):
            ws = open_ws(url)
            ws.send("a")
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=5)
            assert ws.close_code == 1011
        server.stop()
    raised = [r for r in caplog.records if "listener _Buggy raised" in r.getMessage()]
    assert len(raised) == 4  # per socket: its first message and its loss, each once
    assert not [r for r in caplog.records if r.name == "asyncio"]


def panel(room: nbws.Classroom) -> ClientConnection:
    ws = open_ws(ws_url(room, "_room/view"))
    send(ws, "hello", {"key": room._instructor_key})
    return ws


def expect_room(ws: ClientConnection, check: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The first instructor view for which ``check(view)`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, Any] = expect(ws, "room", max(0.01, deadline - time.monotonic()))
        if check(view):
            return view


def test_the_panel_sees_a_student_leave() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1")
    try:
        view = panel(room)
        ada, _ = join(room, "Ada")
        expect_room(view, lambda v: v["connected"] == 1)
        ada.close()
        seen = expect_room(view, lambda v: v["connected"] == 0)
        assert seen["roster"][0]["connected"] is False
    finally:
        room.close()


def test_sockets_that_never_join_do_not_lock_the_class_out() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1", max_connections=10, join_timeout=0.5)
    try:
        idle = [open_ws(ws_url(room, "_room/ws" if i % 2 else "_room/view")) for i in range(10)]
        assert [closed_with(ws) for ws in idle] == [1008] * 10
        _, welcome = join(room, "Ada")  # before the fix: HTTP 503, for as long as the idle sockets stayed
        assert welcome["name"] == "Ada"
    finally:
        room.close()


def test_one_address_cannot_hold_more_than_its_unjoined_sockets() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1", max_unjoined_per_address=3)
    try:
        idle = [open_ws(ws_url(room)) for _ in range(3)]
        assert closed_with(open_ws(ws_url(room))) == 1008
        send(idle[0], "join", {"name": "Ada"})  # joining frees its place
        expect(idle[0], "welcome")
        late, _ = join(room, "Grace")
        assert reply_or_close(late, 1) is None and reply_or_close(idle[1], 2) is None
    finally:
        room.close()


def test_a_student_has_at_most_four_pages_the_oldest_is_closed() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1")
    try:
        first, welcome = join(room, "Ada")
        again = []
        for _ in range(4):
            ws = open_ws(ws_url(room))
            send(ws, "join", {"student": welcome["student"], "key": welcome["key"]})
            expect(ws, "welcome")
            again.append(ws)
        assert closed_with(first) == 1008
        assert all(reply_or_close(ws, i) is None for i, ws in enumerate(again))
    finally:
        room.close()


def test_the_room_holds_at_most_max_students_and_one_address_adds_them_at_join_rate() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1", max_students=3)
    try:
        joined = [join(room, name) for name in ("Ada", "Grace", "Alan")]
        full = open_ws(ws_url(room))
        send(full, "join", {"name": "Ada"})
        assert "the class is full" in expect(full, "refused")["reason"]
        again = open_ws(ws_url(room))  # the students already in may always come back
        send(again, "join", {"student": joined[0][1]["student"], "key": joined[0][1]["key"]})
        assert expect(again, "welcome")["name"] == "Ada"
        assert len(room.students) == 3
    finally:
        room.close()
    room = nbws.Classroom("cs101", host="127.0.0.1", join_rate=0.01, join_burst=5)
    try:
        ws = open_ws(ws_url(room))
        for i in range(5):
            send(ws, "join", {"name": f"Ada {i}"})
            expect(ws, "welcome")
            ws = open_ws(ws_url(room))
        send(ws, "join", {"name": "Ada 6"})
        assert "too many new students" in expect(ws, "refused")["reason"]
        assert len(room.students) == 5
    finally:
        room.close()


def test_attempts_and_stored_text_are_capped_before_anything_is_recorded() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1", max_attempts=3, max_stored=250, max_answer=100)
    try:
        q = room.ask("Say it", kind="text")
        ws, _ = join(room, "Ada")
        for i in range(3):
            send(ws, "answer", {"activity": q.id, "value": f"try {i}", "id": f"t{i}"})
            assert expect(ws, "ack") == {"id": f"t{i}"}
        for _ in range(2):  # refused, and a resend is refused again, never recorded
            send(ws, "answer", {"activity": q.id, "value": "try 3", "id": "t3"})
            assert "at most 3 attempts" in expect(ws, "refused")["reason"]
        rows = q.responses
        assert [int(a) for a in (rows["attempt"] if hasattr(rows, "columns") else [r["attempt"] for r in rows])] \
            == [1, 2, 3]
        long = room.ask("Say more", kind="text")
        for i in range(3):
            send(ws, "answer", {"activity": long.id, "value": "x" * 100, "id": f"l{i}"})
        assert expect(ws, "ack") == {"id": "l0"} and expect(ws, "ack") == {"id": "l1"}
        assert "may total 250 characters" in expect(ws, "refused")["reason"]
        assert len(long.responses) == 2
    finally:
        room.close()


def test_past_max_seen_an_answer_is_refused_before_it_is_recorded() -> None:
    from nbws.classroom.model import Refusal, Room

    room = Room(max_seen=3)
    ada = room.join("Ada")
    activity = room.open_activity("Say it", "text", (), False, 0.0)
    for i in range(3):
        assert room.answer(ada, activity.id, "x", f"id{i}", 1.0)
    with pytest.raises(Refusal) as refused:
        room.answer(ada, activity.id, "x", "id3", 1.0)
    assert refused.value.code == 1008
    assert len(activity.attempts) == 3  # before the fix: stored, not acknowledged, stored again on each resend


def shared_room(students: int, size: int, char: str = "x") -> tuple[Any, Any]:
    from nbws.classroom.model import Room

    room = Room(max_answer=size)
    q = room.open_activity("Reverse a list", "code", (), False, 0.0)
    for i in range(students):
        room.answer(room.join(f"S{i}"), q.id, f"{i:05d}" + char * (size - 5), f"a{i}", float(i))
    room.share(q)
    return room, q


def test_each_students_view_is_their_part_spliced_into_the_shared_part_serialized_once() -> None:
    from nbws.classroom.service import RoomService
    from nbws.classroom.wire import splice as _splice

    room, q = shared_room(5, 10)
    room.show({"id": "c1", "kind": "text", "text": "é ✓"})
    service = RoomService(room, "key", None)
    shared = service._shared_part()
    for student in room.students.values():
        assert json.loads(_splice(room, student, *shared)) == room.student_view(student)
    room.close(q)
    room.current = None
    student = next(iter(room.students.values()))
    assert json.loads(_splice(room, student, *service._shared_part())) == room.student_view(student)


def test_a_shared_question_shows_at_most_shared_bytes_of_answers() -> None:
    from nbws.classroom.model import SHARED_BYTES

    _, q = shared_room(300, 1000)  # 300 KB of answers
    public = q.public()
    assert len(json.dumps(public)) <= SHARED_BYTES + 200  # before: every answer, 300 KB here (258 MB a refresh)
    assert public["omitted"] == 300 - len(public["answers"]) > 0
    assert public["answers"][0]["answer"].startswith("00000")  # the earliest first
    _, q = shared_room(300, 100, "é")  # non-ASCII: 6 bytes of JSON a character (\\uXXXX), counted as such
    assert len(json.dumps(q.public())) <= SHARED_BYTES + 200


def test_new_answers_to_a_shared_question_reach_the_class_about_once_a_second() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1", rate=100.0, burst=100)
    try:
        q = room.ask("Say it", kind="text")
        q.share()
        ada, _ = join(room, "Ada")
        grace, _ = join(room, "Grace")
        expect(grace, "view")
        start = time.monotonic()
        for sent in range(1, 41):  # Ada answers again and again over 1.2 s, each acknowledged
            time.sleep(max(0.0, start + sent * 0.03 - time.monotonic()))  # pacing the answers, not waiting for one
            send(ada, "answer", {"activity": q.id, "value": f"take {sent}", "id": f"a{sent}"})
            assert expect(ada, "ack") == {"id": f"a{sent}"}
        views = 0
        while True:  # Grace's views until the one with Ada's last answer
            view = expect(grace, "view", 3.0)
            views += 1
            if view["activity"]["answers"] == [{"name": "Ada", "answer": f"take {sent}"}]:
                break
        assert views <= 4, views  # before: a view per 50 ms refresh, about 24
    finally:
        room.close()


def test_shown_content_goes_to_each_page_once_not_with_every_view() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1")
    try:
        ada, _ = join(room, "Ada")
        expect(ada, "view")
        room.show("slide " * 100_000)  # 600 KB
        content = json.loads(ada.recv(timeout=5))  # the content first, then the view that names it
        assert content["topic"] == "shown" and content["data"]["text"].startswith("slide ")
        view = json.loads(ada.recv(timeout=5))
        assert view["topic"] == "view" and view["data"]["shown"] == content["data"]["id"]
        for raised in (True, False, True):  # before: each hand toggle resent the 600 KB
            send(ada, "hand", {"raised": raised})
            raw = ada.recv(timeout=5)
            assert len(raw) < 1000 and json.loads(raw)["data"]["you"]["hand"] is raised
        late, _ = join(room, "Grace")  # a page that joins later gets it once too
        assert expect(late, "shown")["id"] == content["data"]["id"]
        room.show(None)
        assert expect(ada, "shown") is None and expect(ada, "view")["shown"] is None
    finally:
        room.close()


def test_an_answer_from_an_earlier_round_is_refused_and_ids_differ_between_rooms() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1")
    try:
        poll = room.poll("Stable?", ["yes", "no"])
        ada, _ = join(room, "Ada")
        assert expect(ada, "view")["activity"]["round"] == 1
        send(ada, "answer", {"activity": poll.id, "value": 0, "id": "r1", "round": 1})
        assert expect(ada, "ack") == {"id": "r1"}
        poll.reopen()
        send(ada, "answer", {"activity": poll.id, "value": 1, "id": "stale", "round": 1})  # a page's pending resend
        refused = expect(ada, "refused")
        assert refused["id"] == "stale" and "round 1" in refused["reason"] and "answer again" in refused["reason"]
        assert poll.rounds == [{"yes": 1, "no": 0}, {"yes": 0, "no": 0}]
        send(ada, "answer", {"activity": poll.id, "value": 1, "id": "r2", "round": 2})
        assert expect(ada, "ack") == {"id": "r2"}
        assert poll.rounds == [{"yes": 1, "no": 0}, {"yes": 0, "no": 1}]
        other = nbws.Classroom("cs101", host="127.0.0.1")
        try:  # a page of the same class on the same origin: its pending answers cannot land here
            assert other.poll("Stable?", ["yes", "no"]).id not in (poll.id, "a1")
        finally:
            other.close()
    finally:
        room.close()


def column(rows: Any, name: str) -> list[Any]:
    """A column of a table (a DataFrame or a list of dicts)."""
    return list(rows[name]) if hasattr(rows, "columns") else [row[name] for row in rows]


def test_names_are_unique_invited_names_reserved_and_every_record_carries_the_student_id(tmp_path: Any) -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1", students=["Grace"])
    try:
        poll = room.poll("Stable?", ["yes", "no"])
        seen: list[dict[str, Any]] = []
        poll.on_answer(seen.append)
        names = {}
        for name in ("Ada", "Ada", "ada", "Grace", "\u202eAda\u200b", "A\u200bda"):
            ws, welcome = join(room, name)
            names[welcome["student"]] = welcome["name"]
            send(ws, "answer", {"activity": poll.id, "value": 0, "id": "v"})
            expect(ws, "ack")
        assert sorted(names.values()) == ["Ada", "Ada (2)", "Ada (4)", "Ada (5)", "Grace (2)", "ada (3)"]
        roster = room.students
        assert dict(zip(column(roster, "student"), column(roster, "name"), strict=True)) == \
            {**names, room.student_links["Grace"].split("=")[-1].split(".")[0]: "Grace"}
        rows = poll.responses
        assert dict(zip(column(rows, "student"), column(rows, "name"), strict=True)) == names
        path = tmp_path / "s.csv"
        room.save(str(path))
        assert {r["student"]: r["name"] for r in nbws.Classroom.load(str(path))["responses"]} == names
        deadline = time.monotonic() + 5
        while len(seen) < 6 and time.monotonic() < deadline:
            nbws.service(0.1)
        assert {r["student"]: r["name"] for r in seen} == names
    finally:
        room.close()


def test_the_projector_key_sees_what_the_class_sees_and_views_are_rate_limited() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1")
    try:
        assert room._instructor_key not in room.projector_url
        q = room.ask("Why?", kind="text")
        ada, _ = join(room, "Ada")
        send(ada, "answer", {"activity": q.id, "value": "because", "id": "w"})
        expect(ada, "ack")
        send(ada, "hand", {"raised": True})
        q.share()
        projector = open_ws(ws_url(room, "_room/view"))
        send(projector, "hello", {"key": room.projector_url.split("#key=")[1]})
        state = expect_room(projector, lambda v: v["activities"] and v["activities"][0].get("answers"))
        assert state["roster"] == [] and state["hands"] == [None] and state["connected"] == 1
        assert state["activities"][0]["answers"] == [{"name": None, "answer": "because"}]  # no names, not anonymous
        assert "Ada" not in json.dumps(state)
        panel_ws = panel(room)
        assert [s["name"] for s in expect(panel_ws, "room")["roster"]] == ["Ada"]  # the instructor's still has them
        for _ in range(30):  # before: unthrottled, 120 ms of I/O-thread CPU each
            try:
                send(projector, "qr", {"url": "https://example.org/"})
            except ConnectionClosed:
                break
        assert closed_with(projector) == 1008
        assert reply_or_close(panel_ws, 3) is None
    finally:
        room.close()


def test_a_student_page_opens_its_socket_once_there_is_a_name_so_a_slow_typist_joins() -> None:
    import asyncio

    from tests.browser import chromium

    room = nbws.Classroom("cs101", host="127.0.0.1", join_timeout=0.5)

    async def main() -> None:
        async with chromium() as browser:
            page = await (await browser.new_context()).new_page()
            await page.goto(room.join_url)
            await page.wait_for_selector("#join:not([hidden])", timeout=15000)
            assert await page.evaluate("window.room.conn") is None  # no socket held while the form waits
            await page.wait_for_timeout(1500)  # the student types slower than the join timeout
            await page.fill("#name", "Ada")
            await page.click("#join button")
            await page.wait_for_function("document.getElementById('who').textContent === 'Ada'", timeout=10000)
            assert await page.evaluate("window.room.conn.status") == "open"

    try:
        asyncio.run(asyncio.wait_for(main(), 60))
        assert column(room.students, "name") == ["Ada"]
    finally:
        room.close()


def test_heartbeats_are_rate_limited_on_both_sockets() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1")
    try:
        for ws in (open_ws(ws_url(room)), join(room, "Ada")[0], panel(room)):
            for beat in range(40):  # before: every one answered, as fast as they came
                try:
                    ws.send(json.dumps({"hb": beat}))
                except ConnectionClosed:
                    break
            assert closed_with(ws) == 1008
        calm, _ = join(room, "Grace")
        assert all(reply_or_close(calm, beat) is None for beat in range(3))  # a page's pace is answered
    finally:
        room.close()


def test_after_close_asking_or_showing_raises_and_results_stay_readable() -> None:
    room = nbws.Classroom("cs101", host="127.0.0.1")
    poll = room.poll("Stable?", ["yes", "no"])
    room.close()
    for act in (lambda: room.poll("Again?", ["yes", "no"]), lambda: room.ask("Why?"), lambda: room.show("slide"),
                poll.close, poll.reopen, poll.share):
        with pytest.raises(nbws.ClassroomClosedError, match=r"closed \(room\.close\(\)\)"):
            act()
    assert poll.results == {"yes": 0, "no": 0} and column(room.students, "name") == []


def test_with_send_buffer_policy_drop_a_dropped_view_is_sent_again() -> None:
    from websockets.sync.client import connect

    room = nbws.Classroom("cs101", host="127.0.0.1", send_buffer_policy="drop", send_buffer_size=64 * 1024)
    try:
        ada = connect(ws_url(room), max_size=None, max_queue=1).__enter__()
        send(ada, "join", {"name": "Ada"})
        expect(ada, "welcome")
        expect(ada, "view")
        for i in range(4):  # Ada stops reading: 28 MB of content fill the socket's buffers
            room.show(str(i) * 7_000_000)
        send(ada, "hand", {"raised": True})  # her view changes while her buffer is full: dropped
        last = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # she reads again: the dropped messages come after all
            message = json.loads(ada.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["topic"] == "shown":
                last = message["data"]["text"][0]
            elif message["data"]["you"]["hand"] and message["data"]["shown"] is not None and last == "3":
                break
        else:
            raise AssertionError("the view with the raised hand and the last content never came")
    finally:
        room.close()
