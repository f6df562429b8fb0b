"""The WebSocket side of the core server, with the independent ``websockets``
client as the peer."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

import nbws
from tests.conftest import echo_app, run, wait_for_condition


def test_echo_text_and_binary_and_close_code() -> None:
    closes: list[tuple[int, str, str]] = []

    def on_ws_open(ws: nbws.WebSocket) -> None:
        ws.on_message(lambda msg: ws.send(msg))
        ws.on_close(lambda code, reason: closes.append((code, reason, threading.current_thread().name)))

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": on_ws_open})
        async with connect(server.ws_url) as ws:
            await ws.send("héllo")
            assert await ws.recv() == "héllo"
            await ws.send(b"\x00\x01")
            assert await ws.recv() == b"\x00\x01"
            await ws.close(4001, "done")
        await wait_for_condition(lambda: closes)  # the close callback runs when this loop is idle

    run(main)
    assert closes == [(4001, "done", threading.main_thread().name)]


def test_handlers_run_in_arrival_order() -> None:
    seen: list[str] = []
    done = asyncio.Event()

    def on_ws_open(ws: nbws.WebSocket) -> None:
        def on_message(msg: Any) -> None:
            seen.append(msg)
            if len(seen) == 500:
                ws.send("all")

        ws.on_message(on_message)

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": on_ws_open})
        async with connect(server.ws_url) as ws:
            for i in range(500):
                await ws.send(str(i))
            assert await ws.recv() == "all"
        done.set()

    run(main)
    assert seen == [str(i) for i in range(500)]


def test_receive_and_async_iteration() -> None:
    got: list[Any] = []

    async def consume(ws: nbws.WebSocket) -> None:
        first = await ws.areceive()
        got.append(first)
        async for msg in ws:
            got.append(msg)
            await asyncio.sleep(0)
            ws.send(f"ack {msg!r}")

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": consume})
        async with connect(server.ws_url) as ws:
            await ws.send("one")
            await ws.send(b"two")
            assert await ws.recv() == "ack b'two'"
        await wait_for_condition(lambda: len(got) == 2)

    run(main)
    assert got == ["one", b"two"]


def test_broadcast_reaches_every_open_socket() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": lambda ws: None})
        clients = [await connect(server.ws_url) for _ in range(5)]
        await wait_for_condition(lambda: len(server.connections) == 5)
        server.broadcast("to all")
        server.broadcast(b"\x01bin")
        for c in clients:
            assert await c.recv() == "to all"
            assert await c.recv() == b"\x01bin"
            await c.close()

    run(main)


def test_handler_error_closes_with_1011_and_server_survives(caplog: pytest.LogCaptureFixture) -> None:
    def on_ws_open(ws: nbws.WebSocket) -> None:
        def on_message(msg: Any) -> None:
            if msg == "boom":
                raise ValueError("handler blew up")
            ws.send(msg)

        ws.on_message(on_message)

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": on_ws_open})
        async with connect(server.ws_url) as ws:
            await ws.send("boom")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1011
        async with connect(server.ws_url) as ws:
            await ws.send("still here")
            assert await ws.recv() == "still here"

    run(main)
    assert any("handler blew up" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


@pytest.mark.parametrize("close", [False, True], ids=["stays-open", "closes-1011"])
def test_handler_error_can_leave_the_socket_open(close: bool) -> None:
    def on_ws_open(ws: nbws.WebSocket) -> None:
        def on_message(msg: Any) -> None:
            if msg == "boom":
                raise ValueError("ignored")
            ws.send(msg)

        ws.on_message(on_message)

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": on_ws_open}, close_on_handler_error=close)
        async with connect(server.ws_url) as ws:
            await ws.send("boom")
            if close:
                with pytest.raises(ConnectionClosed):
                    for _ in range(10):  # the echo of a later message may come first; the close must follow
                        await ws.send("after")
                        await ws.recv()
                assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1011
                return
            for text in ("after", "and after"):  # round trips after the error, each answered
                await ws.send(text)
                assert await ws.recv() == text
            await ws.close()
            # the server never closed on its own: the close it sent is the answer to ours
            assert ws.protocol.close_rcvd is not None and ws.protocol.close_rcvd.code == 1000
            assert ws.protocol.close_sent is not None and ws.protocol.close_sent.code == 1000

    run(main)


def test_oversized_message_closes_1009_and_others_keep_going() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_message_size=1000)
        async with connect(server.ws_url) as bystander:
            async with connect(server.ws_url, max_size=None) as ws:
                await ws.send(b"x" * 1001)
                with pytest.raises(ConnectionClosed):
                    await ws.recv()
                assert ws.close_code == 1009
            await bystander.send("fine")
            assert await bystander.recv() == "fine"

    run(main)


def test_fragmented_message_over_limit_closes_1009() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_message_size=1000)
        async with connect(server.ws_url) as ws:
            await ws.send([b"x" * 400 for _ in range(3)])
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1009

    run(main)


def test_server_close_with_code_and_reason() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": lambda ws: ws.close(4000, "bye now")})
        async with connect(server.ws_url) as ws:
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert (ws.close_code, ws.close_reason) == (4000, "bye now")

    run(main)


def test_subprotocol_is_negotiated() -> None:
    chosen: list[str | None] = []

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": lambda ws: chosen.append(ws.subprotocol) or ws.send("hi")},
                                   subprotocols=["chat.v2", "chat.v1"])
        async with connect(server.ws_url, subprotocols=["chat.v1"]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == "chat.v1"
            assert await ws.recv() == "hi"

    run(main)
    assert chosen == ["chat.v1"]


def test_compression_is_opt_in() -> None:
    async def main() -> None:
        plain = nbws.start_server(app=echo_app())
        async with connect(plain.ws_url) as ws:
            assert ws.protocol.extensions == []
        deflate = nbws.start_server(app=echo_app(), compression=True)
        async with connect(deflate.ws_url) as ws:
            assert [e.name for e in ws.protocol.extensions] == ["permessage-deflate"]
            await ws.send("z" * 100_000)
            assert await ws.recv() == "z" * 100_000

    run(main)


def test_compressed_bomb_is_bounded_by_max_message_size() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), compression=True, max_message_size=100_000)
        async with connect(server.ws_url, max_size=None) as ws:
            await ws.send(b"\x00" * 10_000_000)  # compresses to ~10 KB
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            assert ws.close_code == 1009

    run(main)


def test_unknown_websocket_route_is_404() -> None:
    app = nbws.App()
    app.websocket("/ws")(lambda ws: ws.send("routed"))

    async def main() -> None:
        server = nbws.start_server(app=app)
        async with connect(server.ws_url + "ws") as ws:
            assert await ws.recv() == "routed"
        with pytest.raises(InvalidStatus) as info:
            await connect(server.ws_url + "elsewhere")
        assert info.value.response.status_code == 404

    run(main)


def test_send_after_close_raises() -> None:
    sockets: list[nbws.WebSocket] = []

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append})
        async with connect(server.ws_url):
            pass
        await wait_for_condition(lambda: sockets and sockets[0].closed)
        with pytest.raises(nbws.ConnectionClosedError) as info:
            sockets[0].send("late")
        assert info.value.code == 1000

    run(main)


def test_invalid_close_code_is_refused() -> None:
    sockets: list[nbws.WebSocket] = []

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append})
        async with connect(server.ws_url):
            await wait_for_condition(lambda: sockets)
            with pytest.raises(ValueError, match="invalid close code"):
                sockets[0].close(1005)

    run(main)


def test_frame_header_matches_the_protocol_layer() -> None:
    from websockets.frames import Frame, Opcode

    from nbws.boundary import frame_header

    for size in (0, 125, 126, 65535, 65536, 70000):
        payload = b"p" * size
        expected = Frame(Opcode.BINARY, payload).serialize(mask=False, extensions=[])
        assert frame_header(Opcode.BINARY, size) + payload == expected
    assert frame_header(Opcode.TEXT, 3) + b"abc" == Frame(Opcode.TEXT, b"abc").serialize(mask=False, extensions=[])


def test_large_messages_round_trip_intact() -> None:
    import os as _os

    blob = _os.urandom(20 * 1024 * 1024)

    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_message_size=32 * 1024 * 1024)
        async with connect(server.ws_url, max_size=None) as ws:
            for _ in range(2):
                await ws.send(blob)
                assert await ws.recv() == blob
            await ws.send("ä" * 3_000_000)
            assert await ws.recv() == "ä" * 3_000_000

    run(main, timeout=60)
