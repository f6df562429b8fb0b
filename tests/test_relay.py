"""``nbws relay`` in one process (the in-memory backplane): the kernel's
announcement and its secret, a page's message sent again through another
relay handled once, the kernel closing a remote page; and the wire formats
(a broker is outside input: decoders never raise)."""

from __future__ import annotations

import asyncio
import json
import secrets
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect

import nbws
from nbws.relay import relay_stats, start_relay
from nbws.relay.plots import PlotMirror
from nbws.relay.wire import (
    INBOX,
    Announcement,
    Inbound,
    decode_announcement,
    decode_inbound,
    encode_announcement,
    encode_inbound,
    unsequenced,
)
from tests.conftest import http_request, run
from tests.relay_pages import Page


def kernel_app(seen: list[Any]) -> nbws.App:
    app = nbws.App()

    @app.on("answer")
    def answer(ws: nbws.WebSocket, data: Any) -> None:
        seen.append(data)
        if data == "bye":
            ws.close(4001, "done")
        else:
            ws.emit("thanks", data)

    app.static("/hello", nbws.static_text("<p>hi</p>"))
    return app


Body = Callable[[nbws.Server, list[nbws.Server], list[Any]], Awaitable[None]]


def with_relays(body: Body, secrets_: tuple[str | None, ...] = ("k",), **traits: Any) -> None:
    """A kernel (relay_secret "k", and ``traits``) and one relay per secret, in this process, around ``body``."""
    async def main() -> None:
        seen: list[Any] = []
        app_name = "r" + secrets.token_hex(4)
        server = nbws.start_server(app=kernel_app(seen), app_name=app_name, ping_interval=None, relay_secret="k",
                                   **traits)
        relays: list[nbws.Server] = []
        try:
            relays = [start_relay(app_name, "memory", ping_interval=None, relay_secret=s) for s in secrets_]
            await body(server, relays, seen)
        finally:
            for relay in relays:
                relay.stop()
            server.stop()

    run(main)


async def settle(predicate: Any, timeout: float = 5.0, message: Any = None) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out: {message() if message else ''}"
        await asyncio.sleep(0.01)


def test_a_relay_serves_what_the_kernel_announced_only_with_its_secret() -> None:
    async def body(server: nbws.Server, relays: list[nbws.Server], seen: list[Any]) -> None:
        good, bad = relays
        await settle(lambda: relay_stats(good)["kernel"])
        status, _, page = await http_request(good.port, path="/hello")
        assert (status, page) == (200, b"<p>hi</p>")
        assert (await http_request(bad.port, path="/hello"))[0] == 404
        assert relay_stats(bad)["kernel"] == ""

    with_relays(body, ("k", "wrong"))


def test_a_message_sent_again_through_another_relay_is_handled_once() -> None:
    async def body(server: nbws.Server, relays: list[nbws.Server], seen: list[Any]) -> None:
        page = Page()
        await page.open(relays[0].url)
        await page.send("answer", "one")
        await settle(lambda: page.plain_topic("thanks") == ["one"], message=lambda: (seen, page.plain, page.numbered, server._endpoint.kernel.stats() if server._endpoint else None))
        page.unacked = [(1, '{"seq":1,"topic":"answer","data":"one"}')]  # as if its ack was lost with the relay
        await page.close()
        await page.open(relays[1].url)  # replays it
        await page.send("answer", "two")
        await settle(lambda: seen == ["one", "two"] and page.plain_topic("thanks") == ["one", "two"],
                     message=lambda: (seen, page.plain))
        await page.close()
        assert server._endpoint is not None and server._endpoint.kernel.stats()["repeats"] == 1

    with_relays(body, ("k", "k"))


def test_the_kernel_closing_a_remote_page_closes_its_socket_on_the_relay() -> None:
    async def body(server: nbws.Server, relays: list[nbws.Server], seen: list[Any]) -> None:
        async with connect(relays[0].ws_url + "_nbws/ws") as ws:
            await ws.send(json.dumps({"topic": "answer", "data": "bye"}))  # a plain client
            async with asyncio.timeout(5):
                await ws.wait_closed()
            assert ws.close_code == 4001 and ws.close_reason == "done"

    with_relays(body)


