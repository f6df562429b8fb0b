"""Resumable sessions on the envelope endpoint, spoken by a real client (the
`websockets` library) over real sockets: hello, heartbeats and acks answered
by the I/O thread, replay after a reconnect, duplicates dropped, gaps told,
sessions expired and bounded, plain clients untouched."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as connect_sync

import nbws
from nbws.boundary.replay import ReplayBudget, ReplayLog, sequenced
from tests.conftest import run, wait_for_condition, wait_until


def session_app(got: list[Any], events: list[Any] | None = None) -> nbws.App:
    app = nbws.App()

    @app.on("n")
    def n(ws: nbws.WebSocket, data: Any) -> None:
        got.append(data)

    @app.session_started
    def started(session: nbws.Session) -> None:
        if events is not None:
            events.append(("started", session.id))

    @app.session_ended
    def ended(session: nbws.Session) -> None:
        if events is not None:
            events.append(("ended", session.id, session.expired))

    return app


def hello(session: str | None = None, ack: int = 0, epoch: str = "e1") -> str:
    return json.dumps({"nbws": "hello", "protocol": "nbws/1", "session": session, "epoch": epoch, "ack": ack})


async def welcome(c: ClientConnection, session: str | None = None, ack: int = 0, epoch: str = "e1") -> dict[str, Any]:
    await c.send(hello(session, ack, epoch))
    answer = json.loads(await asyncio.wait_for(c.recv(), 5))
    assert answer.get("nbws") == "welcome", answer
    return answer  # type: ignore[no-any-return]


async def recv_json(c: ClientConnection, n: int) -> list[dict[str, Any]]:
    return [json.loads(await asyncio.wait_for(c.recv(), 5)) for _ in range(n)]


def test_a_new_session_is_welcomed_and_its_envelopes_are_numbered() -> None:
    got: list[Any] = []
    events: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=session_app(got, events))
        async with connect(server.ws_url + "_nbws/ws") as c:
            w = await welcome(c)
            assert w["resumed"] is False and w["ack"] == 0 and w["from"] == 1 and len(w["session"]) >= 16
            await c.send('{"seq":1,"topic":"n","data":"a"}')
            await wait_for_condition(lambda: got == ["a"])
            (session,) = server.sessions
            assert session.id == w["session"] and session.connected and session.ws is not None
            assert session.ws.session is session
            session.emit("t", 1)
            server.emit("t", 2)
            assert await recv_json(c, 2) == [{"seq": 1, "topic": "t", "data": 1}, {"seq": 2, "topic": "t", "data": 2}]
        assert events == [("started", w["session"])]

    run(main)


def test_replayed_page_messages_are_delivered_once_and_acknowledged() -> None:
    got: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=session_app(got))
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as c:
            w = await welcome(c)
            for i in range(1, 4):
                await c.send(f'{{"seq":{i},"topic":"n","data":{i}}}')
            assert json.loads(await asyncio.wait_for(c.recv(), 5)) == {"nbws": "ack", "ack": 3}  # periodic, from the I/O thread
        async with connect(url) as c:  # the page did not see that ack: it replays 2..5
            w2 = await welcome(c, w["session"], 0)
            assert w2["resumed"] is True and w2["ack"] == 3
            for i in range(2, 6):
                await c.send(f'{{"seq":{i},"topic":"n","data":{i}}}')
            await wait_for_condition(lambda: len(got) >= 5)
        assert got == [1, 2, 3, 4, 5]

    run(main)


def test_what_the_page_missed_is_replayed_in_order_after_it_comes_back() -> None:
    async def main() -> None:
        server = nbws.start_server(app=session_app([]))
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as c:
            w = await welcome(c)
            for i in range(3):
                server.emit("t", i)
            assert [m["seq"] for m in await recv_json(c, 3)] == [1, 2, 3]
            await c.send('{"nbws":"ack","ack":2}')
        await wait_for_condition(lambda: not server.sessions[0].connected)
        for i in range(3, 6):
            server.emit("t", i)  # the page is away
        await wait_for_condition(lambda: server.sessions[0].buffered[0] == 4)  # 3 (unacked) and 4..6
        async with connect(url) as c:
            w2 = await welcome(c, w["session"], ack=3)
            assert w2["from"] == 4 and w2["resumed"] is True
            replay = await recv_json(c, 3)
            assert [(m["seq"], m["data"]) for m in replay] == [(4, 3), (5, 4), (6, 5)]
            server.emit("t", 6)
            assert (await recv_json(c, 1))[0]["seq"] == 7
        assert server.sessions[0].reconnects == 1

    run(main)


def test_a_page_that_missed_more_than_the_buffer_is_told_where_the_replay_starts() -> None:
    async def main() -> None:
        server = nbws.start_server(app=session_app([]), session_buffer_messages=5)
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as c:
            w = await welcome(c)
        await wait_for_condition(lambda: server.sessions and not server.sessions[0].connected)
        for i in range(20):
            server.emit("t", i)
        await wait_for_condition(lambda: server.sessions[0].buffered[0] == 5)
        async with connect(url) as c:
            w2 = await welcome(c, w["session"], ack=0)
            assert w2["resumed"] is True and w2["from"] == 16  # the page had 0: 15 are lost (a "resync" in nbws.js)
            assert [m["data"] for m in await recv_json(c, 5)] == [15, 16, 17, 18, 19]

    run(main)


def test_heartbeats_and_acks_are_answered_while_the_handler_loop_is_busy() -> None:
    """The I/O thread answers: a busy cell does not make pages think their
    socket is dead, and user handlers never see the session's own messages."""
    got: list[Any] = []
    answers: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=session_app(got))
        url = server.ws_url + "_nbws/ws"
        done = threading.Event()

        def page() -> None:
            try:
                with connect_sync(url, open_timeout=5) as c:
                    c.send(hello())
                    answers.append(json.loads(c.recv(timeout=5)))
                    t0 = time.monotonic()
                    c.send('{"nbws":"hb","hb":1,"ack":0}')
                    answers.append(json.loads(c.recv(timeout=5)))
                    c.send('{"seq":1,"topic":"n","data":1}')
                    c.send('{"seq":1,"topic":"n","data":1}')  # a duplicate
                    c.send('{"nbws":"hb","hb":2,"ack":0}')
                    answers.append(json.loads(c.recv(timeout=5)))
                    answers.append(time.monotonic() - t0)
            finally:
                done.set()

        worker = threading.Thread(target=page)
        worker.start()
        assert done.wait(10)  # this blocks the handler loop, like a busy cell
        assert got == []  # no handler ran meanwhile
        worker.join(5)
        assert answers[1] == {"nbws": "hb", "hb": 1, "ack": 0}
        assert answers[2] == {"nbws": "hb", "hb": 2, "ack": 1}
        assert answers[3] < 2.0
        await wait_for_condition(lambda: got == [1])  # once the loop is free: once, not twice

    run(main)


