"""nbws.Classroom over real sockets: the documented student protocol spoken by
the independent ``websockets`` client, the room's state read back through
the instructor's API, and the room's rules as pure properties."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

import nbws
from nbws.classroom.model import Refusal, Room
from nbws.classroom.wire import parse as _parse


def ws_url(room: nbws.Classroom, path: str = "_room/ws", token: bool = True) -> str:
    base, _, query = room.join_url.partition("?")
    url = "ws" + base[4:].split("#")[0] + path
    return url + ("?" + query if token else "")


def send(ws: ClientConnection, topic: str, data: Any) -> None:
    ws.send(json.dumps({"topic": topic, "data": data}))


def expect(ws: ClientConnection, topic: str, timeout: float = 5.0) -> Any:
    """The data of the next message with ``topic`` (views in between skipped)."""
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if message["topic"] == topic:
            return message["data"]


def expect_view(ws: ClientConnection, check: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The first view for which ``check(view)`` holds (views are snapshots: a
    later one replaces an earlier one)."""
    deadline = time.monotonic() + timeout
    while True:
        view: dict[str, Any] = expect(ws, "view", max(0.01, deadline - time.monotonic()))
        if check(view):
            return view


def expect_shown(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    """The next content shown (a ``shown`` message that is not null)."""
    deadline = time.monotonic() + timeout
    while True:
        shown: dict[str, Any] | None = expect(ws, "shown", max(0.01, deadline - time.monotonic()))
        if shown is not None:
            return shown


def open_ws(url: str) -> ClientConnection:
    """A connected client (entered, as websockets wants)."""
    return connect(url).__enter__()


def join(room: nbws.Classroom, name: str) -> tuple[ClientConnection, dict[str, Any]]:
    ws = open_ws(ws_url(room))
    send(ws, "join", {"name": name})
    return ws, expect(ws, "welcome")


def closed_with(ws: ClientConnection, timeout: float = 5.0) -> int | None:
    try:
        while True:
            ws.recv(timeout=timeout)
    except ConnectionClosed:
        pass
    return ws.close_code


@pytest.fixture
def room() -> Any:
    r = nbws.Classroom("cs101", host="127.0.0.1", rate=20.0, burst=40)
    yield r
    r.close()


def test_join_answer_and_read_the_results(room: nbws.Classroom) -> None:
    poll = room.poll("Which sort is stable?", ["quicksort", "mergesort", "heapsort"])
    ada, me = join(room, "Ada")
    view = expect(ada, "view")
    assert view["activity"]["prompt"] == "Which sort is stable?" and view["you"]["name"] == "Ada"
    assert "results" not in view["activity"]  # nobody sees counts before they are shared
    send(ada, "answer", {"activity": poll.id, "value": "mergesort", "id": "ans-1"})
    assert expect(ada, "ack") == {"id": "ans-1"}
    assert poll.results == {"quicksort": 0, "mergesort": 1, "heapsort": 0}
    rows = poll.responses
    assert list(rows["name"]) == ["Ada"] and list(rows["answer"]) == ["mergesort"]
    poll.share()
    assert expect_view(ada, lambda v: "results" in v["activity"])["activity"]["results"] == [0, 1, 0]
    assert me["name"] == "Ada" and list(room.students["name"]) == ["Ada"]


def test_a_reconnecting_student_is_the_same_student_and_a_resend_counts_once(room: nbws.Classroom) -> None:
    question = room.ask("Why?", kind="text")
    poll = room.poll("Stable?", ["yes", "no"])
    first, me = join(room, "Grace")
    send(first, "answer", {"activity": poll.id, "value": 0, "id": "once"})
    send(first, "answer", {"activity": question.id, "value": "because", "id": "text-once"})
    expect(first, "ack")
    expect(first, "ack")
    first.close()  # the Wi-Fi drops
    again = open_ws(ws_url(room))
    send(again, "join", {"student": me["student"], "key": me["key"]})
    assert expect(again, "welcome")["student"] == me["student"]
    send(again, "answer", {"activity": poll.id, "value": 0, "id": "once"})  # the page resends what was unacked
    assert expect(again, "ack") == {"id": "once"}
    send(again, "answer", {"activity": question.id, "value": "because", "id": "text-once"})
    assert expect(again, "ack") == {"id": "text-once"}
    assert poll.results == {"yes": 1, "no": 0} and len(room.students) == 1
    assert len(question.responses) == 1
    again.close()


def test_nobody_can_be_someone_else_or_the_instructor(room: nbws.Classroom) -> None:
    room.poll("Stable?", ["yes", "no"])
    ada, me = join(room, "Ada")
    mallory = open_ws(ws_url(room))
    send(mallory, "join", {"student": me["student"], "key": "guessed"})
    assert "unknown student or wrong key" in expect(mallory, "refused")["reason"]
    view = open_ws(ws_url(room, "_room/view"))  # a student who found the instructor's socket
    send(view, "hello", {"key": me["key"]})
    assert closed_with(view) == 1008
    with pytest.raises(InvalidStatus) as info:  # no student token: not even the page
        open_ws(ws_url(room, token=False))
    assert info.value.response.status_code == 403
    ada.close()
    mallory.close()


def test_bad_messages_get_close_codes(room: nbws.Classroom) -> None:
    poll = room.ask("Write a function", kind="code")
    for payload, code in ((b"\x00binary", 1003), ("not json", 1008), ('{"topic": 3}', 1008),
                          (json.dumps({"topic": "answer", "data": {}}), 1008)):  # answering before joining
        ws = open_ws(ws_url(room))
        ws.send(payload)
        assert closed_with(ws) == code, payload
    big, _ = join(room, "Big")
    send(big, "answer", {"activity": poll.id, "value": "x" * 30_000, "id": "big"})
    assert closed_with(big) == 1009
    huge, _ = join(room, "Huge")
    huge.send(json.dumps({"topic": "answer", "data": {"value": "x" * 400_000}}))  # past the socket's message limit
    assert closed_with(huge) == 1009


def test_too_many_messages_disconnect_that_student_only() -> None:
    room = nbws.Classroom("rate", host="127.0.0.1", rate=1.0, burst=5)
    try:
        poll = room.poll("Stable?", ["yes", "no"])
        calm, _ = join(room, "Calm")
        noisy, _ = join(room, "Noisy")
        for i in range(10):
            try:
                send(noisy, "hand", {"raised": i % 2 == 0})
            except ConnectionClosed:  # cut off before the tenth
                break
        assert closed_with(noisy) == 1008
        send(calm, "answer", {"activity": poll.id, "value": 1, "id": "calm-1"})
        assert expect(calm, "ack") == {"id": "calm-1"}
        calm.close()
    finally:
        room.close()


def test_answers_are_recorded_while_the_instructor_cell_is_busy(room: nbws.Classroom) -> None:
    poll = room.poll("Stable?", ["yes", "no"])
    acked = threading.Event()

    def student() -> None:
        ws, _ = join(room, "Linus")
        send(ws, "answer", {"activity": poll.id, "value": "yes", "id": "busy"})
        expect(ws, "ack")
        acked.set()
        ws.close()

    threading.Thread(target=student, daemon=True).start()
    assert acked.wait(10)  # this thread (the handler plane) is blocked the whole time
    assert poll.results == {"yes": 1, "no": 0}


def test_reopen_keeps_both_rounds_and_callbacks_run_on_the_handler_plane(room: nbws.Classroom) -> None:
    poll = room.poll("Stable?", ["yes", "no"])
    seen: list[dict[str, Any]] = []
    poll.on_answer(seen.append)
    ws, _ = join(room, "Ada")
    send(ws, "answer", {"activity": poll.id, "value": "no", "id": "r1"})
    expect(ws, "ack")
    poll.close()
    send(ws, "answer", {"activity": poll.id, "value": "yes", "id": "late"})
    assert "closed" in expect(ws, "refused")["reason"]
    poll.reopen()
    send(ws, "answer", {"activity": poll.id, "value": "yes", "id": "r2"})
    expect(ws, "ack")
    assert poll.rounds == [{"yes": 0, "no": 1}, {"yes": 1, "no": 0}]
    nbws.service(5)
    deadline = time.monotonic() + 5
    while len(seen) < 2 and time.monotonic() < deadline:
        nbws.service(0.1)
    assert [r["answer"] for r in seen] == ["no", "yes"] and [r["round"] for r in seen] == [1, 2]
    ws.close()


def test_show_reaches_students_and_save_load_roundtrip(room: nbws.Classroom, tmp_path: Any) -> None:
    ws, _ = join(room, "Ada")
    expect(ws, "view")
    room.show("Look at slide 3")
    shown = expect_shown(ws)
    assert shown["text"] == "Look at slide 3"
    assert expect_view(ws, lambda v: v["shown"])["shown"] == shown["id"]  # a view carries the id only
    q = room.ask("How many?", kind="number")
    send(ws, "answer", {"activity": q.id, "value": 42, "id": "n"})
    expect(ws, "ack")
    path = tmp_path / "session.json"
    room.save(str(path))
    record = nbws.Classroom.load(str(path))
    assert record["students"][0]["name"] == "Ada"
    assert record["activities"][0]["responses"][0]["answer"] == 42
    ws.close()


# -- the rules, as properties of the pure model --

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200) | json_values.map(json.dumps))
def test_any_text_is_a_message_or_a_refusal(text: str) -> None:
    try:
        topic, data = _parse(text)
    except Refusal as refusal:
        assert refusal.code == 1008
        return
    assert isinstance(topic, str) and isinstance(data, dict)