def test_an_emit_is_numbered_by_the_log_on_every_relay() -> None:
    async def body(server: nbws.Server, relays: list[nbws.Server], seen: list[Any]) -> None:
        pages = [Page(), Page()]
        for page, relay in zip(pages, relays, strict=True):
            await page.open(relay.url)
        for i in range(3):
            server.emit("m", i)
        await settle(lambda: all(len(p.numbered) == 3 for p in pages))
        assert pages[0].numbered == pages[1].numbered  # the same numbers on both relays
        for page in pages:
            await page.close()

    with_relays(body, ("k", "k"))


def test_records_survive_the_wire() -> None:
    record = Inbound("msg", "node1", "7", "sess:ep", 5, "/_nbws/ws", "a=1", (("origin", "x"),), ("1.2.3.4", 5),
                     1000, "", "héllo")
    assert decode_inbound(encode_inbound(record)) == record
    binary = Inbound("msg", "n", "1", "k", 1, data=b"\x00\xff")
    assert decode_inbound(encode_inbound(binary)) == binary
    a = Announcement("k1", {"/p": ("text/html", b"<p>")}, ("/ws",), {"loss": "{}"}, {"c": "all"})
    assert decode_announcement(encode_announcement(a, "s"), "s") == a
    assert decode_announcement(encode_announcement(a, "s"), "other") is None
    assert decode_announcement(encode_announcement(a, None), "s") is None
    assert unsequenced('{"seq":4,"topic":"t"}') == '{"topic":"t"}' and unsequenced('{"seq":4}') == "{}"


@given(st.binary(max_size=300))
def test_decoders_never_raise_on_what_a_broker_holds(raw: bytes) -> None:
    decode_inbound(raw)
    decode_announcement(raw, None)
    decode_announcement(raw, "s")
    decode_inbound(b'{"t":"msg"}\n' + raw)
    decode_announcement(b'{"mac":null}\n' + raw, None)


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
                     lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
                     max_leaves=8)


@given(st.fixed_dictionaries({
    "t": st.sampled_from(["open", "msg", "close"]), "r": _json | st.text(), "c": _json | st.text(),
    "k": _json | st.text(), "n": _json | st.integers(), "p": _json | st.text(), "q": _json | st.text(),
    "h": _json | st.lists(st.lists(_json, max_size=3), max_size=3), "a": _json | st.lists(_json, max_size=3),
    "code": _json | st.integers(), "why": _json | st.text(), "x": _json | st.sampled_from([0, 1])}),
    st.binary(max_size=20))
def test_a_record_with_every_header_key_never_raises(header: dict[str, Any], body: bytes) -> None:
    decode_inbound(json.dumps(header).encode() + b"\n" + body)


@given(st.fixed_dictionaries({
    "app": _json | st.text(), "v": _json | st.integers(), "node": _json | st.text(),
    "pages": _json | st.dictionaries(st.text(max_size=4), st.lists(_json | st.text(), max_size=3), max_size=2),
    "sockets": _json | st.lists(st.text(max_size=12), max_size=3), "plots": _json, "channels": _json}))
def test_an_announcement_with_every_key_never_raises(body: dict[str, Any]) -> None:
    decode_announcement(b'{"mac":null}\n' + json.dumps(body).encode(), None)


_RECORD = {"t": "open", "r": "n", "c": "1", "k": "", "n": 0, "p": "/", "q": "", "h": [], "a": ["h", 1],
           "code": 1000, "why": "", "x": 0}


@pytest.mark.parametrize("raw", [
    json.dumps(dict(_RECORD, a=["h", 1e400])).replace("Infinity", "1e400").encode() + b"\n",  # OverflowError
    json.dumps(dict(_RECORD, a=["h", float("nan")])).encode() + b"\n",
    json.dumps(dict(_RECORD, a={"x": 1, "y": 2})).encode() + b"\n",
])
def test_crafted_records_are_not_records(raw: bytes) -> None:
    assert decode_inbound(raw) is None


