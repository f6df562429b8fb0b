"""nbws.connect(): the client, against the independent ``websockets`` server
and against nbws's own server."""

from __future__ import annotations

import asyncio
import pathlib
import socket
import ssl
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.frames import Opcode
from websockets.server import ServerProtocol

import nbws
from tests.conftest import echo_app, free_port, run, wait_for_condition


@asynccontextmanager
async def websockets_server(handler: Any, **kwargs: Any) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, **kwargs) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}/"


async def echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.send(message)


def test_echo_against_the_websockets_server() -> None:
    async def main() -> None:
        async with websockets_server(echo) as url:
            async with nbws.connect(url) as ws:
                ws.send("hello")
                ws.send(b"\x00\x01")
                assert await ws.areceive() == "hello"
                assert await ws.areceive() == b"\x00\x01"
                assert ws.state == "OPEN" and ws.peer_address[0] == "127.0.0.1"
            assert ws.closed and ws.close_code == 1000

    run(main)


def test_headers_subprotocol_and_close_reason_reach_the_server() -> None:
    seen: dict[str, Any] = {}

    async def handler(ws: ServerConnection) -> None:
        seen["auth"] = ws.request.headers["Authorization"] if ws.request else None
        seen["subprotocol"] = ws.subprotocol
        await ws.wait_closed()
        seen["close"] = (ws.close_code, ws.close_reason)

    async def main() -> None:
        async with websockets_server(handler, subprotocols=["chat"]) as url:
            ws = nbws.connect(url, subprotocols=["chat"], headers={"Authorization": "Bearer t0k"})
            await ws.await_open(10)
            assert ws.subprotocol == "chat"
            ws.close(1000, "done")
            await wait_for_condition(lambda: "close" in seen)

    run(main)
    assert seen == {"auth": "Bearer t0k", "subprotocol": "chat", "close": (1000, "done")}


def test_messages_sent_before_open_are_queued_in_order() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        ws = nbws.connect(server.ws_url)
        assert ws.state == "CONNECTING"
        for i in range(20):
            ws.send(str(i))
        assert [await ws.areceive(timeout=10) for _ in range(20)] == [str(i) for i in range(20)]
        ws.close()

    run(main)


def test_blocking_receive_in_a_script_runs_handlers_meanwhile() -> None:
    # no running loop: like a script or a notebook cell, receive() blocks
    server = nbws.start_server(app=echo_app())
    ws = nbws.connect(server.ws_url)
    ws.send("sync")
    assert ws.receive(timeout=10) == "sync"  # the server's handler ran on this thread meanwhile
    with pytest.raises(TimeoutError):
        ws.receive(timeout=0.2)
    ws.close()


def test_wait_closed_reaches_closed_with_a_server_in_the_same_thread() -> None:
    # the server's close handling and the client's CLOSED report are two jobs
    # on this thread; one service() may run only the first, wait_closed() both
    server = nbws.start_server(app=echo_app())
    ws = nbws.connect(server.ws_url).wait_open(10)
    ws.close(1000, "done")
    assert ws.wait_closed(10) == 1000
    assert ws.state == "CLOSED" and ws.close_reason == "done"
    assert ws.wait_closed(0) == 1000  # already closed: returns at once


def test_await_closed_in_a_coroutine() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        ws = await nbws.connect(server.ws_url).await_open(10)
        with pytest.raises(TimeoutError):
            await ws.await_closed(0.05)
        ws.close(4000, "bye")
        assert await ws.await_closed(10) == 4000
        assert ws.closed

    run(main)


def test_callbacks_run_on_the_thread_that_connected() -> None:
    names: list[str] = []
    states: list[str] = []

    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        done = asyncio.Event()
        ws = nbws.connect(server.ws_url, on_open=lambda w: w.send("x"), on_state=states.append,
                          on_message=lambda m: (names.append(threading.current_thread().name), done.set()))
        await asyncio.wait_for(done.wait(), 10)
        ws.close()
        await wait_for_condition(lambda: ws.closed)

    run(main)
    assert names == [threading.main_thread().name]
    assert states == ["OPEN", "CLOSING", "CLOSED"]


def test_async_iteration_ends_on_normal_close() -> None:
    async def handler(ws: ServerConnection) -> None:
        for i in range(3):
            await ws.send(f"m{i}")
        await ws.close(1000)

    async def main() -> list[Any]:
        async with websockets_server(handler) as url:
            async with nbws.connect(url) as ws:
                return [m async for m in ws]

    assert run(main) == ["m0", "m1", "m2"]


