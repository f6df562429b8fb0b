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

from hypothesis import given
from hypothesis import strategies as st
from websockets.asyncio.client import connect

import nbws
from nbws.relay import relay_stats, start_relay
from nbws.relay.wire import (
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


def with_relays(body: Body, secrets_: tuple[str | None, ...] = ("k",)) -> None:
    """A kernel (relay_secret "k") and one relay per secret, in this process, around ``body``."""
    async def main() -> None:
        seen: list[Any] = []
        app_name = "r" + secrets.token_hex(4)
        server = nbws.start_server(app=kernel_app(seen), app_name=app_name, ping_interval=None, relay_secret="k")
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