def test_crafted_announcements_and_plot_answers_are_refused() -> None:
    body = {"node": "n", "pages": {}, "sockets": ["a{4294967296}"], "plots": {}, "channels": {}}
    assert decode_announcement(b'{"mac":null}\n' + json.dumps(body).encode(), None) is None
    mirror = PlotMirror("p", "{}", lambda: None, lambda *a: None)
    meta = '{"a":1}'.encode("utf-16")  # JSON, but not UTF-8
    PlotMirror.answer.__wrapped__(mirror, struct.pack("<I", len(meta)) + meta + b"history")  # (off the I/O thread)
    assert mirror.meta == "{}" and mirror.history is None


def test_an_announcement_is_bound_to_its_app() -> None:
    a = Announcement("k1", version=7)
    raw = encode_announcement(a, "s", "cs101")
    assert decode_announcement(raw, "s", "cs101") == a
    assert decode_announcement(raw, "s", "cs102") is None  # replayed into another app on the same Redis


def test_a_relay_started_after_the_points_gets_the_plot_history_from_the_kernel() -> None:
    async def main() -> None:
        app_name = "p" + secrets.token_hex(4)
        server = nbws.start_server(app=nbws.App(), app_name=app_name, ping_interval=None)
        relay = None
        try:
            plot = nbws.LivePlot("loss", server=server)
            plot.push_many([1.0, 2.0, 3.0], [5.0, 4.0, 3.0])
            assert await asyncio.to_thread(plot.flush)
            relay = start_relay(app_name, "memory", ping_interval=None)
            await settle(lambda: relay_stats(relay)["plots"] == ["loss"])
            async with connect(relay.ws_url + "live/loss/ws", max_size=None) as ws:
                assert '"meta"' in str(await asyncio.wait_for(ws.recv(), 5))
                history = await asyncio.wait_for(ws.recv(), 5)
                assert isinstance(history, bytes) and struct.unpack_from("<3d", history, 12) == (1.0, 2.0, 3.0)
        finally:
            if relay is not None:
                relay.stop()
            server.stop()

    run(main)


def test_remote_sockets_past_the_kernels_bound_are_closed_1013() -> None:
    async def body(server: nbws.Server, relays: list[nbws.Server], seen: list[Any]) -> None:
        socks = [await connect(relays[0].ws_url + "_nbws/ws") for _ in range(5)]
        try:
            async with asyncio.timeout(5):
                for ws in socks[3:]:
                    await ws.wait_closed()
            assert [ws.close_code for ws in socks[3:]] == [1013, 1013]
            assert server._endpoint is not None and server._endpoint.kernel.stats()["remote_sockets"] == 3
        finally:
            for ws in socks:
                await ws.close()

    with_relays(body, max_remote_sockets=3)


def test_a_resent_message_is_handled_once_however_many_other_pages_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("nbws.relay.kernel.MAX_KEYS", 5)  # keys of closed sessions kept (200,000)

    async def body(server: nbws.Server, relays: list[nbws.Server], seen: list[Any]) -> None:
        victim = Page()
        await victim.open(relays[0].url)
        await victim.send("answer", "victim")
        await settle(lambda: not victim.unacked and seen == ["victim"])
        others = [Page() for _ in range(12)]  # every page a key; the plain sockets' keys go when they close
        for k, page in enumerate(others):
            await page.open(relays[1].url)
            await page.send("answer", f"other-{k}")
        plain = [await connect(relays[1].ws_url + "_nbws/ws") for _ in range(12)]
        for k, ws in enumerate(plain):
            await ws.send(json.dumps({"topic": "answer", "data": f"plain-{k}"}))
        await settle(lambda: len(seen) == 25, message=lambda: seen)
        for ws in plain:
            await ws.close()
        kernel = server._endpoint.kernel if server._endpoint is not None else None
        assert kernel is not None
        await settle(lambda: kernel.stats()["keys"] == 13, message=kernel.stats)  # 12 open sessions + the victim
        await victim.close()
        victim.unacked = [(1, '{"seq":1,"topic":"answer","data":"victim"}')]  # its ack was lost with its relay
        await victim.open(relays[1].url)
        await victim.send("answer", "victim-2")
        await settle(lambda: "victim-2" in seen, message=lambda: seen)
        assert seen.count("victim") == 1
        for page in [victim, *others]:
            await page.close()

    with_relays(body, ("k", "k"))