def _state(room: Room) -> Any:
    """Everything an answer may change, as plain data."""
    return ([(a.id, [dict(r) for r in a.rounds], list(a.attempts), dict(a.tries)) for a in room.activities.values()],
            [(s.id, s.name, set(s.seen_ids), s.answers, s.stored) for s in room.students.values()])


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from([0, 0, 1, 1, 2, 2, 3, 4]),  # mostly the real activities
                                st.sampled_from([0, 1, "a", 2.5]) | st.text(max_size=15) | json_values,
                                st.integers(0, 15).map(lambda i: f"id{i}"),  # resends among them
                                st.sampled_from([None, None, 1, 1, 0, 2])), min_size=10, max_size=40),
       name=json_values)
def test_any_answer_or_join_is_recorded_exactly_once_or_refused_without_a_trace(
        steps: list[tuple[int, Any, Any, Any]], name: Any) -> None:
    room = Room(max_attempts=2, max_stored=20, max_seen=4)
    ada = room.join("Ada")
    ids = [room.open_activity("q", kind, options, kind == "choice", 0.0).id
           for kind, options in (("choice", ("a", "b")), ("text", ()), ("number", ()))]
    for target, value, answer_id, round_seen in steps:
        activity_id: Any = ids[target] if target < 3 else ("a1" if target == 3 else value)
        before = _state(room)
        seen = answer_id in ada.seen_ids if isinstance(answer_id, str) else False
        try:
            new = room.answer(ada, activity_id, value, answer_id, 1.0, round_seen)
        except Refusal:
            assert _state(room) == before  # refused: nothing recorded, nothing counted
            continue
        if not new:  # a resend: acknowledged again, recorded once
            assert seen and _state(room) == before
            continue
        assert not seen and answer_id in ada.seen_ids and ada.answers == before[1][0][3] + 1
        assert round_seen in (None, 1)  # an answer given in another round is refused
        activity = room.activities[activity_id]
        if activity.poll:
            assert activity.current()[ada.id].answer in (0, 1)
        else:
            earlier = next(attempts for aid, _, attempts, _ in before[0] if aid == activity_id)
            assert activity.attempts[:-1] == earlier and activity.attempts[-1].answer == value  # one more, this one
            assert activity.tries[ada.id] <= 2
    assert ada.answers == len(ada.seen_ids) <= 4 and ada.stored <= 20
    try:
        room.join(name)
    except Refusal:
        pass
    for act in room.activities.values():
        if act.kind == "choice":
            assert sum(act.counts()) <= 1