def test_a_session_away_past_its_timeout_ends_and_a_late_page_starts_anew() -> None:
    events: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=session_app([], events), session_timeout=0.2)
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as c:
            w = await welcome(c)
        session_id = w["session"]
        await wait_for_condition(lambda: len(events) == 2, timeout=5)
        assert events == [("started", session_id), ("ended", session_id, True)]
        assert server.sessions == []
        async with connect(url) as c:
            w2 = await welcome(c, session_id, ack=7)
            assert w2["resumed"] is False and w2["session"] != session_id and w2["from"] == 1

    run(main)


def test_a_reloaded_page_keeps_its_session_and_numbers_from_one_again() -> None:
    got: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=session_app(got))
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as c:
            w = await welcome(c, epoch="first")
            await c.send('{"seq":1,"topic":"n","data":"a"}')
            await wait_for_condition(lambda: got == ["a"])
        await wait_for_condition(lambda: not server.sessions[0].connected)  # the old page's socket is gone
        async with connect(url) as c:
            w2 = await welcome(c, w["session"], epoch="reloaded")
            assert w2["resumed"] is True and w2["ack"] == 0
            await c.send('{"seq":1,"topic":"n","data":"b"}')
            await wait_for_condition(lambda: got == ["a", "b"])

    run(main)