def test_a_poison_record_is_skipped_and_the_records_after_it_are_handled() -> None:
    async def body(server: nbws.Server, relays: list[nbws.Server], seen: list[Any]) -> None:
        assert server._endpoint is not None
        bp = server._endpoint.router.backplane
        poison = json.dumps(dict(_RECORD, r="fake", a=["h", 1e400])).replace("Infinity", "1e400").encode() + b"\n"
        good = encode_inbound(Inbound("open", "fake", "2", path="/_nbws/ws"))

        async def both() -> None:  # one batch: the poison first
            await bp.enqueue(INBOX, poison)
            await bp.enqueue(INBOX, good)

        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(both(), server._endpoint.io.loop))
        kernel = server._endpoint.kernel
        await settle(lambda: kernel.stats()["remote_sockets"] == 1, message=kernel.stats)
        assert bp.bad == 1

    with_relays(body)


def test_the_relays_own_token_cookie_is_not_forwarded_to_the_kernel() -> None:
    from nbws.relay.pages import _without_token

    assert _without_token("a=1; nbws_token=secret; b=2") == "a=1; b=2"
    assert _without_token("nbws_token=secret") == ""


def test_the_relay_command_takes_its_redis_url_from_the_environment() -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "NBWS_BACKPLANE": "redis://:pw@127.0.0.1:1/0"}  # nothing listens there
    done = subprocess.run([sys.executable, "-m", "nbws", "relay", "--app", "x"], capture_output=True, text=True,
                          timeout=30, env=env)
    assert done.returncode == 2 and "redis://:***@127.0.0.1:1/0 cannot be reached" in done.stderr
    assert "pw" not in done.stderr


class Echo:
    """A service on the kernel's I/O thread (as the classroom's): echoes each message back."""

    def __init__(self) -> None:
        self.lost_count = 0

    def opened(self, conn: Any) -> None:
        conn.listener = self

    def message(self, conn: Any, data: str | bytes) -> None:
        conn.send_message(data)

    def lost(self, conn: Any) -> None:
        self.lost_count += 1


def test_sockets_of_a_service_on_the_kernels_io_thread_are_bounded_and_closed_1012_once_unknown() -> None:
    from websockets.exceptions import InvalidStatus

    async def body(server: nbws.Server, relays: list[nbws.Server], seen: list[Any]) -> None:
        ep = server._endpoint
        assert ep is not None
        kernel = ep.kernel

        async def on_io(fn: Callable[[], Any]) -> Any:
            async def call() -> Any:
                return fn()
            return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(call(), ep.io.loop))

        await on_io(lambda: ep.routes.add_socket("/echo", Echo().opened, relayed=True))
        url = relays[0].ws_url + "echo"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:  # until the relay has the announcement (404 before)
            try:
                first = await connect(url, ping_interval=None)
                break
            except InvalidStatus:
                assert loop.time() < deadline, "the relay never served /echo"
                await asyncio.sleep(0.02)
        socks = [first, await connect(url, ping_interval=None), await connect(url, ping_interval=None)]
        try:
            async with asyncio.timeout(5):
                await socks[2].wait_closed()  # past max_remote_sockets: the service's sockets count too
                assert socks[2].close_code == 1013
                await socks[0].send("hi")
                assert await socks[0].recv() == "hi"  # served by the kernel's I/O thread, through the relay
                await on_io(lambda: kernel.peers.clear())  # the kernel no longer knows them (as after a restart)
                await socks[0].send("anyone?")
                await socks[0].wait_closed()
            assert socks[0].close_code == 1012, "a page talking to a socket the kernel lost is told to reconnect"
            assert kernel.stats()["orphans"] == 1
        finally:
            for ws in socks:
                await ws.close()

    with_relays(body, max_remote_sockets=2)
