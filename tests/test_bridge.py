"""The handler plane's blocking waits: ``service()``, a blocking
``receive()`` / ``wait_open()`` and ``nbws.fetch()`` wake as soon as work
arrives (no polling), in a plain script, in a worker thread and in a busy
kernel cell; an ``async def`` handler that a blocking wait in a cell would
starve is reported at once, never as a timeout."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from websockets.sync.client import connect as ws_connect

import nbws
from tests.conftest import echo_app
from tests.kernel import Kernel, kernel

ROUND_TRIPS = 50  # a 50 ms poll would need 2.5 s for these; the bound below is 2 s


def round_trips(ws: nbws.ClientWebSocket) -> float:
    started = time.monotonic()
    for i in range(ROUND_TRIPS):
        ws.send(f"m{i}")
        assert ws.receive(timeout=10) == f"m{i}"
    return time.monotonic() - started


def test_service_returns_as_soon_as_a_handler_ran_in_a_script() -> None:
    got: list[str] = []
    opened = threading.Event()
    go = threading.Event()

    def on_ws_open(ws: nbws.WebSocket) -> None:
        opened.set()
        ws.on_message(got.append)

    server = nbws.start_server(app={"on_ws_open": on_ws_open})

    def peer() -> None:
        with ws_connect(server.ws_url, open_timeout=10) as ws:
            go.wait(10)
            ws.send("hello")
            done.wait(10)

    done = threading.Event()
    thread = threading.Thread(target=peer, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not opened.is_set() and time.monotonic() < deadline:
            nbws.service(1)
        assert opened.is_set()
        go.set()
        started = time.monotonic()
        ran = nbws.service(10)  # the message arrives while this waits
        elapsed = time.monotonic() - started
        assert ran >= 1 and got == ["hello"]
        assert elapsed < 1
    finally:
        done.set()
        thread.join(10)


def test_blocking_receive_in_a_script_wakes_when_the_message_arrives() -> None:
    server = nbws.start_server(app=echo_app())
    ws = nbws.connect(server.ws_url)
    ws.wait_open(10)
    assert round_trips(ws) < 2
    ws.close()


def test_blocking_receive_in_a_worker_thread_wakes_when_the_message_arrives() -> None:
    server = nbws.start_server(app=echo_app())
    result: list[float | BaseException] = []

    def worker() -> None:  # the client's handler plane is this thread, with no running loop
        try:
            ws = nbws.connect(server.ws_url)
            ws.wait_open(10)
            result.append(round_trips(ws))
            ws.close()
        except BaseException as exc:  # noqa: BLE001 - reported below
            result.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 20
    while thread.is_alive() and time.monotonic() < deadline:
        nbws.service(0.5)  # the server's handlers run on this (the main) thread
    thread.join(1)
    assert len(result) == 1 and isinstance(result[0], float), result
    assert result[0] < 2


def test_blocking_receive_from_another_thread_wakes_when_the_loop_delivers() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app())
        ws = nbws.connect(server.ws_url)  # callbacks run on this running loop
        await ws.await_open(10)
        elapsed = await asyncio.to_thread(round_trips, ws)  # blocking receive() on a worker thread
        assert elapsed < 2
        ws.close()

    asyncio.run(asyncio.wait_for(main(), 30))


def test_interrupt_wakes_a_waiting_service_at_once() -> None:
    nbws.start_server(app=echo_app())
    timer = threading.Timer(0.2, nbws.interrupt)
    timer.start()
    started = time.monotonic()
    try:
        assert nbws.service(10) == 0
        assert time.monotonic() - started < 5
    finally:
        timer.cancel()
        from nbws.boundary import handler_plane

        plane = handler_plane()
        assert plane is not None
        plane.interrupted.clear()


# ---------------------------------------------------------------- in a kernel

SETUP = """
import asyncio, nbws, time
async def slow(req):
    await asyncio.sleep(0.01)
    return "slow"
async def quick(req):
    return "quick"
def on_ws_open(ws):
    async def on_message(msg):
        await asyncio.sleep(0.01)
        ws.send(msg)
    ws.on_message(on_message)
def sync_open(ws):
    ws.on_message(ws.send)
app = nbws.App()
app.route("/slow")(slow)
app.route("/quick")(quick)
app.websocket("/ws")(on_ws_open)
app.websocket("/sync")(sync_open)
server = nbws.start_server(app=app)
print(server.port)
"""


@pytest.fixture(scope="module")
def k() -> Iterator[Kernel]:
    with kernel() as kern:
        kern.run(SETUP)
        yield kern


def test_fetch_in_a_cell_from_an_awaiting_async_handler_fails_at_once(k: Kernel) -> None:
    out = k.run("""
t0 = time.monotonic()
try:
    nbws.fetch(server.url + "slow", timeout=20)
except nbws.AsyncHandlerBlockedError as exc:
    print(time.monotonic() - t0 < 5, exc.handler)
    print(exc)
""").strip().splitlines()
    assert out[0] == "True slow", out
    assert "plain 'def'" in out[1] and "await nbws.fetch_async(url)" in out[1], out


def test_fetch_in_a_cell_from_an_async_handler_that_does_not_await(k: Kernel) -> None:
    out = k.run("""
try:
    print(nbws.fetch(server.url + "quick", timeout=20).body.decode())
except nbws.AsyncHandlerBlockedError as exc:
    print("blocked", exc.handler)
""").strip()
    # Python 3.12's eager tasks run it at once; before 3.12 it cannot run in the cell
    assert out == ("quick" if sys.version_info >= (3, 12) else "blocked quick")


def test_fetch_async_with_top_level_await_reaches_async_handlers(k: Kernel) -> None:
    out = k.run("""
r = await nbws.fetch_async(server.url + "slow", timeout=20)
print(r.status, r.body.decode())
""")
    assert out.strip() == "200 slow"


def test_blocking_receive_in_a_cell_from_an_awaiting_async_handler_fails_at_once(k: Kernel) -> None:
    out = k.run("""
ws = nbws.connect(server.ws_url + "ws")
ws.wait_open(10)
ws.send("hi")
t0 = time.monotonic()
try:
    ws.receive(timeout=20)
except nbws.AsyncHandlerBlockedError as exc:
    print(time.monotonic() - t0 < 5, exc.handler)
ws.close()
""")
    assert out.strip() == "True on_ws_open.<locals>.on_message"


def test_service_in_a_busy_cell_returns_once_a_handler_ran(k: Kernel) -> None:
    out = k.run("""
ws = nbws.connect(server.ws_url + "sync")
ws.wait_open(10)
t0 = time.monotonic()
ran = 0
while ran == 0 and time.monotonic() - t0 < 10:
    ws.send("x")
    ran = nbws.service(10)
print(ran >= 1, time.monotonic() - t0 < 5, ws.receive(timeout=10))
ws.close()
""")
    assert out.strip() == "True True x"