def test_connection_refused_is_a_connect_error_and_close_1006() -> None:
    errors: list[BaseException] = []
    closes: list[int] = []

    async def main() -> None:
        ws = nbws.connect(f"ws://127.0.0.1:{free_port()}/", on_error=errors.append,
                          on_close=lambda code, reason: closes.append(code))
        with pytest.raises(nbws.ConnectError, match="refused"):
            await ws.await_open(10)

    run(main)
    assert len(errors) == 1 and isinstance(errors[0], nbws.ConnectError) and closes == [1006]


def test_dns_failure_is_a_connect_error() -> None:
    async def main() -> None:
        ws = nbws.connect("ws://no-such-host.invalid/", open_timeout=5)
        with pytest.raises(nbws.ConnectError) as info:
            await ws.await_open(10)
        assert "resolved" in info.value.reason or "open_timeout" in info.value.reason

    run(main)


@pytest.mark.parametrize("status", [403, 404])
def test_rejected_handshake_reports_the_status(status: int) -> None:
    async def main() -> None:
        app: dict[str, Any] = {"on_ws_open": print}
        if status == 403:
            server = nbws.start_server(app=app)
            url = server.ws_url
            ws = nbws.connect(url, origin="http://evil.example")
        else:
            server = nbws.start_server(app={"call": lambda req: "no sockets here"})
            ws = nbws.connect(server.ws_url)
        with pytest.raises(nbws.HandshakeRejectedError) as info:
            await ws.await_open(10)
        assert info.value.status == status

    run(main)


@pytest.mark.parametrize(("offered", "said"), [
    (["other"], "invalid subprotocol; expected one of chat"),
    ([], "missing subprotocol"),
])
def test_subprotocol_rejection_carries_the_servers_reason(offered: list[str], said: str) -> None:
    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": print}, subprotocols=["chat"])
        ws = nbws.connect(server.ws_url, subprotocols=offered)
        with pytest.raises(nbws.HandshakeRejectedError) as info:
            await ws.await_open(10)
        assert info.value.status == 400
        assert said in str(info.value) and said in info.value.reason

    run(main)


def test_tls_verification_failure_and_success(tmp_path: pathlib.Path) -> None:
    from tests.test_transports import _self_signed

    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def main() -> None:
        server = nbws.start_server(app=echo_app(), ssl=server_ctx)
        ws = nbws.connect(server.ws_url)
        with pytest.raises(nbws.ConnectError, match="TLS certificate verification failed"):
            await ws.await_open(10)
        async with nbws.connect(server.ws_url, ssl=ssl.create_default_context(cafile=cert)) as ws:
            ws.send("secure")
            assert await ws.areceive(timeout=10) == "secure"

    run(main)


def test_server_going_away_mid_stream_closes_1006() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send("one")
        ws.transport.abort()  # gone, without a Close frame

    async def main() -> None:
        async with websockets_server(handler) as url:
            ws = nbws.connect(url)
            assert await ws.areceive(timeout=10) == "one"
            with pytest.raises(nbws.ConnectionClosedError) as info:
                await ws.areceive(timeout=10)
            assert info.value.code == 1006

    run(main)


def test_reconnects_after_the_server_restarts() -> None:
    states: list[str] = []

    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        port = server.port
        ws = nbws.connect(server.ws_url, reconnect=True, on_state=states.append)
        ws.send("first")
        assert await ws.areceive(timeout=10) == "first"
        server.stop()
        await wait_for_condition(lambda: "CONNECTING" in states)
        nbws.start_server(port=port, app=echo_app())
        await ws.await_open(20)
        ws.send("again")
        assert await ws.areceive(timeout=10) == "again"
        ws.close()

    run(main, timeout=60)
    assert states[:3] == ["OPEN", "CONNECTING", "OPEN"]


def test_blocking_receive_inside_a_handler_raises_instead_of_hanging() -> None:
    errors: list[BaseException] = []

    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        done = asyncio.Event()

        def on_open(ws: nbws.ClientWebSocket) -> None:
            try:
                nbws.service(0)  # a handler may not service; neither may it block in receive()
            except nbws.HandlerLoopError as exc:
                errors.append(exc)
            try:
                ws.receive(timeout=1)
            except nbws.HandlerLoopError as exc:
                errors.append(exc)
            done.set()

        ws = nbws.connect(server.ws_url, on_open=on_open)
        client_ws = ws
        await asyncio.wait_for(done.wait(), 10)
        client_ws.close()

    run(main)
    assert len(errors) == 2 and "inside a handler" in str(errors[1])