def test_the_instructor_view_sees_names_and_draws_qr_codes(room: nbws.Classroom) -> None:
    poll = room.poll("Stable?", ["yes", "no"])
    ada, _ = join(room, "Ada")
    send(ada, "answer", {"activity": poll.id, "value": 1, "id": "v"})
    expect(ada, "ack")
    key = room._instructor_key
    view = open_ws(ws_url(room, "_room/view"))
    send(view, "hello", {"key": key})
    state = expect(view, "room")
    assert [s["name"] for s in state["roster"]] == ["Ada"]
    assert state["activities"][0]["results"] == [0, 1]
    send(view, "qr", {"url": "https://hub.example/user/ada/nbws/k/cs101/?token=t"})
    drawn = expect(view, "qr")
    assert drawn["svg"].startswith("<svg") and drawn["url"].startswith("https://hub.example/")
    assert room.qr.startswith("<svg")  # the join URL's, drawn in Python
    view.close()
    ada.close()


def test_heartbeats_are_answered_on_the_io_thread(room: nbws.Classroom) -> None:
    ws = open_ws(ws_url(room))
    ws.send('{"hb": 7}')  # before joining, and without touching the handler plane (this thread blocks)
    assert json.loads(ws.recv(timeout=5)) == {"hb": 7}
    ws.send('{"hb": "x"}')
    assert closed_with(ws) == 1008