def test_plain_clients_on_the_envelope_endpoint_are_untouched() -> None:
    got: list[Any] = []

    async def main() -> None:
        app = session_app(got)
        app.on("message")(lambda ws, text: got.append(("text", text)))
        server = nbws.start_server(app=app)
        async with connect(server.ws_url + "_nbws/ws") as c:
            await c.send('{"topic":"n","data":1}')
            await c.send('{"nbws":"hb","hb":1}')  # not a session: an ordinary message
            await c.send(hello())  # a hello that is not first: an ordinary message too
            await wait_for_condition(lambda: len(got) == 3)
            server.emit("t", 5)
            assert json.loads(await asyncio.wait_for(c.recv(), 5)) == {"topic": "t", "data": 5}
        assert got[0] == 1 and got[1] == ("text", '{"nbws":"hb","hb":1}') and got[2][0] == "text"
        assert server.sessions == []

    run(main)


def test_replay_logs_are_bounded_per_session_and_in_total() -> None:
    budget = ReplayBudget(300)
    one = ReplayLog(1000, 10_000, 60.0, budget)
    two = ReplayLog(1000, 10_000, 60.0, budget)
    for i in range(50):
        one.send(f'{{"topic":"t","data":{i}}}')
        two.send(f'{{"topic":"t","data":{i}}}')
    assert budget.total <= 300 + len(sequenced(50, '{"topic":"t","data":49}'))
    assert one.size[1] + two.size[1] == budget.total
    small = ReplayLog(3, 10_000, 60.0, ReplayBudget(None))
    for i in range(10):
        small.send(f'{{"topic":"t","data":{i}}}')
    assert small.size[0] == 3 and small.trimmed_unacked == 7
    aged = ReplayLog(1000, 10_000, 1.0, ReplayBudget(None))
    aged.send('{"topic":"t"}')
    aged.trim(now=time.monotonic() + 2)
    assert aged.size == (0, 0)
    one.clear()
    two.clear()
    assert budget.total == 0


def test_a_duplicated_tab_naming_an_open_session_gets_its_own() -> None:
    async def main() -> None:
        server = nbws.start_server(app=session_app([]))
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as first:
            w = await welcome(first, epoch="tab1")
            async with connect(url) as copy:  # sessionStorage copied, another page instance
                w2 = await welcome(copy, w["session"], epoch="tab2")
                assert w2["resumed"] is False and w2["session"] != w["session"]
                server.emit("t", 1)
                assert (await recv_json(first, 1))[0]["seq"] == 1  # the original keeps its session
                assert (await recv_json(copy, 1))[0]["seq"] == 1
        assert len(server.sessions) == 2

    run(main)


def test_a_replay_log_keeps_at_most_its_bytes() -> None:
    log = ReplayLog(1000, 100, 60.0, ReplayBudget(None))
    for i in range(20):
        log.send(f'{{"topic":"t","data":{i}}}')
    messages, size = log.size
    assert size <= 100 and messages == size // len(sequenced(20, '{"topic":"t","data":19}'))


def test_a_broadcast_while_a_page_reconnects_reaches_it_once_in_the_replay() -> None:
    """server.emit runs after the page's new socket opened and before its
    hello arrived: the page gets the message once, numbered, after the
    welcome (not also unnumbered before it)."""
    async def main() -> None:
        server = nbws.start_server(app=session_app([]))
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as c:
            w = await welcome(c)
        await wait_for_condition(lambda: not server.sessions[0].connected)
        async with connect(url) as c:  # open; the hello is not sent yet
            server.emit("t", "X")
            await wait_for_condition(lambda: server.sessions[0].buffered[0] == 1)
            await c.send(hello(w["session"]))
            first = json.loads(await asyncio.wait_for(c.recv(), 5))
            assert first.get("nbws") == "welcome" and first["resumed"] is True, first
            server.emit("t", "Y")
            assert await recv_json(c, 2) == [{"seq": 1, "topic": "t", "data": "X"}, {"seq": 2, "topic": "t", "data": "Y"}]

    run(main)