def test_fragment_size_splits_outgoing_messages() -> None:
    frames: list[tuple[Opcode, bool, int]] = []
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        proto = ServerProtocol()
        while not done.is_set():
            data = await reader.read(65536)
            if not data:
                break
            proto.receive_data(data)
            for event in proto.events_received():
                if hasattr(event, "opcode"):
                    frames.append((event.opcode, event.fin, len(event.data)))
                    if event.fin and event.opcode in (Opcode.TEXT, Opcode.CONT):
                        done.set()
                else:
                    proto.send_response(proto.accept(event))
            for out in proto.data_to_send():
                writer.write(out)
        writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        ws = nbws.connect(f"ws://127.0.0.1:{port}/", fragment_size=4096)
        ws.send("x" * 10_000)
        await asyncio.wait_for(done.wait(), 10)
        ws.close()
        server.close()

    run(main)
    assert frames == [(Opcode.TEXT, False, 4096), (Opcode.CONT, False, 4096), (Opcode.CONT, True, 1808)]


def test_oversized_incoming_message_closes_1009() -> None:
    async def handler(ws: ServerConnection) -> None:
        await ws.send(b"z" * 5000)
        await ws.wait_closed()

    async def main() -> None:
        async with websockets_server(handler) as url:
            ws = nbws.connect(url, max_message_size=1000)
            with pytest.raises(nbws.ConnectionClosedError) as info:
                await ws.areceive(timeout=10)
            assert info.value.code == 1009

    run(main)


def test_compression_is_negotiated() -> None:
    seen: list[list[str]] = []

    async def handler(ws: ServerConnection) -> None:
        seen.append([e.name for e in ws.protocol.extensions])
        await echo(ws)

    async def main() -> None:
        async with websockets_server(handler) as url:
            async with nbws.connect(url, compression=True) as ws:
                ws.send("a" * 50_000)
                assert await ws.areceive(timeout=10) == "a" * 50_000

    run(main)
    assert seen == [["permessage-deflate"]]


def test_list_connections_sees_both_sides() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        async with nbws.connect(server.ws_url) as ws:
            ws.send("x")
            await ws.areceive(timeout=10)
            conns = nbws.list_connections()
            assert ws in conns
            assert any(c.request is not None and c.request.path == "/" for c in conns)
            assert server.connections and all(c.state == "OPEN" and c in conns for c in [ws, *server.connections])
        assert ws not in nbws.list_connections()

    run(main)


def test_invalid_url_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="ws:// or wss://"):
        nbws.connect("http://example.org/")


def test_messages_sent_while_connecting_keep_their_order_with_later_sends() -> None:
    """A worker thread sends 0..1999 from the moment of connect(): the ones
    queued before the handshake and those sent right after it arrive in
    order. (A tiny switch interval makes the threads interleave often.)"""
    received: list[list[int]] = []

    async def handler(ws: ServerConnection) -> None:
        seq: list[int] = []
        async for message in ws:
            seq.append(int(message))
            if len(seq) == 2000:
                break
        received.append(seq)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", 0, max_queue=None) as server:
            port = server.sockets[0].getsockname()[1]
            def pump(ws: nbws.ClientWebSocket) -> None:
                for i in range(2000):
                    ws.send(str(i))

            for trial in range(10):
                ws = nbws.connect(f"ws://127.0.0.1:{port}/")
                sender = threading.Thread(target=pump, args=(ws,))
                sender.start()
                count = trial + 1
                await wait_for_condition(lambda count=count: len(received) == count, 10)  # type: ignore[misc]
                sender.join(10)
                assert received[-1] == list(range(2000)), f"trial {trial}: order broken"
                ws.close()

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        run(main, timeout=60)
    finally:
        sys.setswitchinterval(interval)


def test_a_full_queue_while_connecting_follows_the_send_buffer_policy() -> None:
    with socket.socket() as silent:  # accepts TCP, never answers the handshake
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"ws://127.0.0.1:{silent.getsockname()[1]}/"
        strict = nbws.connect(url, send_buffer_size=1024, send_buffer_policy="error", open_timeout=30)
        dropping = nbws.connect(url, send_buffer_size=1024, send_buffer_policy="drop", open_timeout=30)
        assert strict.send(bytes(1024)) and dropping.send(bytes(1024))  # queued until the connection opens
        with pytest.raises(nbws.SendBufferFullError) as info:
            strict.send(b"more")
        assert info.value.limit == 1024
        assert dropping.send(b"more") is False
        strict.close()
        dropping.close()