def test_the_notebook_views_carry_the_instructor_key_and_load_nbws_js(room: nbws.Classroom) -> None:
    import html
    import re
    import urllib.parse
    import urllib.request

    poll = room.poll("Stable?", ["yes", "no"])
    key = room._instructor_key
    for bundle in (room._repr_mimebundle_(), poll._repr_mimebundle_()):
        src = re.search(r'<iframe src="([^"]+)"', bundle["text/html"])
        assert src is not None
        url = html.unescape(src.group(1))
        assert url.endswith("#key=" + key), url  # the view presents it in its hello
        with urllib.request.urlopen(url.split("#")[0], timeout=5) as response:
            page = response.read().decode()
        module = re.search(r'from "([^"]+nbws\.js)"', page)
        assert module is not None
        helper = urllib.parse.urljoin(url, module.group(1)) + "?token=" + room.server.token  # the browser: a cookie
        with urllib.request.urlopen(helper, timeout=5) as response:
            assert response.status == 200 and b"export function connect" in response.read()


def test_an_unshared_answer_changes_one_students_view_a_shared_one_everyones() -> None:
    room = Room()
    ada, grace = room.join("Ada"), room.join("Grace")
    poll = room.open_activity("Stable?", "choice", ("yes", "no"), True, 0.0)
    room.take_touched()
    everyone = room.everyone
    room.answer(ada, poll.id, 0, "a1", 1.0)
    assert room.take_touched() == {ada.id} and room.everyone == everyone  # 1 view to refresh, not the class's
    room.share(poll)
    room.answer(grace, poll.id, 1, "g1", 2.0)
    assert room.shared_changed  # every student's view shows the new counts (at most every SHARED_EVERY s)


def test_shared_counts_reach_the_students_who_already_answered(room: nbws.Classroom) -> None:
    poll = room.poll("Stable?", ["yes", "no"])
    ada, _ = join(room, "Ada")
    grace, _ = join(room, "Grace")
    send(ada, "answer", {"activity": poll.id, "value": 0, "id": "a"})
    expect(ada, "ack")
    poll.share()
    assert expect_view(ada, lambda v: "results" in v["activity"])["activity"]["results"] == [1, 0]
    send(grace, "answer", {"activity": poll.id, "value": 1, "id": "g"})
    expect(grace, "ack")
    assert expect_view(ada, lambda v: v["activity"].get("results") == [1, 1])  # Grace's vote, on Ada's page
    ada.close()
    grace.close()


def test_closing_the_room_tells_every_student_page() -> None:
    room = nbws.Classroom("ending", host="127.0.0.1")
    ada, _ = join(room, "Ada")
    waiting = open_ws(ws_url(room))  # a page still asking for a name hears it too
    room.close()
    assert expect(ada, "ended") == {} and expect(waiting, "ended") == {}
    assert closed_with(ada) == closed_with(waiting) == 1001  # then the server goes away
    room.close()  # twice is fine