def test_a_broadcast_held_for_a_socket_that_starts_a_new_session_comes_before_its_welcome() -> None:
    async def main() -> None:
        server = nbws.start_server(app=session_app([]))
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as other, connect(url) as c:
            await welcome(other)
            server.emit("t", "X")  # the other session logs it: held for c until its first message
            assert (await recv_json(other, 1))[0]["data"] == "X"
            await c.send(hello())
            assert await recv_json(c, 1) == [{"topic": "t", "data": "X"}]  # unnumbered: not in the new session
            assert (await recv_json(c, 1))[0]["nbws"] == "welcome"
            server.emit("t", "Y")
            assert await recv_json(c, 1) == [{"seq": 1, "topic": "t", "data": "Y"}]

    run(main)


def test_a_plain_client_gets_held_broadcasts_at_its_first_message_or_after_handshake_timeout() -> None:
    """While sessions exist, broadcasts to a socket that has not spoken yet
    wait for its first message; a client that only listens gets them after
    handshake_timeout, in order, and later ones at once."""
    got: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=session_app(got), handshake_timeout=0.5)
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as page, connect(url) as talker, connect(url) as listener:
            await welcome(page)
            server.emit("t", 1)
            server.emit("t", 2)
            await talker.send('{"topic":"n","data":"hi"}')
            assert await recv_json(talker, 2) == [{"topic": "t", "data": 1}, {"topic": "t", "data": 2}]
            t0 = time.monotonic()
            assert await recv_json(listener, 2) == [{"topic": "t", "data": 1}, {"topic": "t", "data": 2}]
            assert 0.2 < time.monotonic() - t0 < 3.0
            server.emit("t", 3)
            assert await recv_json(listener, 1) == [{"topic": "t", "data": 3}]
        assert got == ["hi"] and len(server.sessions) == 1

    run(main)


def test_broadcasts_held_past_send_buffer_size_go_to_a_silent_socket_at_once() -> None:
    """What a socket that has not spoken yet holds is bounded: past
    send_buffer_size it is sent as to a plain client, without waiting for
    handshake_timeout."""
    async def main() -> None:
        server = nbws.start_server(app=session_app([]), handshake_timeout=30, send_buffer_size=64 * 1024)
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as page, connect(url) as listener:
            await welcome(page)
            for i in range(7):  # 70 kB
                server.emit("t", [i, "x" * 10_000])
            assert [m["data"][0] for m in await recv_json(listener, 7)] == list(range(7))

    run(main)


def test_a_replay_log_keeps_nothing_after_it_was_cleared() -> None:
    budget = ReplayBudget(None)
    log = ReplayLog(1000, 10_000, 60.0, budget)
    log.send('{"topic":"t","data":0}')
    log.clear()
    assert log.send('{"topic":"t","data":1}') is False
    assert log.size == (0, 0) and budget.total == 0


def test_a_session_that_ended_while_the_handler_loop_was_busy_keeps_nothing_sent_to_it() -> None:
    """The page stays away past session_timeout during a busy cell: the I/O
    thread ends the session, handlers still see it and emit to it; none of
    that is kept (the server's replay budget falls back to zero)."""
    async def main() -> None:
        server = nbws.start_server(app=session_app([]), session_timeout=0.2)
        async with connect(server.ws_url + "_nbws/ws") as c:
            await welcome(c)
        await wait_for_condition(lambda: server.sessions and not server.sessions[0].connected)
        (session,) = server.sessions
        assert server._endpoint is not None
        table = server._endpoint.sessions
        wait_until(lambda: not table.sessions, timeout=5)  # blocks the handler loop, like a busy cell
        assert not session.expired  # the handler loop has not been told yet
        for i in range(100):
            session.emit("t", i)
        assert session.buffered == (0, 0) and table.budget.total == 0
        await wait_for_condition(lambda: session.expired)

    run(main)


