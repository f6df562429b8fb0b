"""The I/O thread's poll after a message (``WakefulSelector``): for a bounded
window it looks at its sockets without blocking, so a peer's next request
finds it awake; it keeps the loop's timer deadlines meanwhile, and it goes
back to sleep when the window ends."""

from __future__ import annotations

import asyncio
import os
import selectors
import socket
import time
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

import nbws
from nbws.boundary import io_thread
from nbws.boundary.io_thread import WakefulSelector
from tests.conftest import echo_app, run


@pytest.fixture
def selector() -> Iterator[tuple[WakefulSelector, socket.socket]]:
    """A selector watching one end of a socket pair; the other end is yielded."""
    ours, theirs = socket.socketpair()
    sel = WakefulSelector()
    sel.register(ours, selectors.EVENT_READ)
    try:
        yield sel, theirs
    finally:
        sel.close()
        ours.close()
        theirs.close()


def test_the_io_selector_returns_what_is_ready_while_it_polls(selector: tuple[WakefulSelector, socket.socket]) -> None:
    sel, peer = selector
    sel.poll_until = time.perf_counter() + 10
    peer.send(b"x")
    started = time.perf_counter()
    assert len(sel.select(None)) == 1
    assert time.perf_counter() - started < 1


def test_the_io_selector_keeps_the_loops_timeout_while_it_polls(selector: tuple[WakefulSelector, socket.socket]) -> None:
    sel, _ = selector
    sel.poll_until = time.perf_counter() + 10  # a window far longer than the loop's next timer
    started = time.perf_counter()
    assert sel.select(0.05) == []
    assert 0.05 <= time.perf_counter() - started < 2


def test_the_io_selector_sleeps_once_the_window_is_over(selector: tuple[WakefulSelector, socket.socket]) -> None:
    sel, _ = selector
    sel.poll_until = time.perf_counter() + 0.01
    cpu = time.thread_time()
    started = time.perf_counter()
    assert sel.select(0.5) == []
    assert time.perf_counter() - started >= 0.5
    assert time.thread_time() - cpu < 0.1  # polled 10 ms at most, then blocked


def thread_cpu(native_id: int) -> float:
    """CPU seconds used so far by one thread of this process (Linux)."""
    with open(f"/proc/self/task/{native_id}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.skipif(not os.path.exists("/proc/self/task"), reason="reads /proc")
def test_the_io_thread_sleeps_when_the_messages_stop() -> None:
    async def main() -> float:
        server = nbws.start_server(app=echo_app(), ping_interval=None)
        async with connect(server.ws_url) as ws:
            for i in range(200):  # a request/reply stream: the I/O thread polls after each message
                await ws.send(str(i))
                assert await asyncio.wait_for(ws.recv(), 10) == str(i)
            native_id = io_thread().thread.native_id
            assert native_id is not None
            cpu = thread_cpu(native_id)
            await asyncio.sleep(1.0)  # no message: the thread must be asleep in its selector meanwhile
            return thread_cpu(native_id) - cpu

    assert run(main) < 0.1