def test_shared_text_answers_carry_names_unless_anonymous() -> None:
    for anonymous in (False, True):
        room = nbws.Classroom("share", host="127.0.0.1", anonymous=anonymous)
        try:
            q = room.ask("Why is mergesort stable?", kind="text")
            ada, _ = join(room, "Ada")
            send(ada, "answer", {"activity": q.id, "value": "it never swaps equal keys", "id": "s1"})
            expect(ada, "ack")
            assert "answers" not in expect_view(ada, lambda v: v["activity"] is not None)["activity"]
            q.share()
            shared = expect_view(ada, lambda v: "answers" in v["activity"])["activity"]["answers"]
            assert shared == [{"name": None if anonymous else "Ada", "answer": "it never swaps equal keys"}]
            ada.close()
        finally:
            room.close()


def test_a_live_plot_on_the_rooms_server_is_shown_live(room: nbws.Classroom) -> None:
    ws, _ = join(room, "Ada")
    elsewhere = nbws.LivePlot("elsewhere")
    with pytest.raises(ValueError, match=r"server=room\.server"):
        room.show(elsewhere)
    plot = nbws.LivePlot("loss", server=room.server)
    room.show(plot)
    shown = expect_shown(ws)
    assert shown["kind"] == "frame" and shown["path"] == "live/loss/"
    ws.close()


def test_csv_record_and_roster_times(room: nbws.Classroom, tmp_path: Any) -> None:
    import datetime

    poll = room.poll("Stable?", ["yes", "no"])
    ada, _ = join(room, "Ada")
    send(ada, "answer", {"activity": poll.id, "value": "no", "id": "c1"})
    expect(ada, "ack")
    path = tmp_path / "session.csv"
    room.save(str(path))
    rows = nbws.Classroom.load(str(path))["responses"]
    assert [(r["prompt"], r["name"], r["answer"], r["round"]) for r in rows] == [("Stable?", "Ada", "no", "1")]
    assert datetime.datetime.fromisoformat(rows[0]["time"]).year >= 2024
    assert isinstance(room.students["last_seen"][0], (datetime.datetime, __import__("pandas").Timestamp))
    ada.close()


def test_default_bind_is_the_lan_and_the_join_url_its_address(monkeypatch: pytest.MonkeyPatch) -> None:
    from nbws.classroom.join import lan_address

    address = lan_address()
    if address is None:
        pytest.skip("this machine has no LAN address")
    room = nbws.Classroom("lan")
    try:
        assert room.join_url.startswith(f"http://{address}:{room.server.port}/?token=")
        with open_ws("ws" + room.join_url[4:].replace("/?", "/_room/ws?")) as ws:  # reached at that address
            send(ws, "join", {"name": "Ada"})
            assert expect(ws, "welcome")["name"] == "Ada"
    finally:
        room.close()
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")  # students come through the hub's proxy
    hub = nbws.Classroom("hub")
    try:
        with pytest.raises(OSError):  # loopback only: the LAN address is not listening
            connect(f"ws://{address}:{hub.server.port}/_room/ws", open_timeout=2).__enter__()
    finally:
        hub.close()


def test_a_kernel_interrupt_loses_no_answer() -> None:
    from tests.kernel import kernel

    with kernel() as k:
        out = k.run("import nbws\nroom = nbws.Classroom('irq', host='127.0.0.1')\n"
                    "poll = room.poll('Stable?', ['yes', 'no'])\nprint(poll.id)\nprint(room.join_url)")
        poll_id, url = out.strip().splitlines()[-2:]
        base, _, query = url.partition("?")
        with open_ws("ws" + base[4:] + "_room/ws?" + query) as ws:
            send(ws, "join", {"name": "Ada"})
            expect(ws, "welcome")
            busy = k.start("import time\nprint('looping', flush=True)\nwhile True: time.sleep(0.01)")
            deadline = time.monotonic() + 30  # the loop runs (an interrupt before it would be lost)
            while True:
                msg = k.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
                if (msg["parent_header"].get("msg_id") == busy and msg["msg_type"] == "stream"
                        and "looping" in msg["content"]["text"]):
                    break
            send(ws, "answer", {"activity": poll_id, "value": "no", "id": "irq-1"})
            assert expect(ws, "ack") == {"id": "irq-1"}  # recorded while the cell runs
            k.km.interrupt_kernel()
            _, reply = k.finish(busy, 30)
            assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
            assert "{'yes': 0, 'no': 1}" in k.run("print(poll.results)")