def test_past_max_sessions_the_session_away_the_longest_ends_not_the_oldest() -> None:
    events: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=session_app([], events), max_sessions=2)
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as oldest:
            first = (await welcome(oldest))["session"]
            async with connect(url) as second:
                away_longest = (await welcome(second))["session"]
            await wait_for_condition(lambda: len([s for s in server.sessions if not s.connected]) == 1)
        await wait_for_condition(lambda: not any(s.connected for s in server.sessions))
        async with connect(url) as c:
            third = (await welcome(c))["session"]
            await wait_for_condition(lambda: ("ended", away_longest, True) in events)
            assert sorted(s.id for s in server.sessions) == sorted([first, third])

    run(main)


def test_past_max_sessions_with_every_page_connected_the_newcomer_is_refused_with_1013() -> None:
    """Live pages keep their sessions (none becomes a silent zombie); the new
    page's socket closes with 1013 (try again later), and nbws.js retries."""
    async def main() -> None:
        server = nbws.start_server(app=session_app([]), max_sessions=2)
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as a, connect(url) as b:
            await welcome(a)
            await welcome(b)
            async with connect(url) as c:
                await c.send(hello())
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(c.recv(), 5)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
                assert "max_sessions" in closed.value.rcvd.reason
            server.emit("t", 1)
            assert (await recv_json(a, 1))[0]["seq"] == 1 and (await recv_json(b, 1))[0]["seq"] == 1
            assert len(server.sessions) == 2 and all(s.connected for s in server.sessions)

    run(main)


def test_a_hello_at_max_sessions_takes_no_replay_log_lock_under_its_connections_lock() -> None:
    """The lock order (a log's, then a connection's): while a thread holds the
    evicted session's log lock, the I/O thread ending that session must not
    be holding the new page's connection lock (else a sender holding the log
    lock and waiting for the connection's would deadlock with it)."""
    async def main() -> None:
        server = nbws.start_server(app=session_app([]), max_sessions=1)
        url = server.ws_url + "_nbws/ws"
        async with connect(url) as c:
            await welcome(c)
        assert server._endpoint is not None
        ep = server._endpoint
        wait_until(lambda: all(st.conn is None for st in ep.sessions.sessions.values()))
        (victim,) = ep.sessions.sessions.values()
        answers: list[Any] = []
        victim.log._lock.acquire()
        try:
            def page() -> None:
                with connect_sync(url, open_timeout=5) as c2:
                    c2.send(hello())
                    answers.append(json.loads(c2.recv(timeout=10)))

            worker = threading.Thread(target=page)
            worker.start()
            wait_until(lambda: any(ws.gate is not None and ws.gate.mode == "session" for ws in list(ep.websockets)))
            (conn,) = [ws for ws in list(ep.websockets) if ws.gate is not None and ws.gate.mode == "session"]
            free = conn._lock.acquire(timeout=2)
            if free:
                conn._lock.release()
        finally:
            victim.log._lock.release()
        worker.join(10)
        assert free, "the I/O thread waited for a log's lock while holding a connection's"
        assert answers and answers[0]["nbws"] == "welcome"

    run(main)


def test_app_messages_that_look_like_the_old_control_messages_reach_the_handlers() -> None:
    """An app's own {"ack": 5} or {"hb": 1} on a session is the app's message,
    not the protocol's (whose messages begin with {"nbws":)."""
    got: list[Any] = []

    async def main() -> None:
        app = session_app(got)
        app.on("message")(lambda ws, text: got.append(text))
        server = nbws.start_server(app=app)
        async with connect(server.ws_url + "_nbws/ws") as c:
            await welcome(c)
            await c.send('{"ack":5}')
            await c.send('{"hb":1,"ack":0}')
            await c.send('{"welcome":"x"}')
            await wait_for_condition(lambda: len(got) == 3)
        assert got == ['{"ack":5}', '{"hb":1,"ack":0}', '{"welcome":"x"}']

    run(main)
