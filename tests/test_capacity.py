"""Capacity: the accept backlog, reclaiming connections at the cap (issue 17),
the per-address limit on connections that have sent no request head, and the
counts users see. Real sockets on loopback; floods come from tests.floods."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

import nbws
from nbws.io.capacity import ConnectionStats, ConnectionTable
from tests import floods
from tests.conftest import echo_app, http_request, parse_response, run, wait_for_condition

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _listen_queue(port: int) -> int | None:
    """The accept-queue length the kernel reports for a listening port (ss)."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "LISTEN":
            return int(fields[2])
    return None


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
def test_listening_socket_uses_the_backlog_trait() -> None:
    async def main() -> None:
        default = nbws.start_server(app=echo_app())
        small = nbws.start_server(app=echo_app(), backlog=300)
        assert _listen_queue(default.port) == 1024
        assert _listen_queue(small.port) == 300

    run(main)


def test_burst_of_1000_handshakes_has_no_syn_retransmit() -> None:
    """A lecture hall opening the join link: 1,000 simultaneous handshakes from
    another process, handlers on this loop; none waits for a SYN retransmit
    (1 s), which is what an accept queue of 100 produced."""
    count = 1000

    async def main() -> dict[str, list[object]]:
        server = nbws.start_server(app=echo_app())
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.floods", "burst", str(server.port), str(count),
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 40)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, err.decode()
        result: dict[str, list[object]] = json.loads(out)
        return result

    result = run(main, timeout=60)
    times = [float(t) for t in result["times"]]  # type: ignore[arg-type]
    assert result["failures"] == []
    assert len(times) == count
    slow = [t for t in times if t >= 1.0]
    assert not slow, f"{len(slow)} of {count} handshakes took >= 1 s (max {max(times):.2f} s)"


# ------------------------------------------------------------------ issue 17: reclaim at the cap

def static_echo_app(directory: str) -> dict[str, Any]:
    app = echo_app()
    app["static_paths"] = {"/files": directory}
    return app


async def echo_ok(ws: ClientConnection, text: str = "still here") -> bool:
    await ws.send(text)
    return await asyncio.wait_for(ws.recv(), 5) == text


async def timed_newcomers(port: int) -> tuple[float, float]:
    """A WebSocket echo handshake and a static GET; their times in seconds."""
    start = time.monotonic()
    async with connect(f"ws://127.0.0.1:{port}/", open_timeout=5) as ws:
        assert await echo_ok(ws, "newcomer")
    ws_time = time.monotonic() - start
    start = time.monotonic()
    status, _, body = await http_request(port, path="/files/hello.txt")
    get_time = time.monotonic() - start
    assert (status, body) == (200, b"hello\n")
    return ws_time, get_time


SOURCES = [f"127.0.0.{i}" for i in range(2, 42)]  # 40 addresses x 50 sockets: under the per-address limit


@pytest.mark.parametrize("sources", [None, SOURCES], ids=["one-address", "40-addresses"])
def test_2000_idle_sockets_do_not_lock_newcomers_out(tmp_path: Path, sources: list[str] | None) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    floods.raise_fd_limit(8192)

    async def main() -> None:
        server = nbws.start_server(app=static_echo_app(str(tmp_path)))
        assert server.max_connections == 1024
        async with connect(server.ws_url) as established:
            assert await echo_ok(established)
            baseline = floods.open_fds()
            socks = await asyncio.to_thread(floods.idle_sockets, server.port, 2000, sources)
            with floods.held(socks):
                await wait_for_condition(lambda: server.connection_stats().open >= 1024, 10)
                ws_time, get_time = await timed_newcomers(server.port)
                assert ws_time < 1.0 and get_time < 1.0, (ws_time, get_time)
                assert await echo_ok(established)  # never evicted
                stats = server.connection_stats()
                assert stats.reclaimed >= 2000 - 1024 and stats.refused == 0
            # the idle sockets are gone: so are the server's ends of them
            await wait_for_condition(lambda: floods.open_fds() <= baseline, 10)
            assert await echo_ok(established)

    run(main, timeout=60)


def test_small_cap_reclaims_idle_sockets_but_never_a_websocket() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_connections=200)
        clients = await asyncio.gather(*(connect(server.ws_url) for _ in range(150)))
        try:
            socks = await asyncio.to_thread(floods.idle_sockets, server.port, 500)
            with floods.held(socks):
                await wait_for_condition(lambda: server.connection_stats().open == 200, 10)
                async with connect(server.ws_url, open_timeout=5) as newcomer:
                    assert await echo_ok(newcomer)
                assert all(await asyncio.gather(*(echo_ok(c) for c in clients)))
                assert server.connection_stats().reclaimed >= 450
        finally:
            await asyncio.gather(*(c.close() for c in clients))

    run(main, timeout=60)


def test_full_of_websockets_a_newcomer_gets_503_with_retry_after() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_connections=200)
        clients = await asyncio.gather(*(connect(server.ws_url) for _ in range(200)))
        try:
            status, headers, _ = await http_request(server.port)
            assert status == 503 and headers["retry-after"].isdigit()
            with pytest.raises(InvalidStatus) as info:
                await connect(server.ws_url, open_timeout=5)
            assert info.value.response.status_code == 503
            assert all(await asyncio.gather(*(echo_ok(c) for c in clients)))
            stats = server.connection_stats()
            assert (stats.open, stats.reclaimed, stats.refused) == (200, 0, 2)
            assert "0 reclaimed / 2 refused" in server._repr_mimebundle_()["text/plain"]
        finally:
            await asyncio.gather(*(c.close() for c in clients))

    run(main, timeout=60)


async def keep_alive_get(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection that made one request and is kept alive, idle."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    status, headers, _ = parse_response(head)
    assert status == 200
    await reader.readexactly(int(headers["content-length"]))
    return reader, writer


async def closed_soon(reader: asyncio.StreamReader) -> bool:
    try:
        return await asyncio.wait_for(reader.read(1), 5) == b""
    except ConnectionError:
        return True


def test_reclaims_silent_connections_oldest_first_then_idle_keep_alive() -> None:
    partial = b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10\r\n\r\nabc"
    complete = b"POST /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\n\r\nabc"
    gate = asyncio.Event()

    async def call(req: nbws.Request) -> str:
        if req.path == "/slow":
            await gate.wait()  # a request in progress: its handler has not answered yet
        return "ok"

    async def main() -> None:
        server = nbws.start_server(app={**echo_app(), "call": call}, max_connections=4)
        async with connect(server.ws_url) as ws:
            kept_r, kept_w = await keep_alive_get(server.port)
            old_r, old_w = await asyncio.open_connection("127.0.0.1", server.port)
            new_r, new_w = await asyncio.open_connection("127.0.0.1", server.port)
            await wait_for_condition(lambda: server.connection_stats().open == 4, 10)
            # full: a newcomer closes the oldest connection that sent nothing
            assert (await http_request(server.port))[0] == 200
            assert await closed_soon(old_r)
            fill_r, fill_w = await asyncio.open_connection("127.0.0.1", server.port)
            await wait_for_condition(lambda: server.connection_stats().open == 4, 10)
            # one silent connection sends a whole request (in progress: never
            # reclaimed), the other a head and part of its body (still pending)
            new_w.write(complete)
            fill_w.write(partial)
            await wait_for_condition(lambda: server.connection_stats().pending == 1, 10)
            # a head without its whole body is reclaimable: it goes before the idle keep-alive one
            assert (await http_request(server.port))[0] == 200
            assert await closed_soon(fill_r)
            # full again with a second request in progress; nothing pending: the idle keep-alive one goes
            more_r, more_w = await asyncio.open_connection("127.0.0.1", server.port)
            more_w.write(complete)
            await wait_for_condition(lambda: (lambda c: (c.open, c.pending, c.idle) == (4, 0, 1))(
                server.connection_stats()), 10)
            assert (await http_request(server.port))[0] == 200
            assert await closed_soon(kept_r)
            gate.set()
            for reader in (new_r, more_r):
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
                assert head.startswith(b"HTTP/1.1 200 ")
            assert await echo_ok(ws)
            assert server.connection_stats().reclaimed == 3
            for w in (kept_w, old_w, new_w, fill_w, more_w):
                w.close()

    run(main)


def test_a_head_whose_body_never_comes_does_not_lock_newcomers_out() -> None:
    """Heads with a stalled body (one byte every body_timeout would keep them
    forever) are reclaimed at the cap like silent connections."""
    stalled = b"POST /x HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n"

    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_connections=20)
        held = []
        for _ in range(20):
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(stalled)
            held.append((reader, writer))
        await wait_for_condition(lambda: server.connection_stats().open == 20, 10)
        status, _, body = await http_request(server.port)
        assert (status, body) == (200, b"ok")
        assert server.connection_stats().reclaimed >= 1
        for _, writer in held:
            writer.close()

    run(main)


# ------------------------------------------------------------------ one address, many silent sockets

def test_per_address_limit_reclaims_the_address_oldest_silent_connection() -> None:
    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_pending_per_address=5, pending_grace=0)
        flood = await asyncio.to_thread(floods.idle_sockets, server.port, 5, ["127.0.0.7"])
        other = await asyncio.to_thread(floods.idle_sockets, server.port, 5, ["127.0.0.8"])
        with floods.held(flood + other):
            await wait_for_condition(lambda: server.connection_stats().pending == 10, 10)
            # a real request from the flooding address: served at once
            reader, writer = await asyncio.open_connection("127.0.0.1", server.port, local_addr=("127.0.0.7", 0))
            writer.write(f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nConnection: close\r\n\r\n".encode())
            assert (await asyncio.wait_for(reader.read(-1), 5)).startswith(b"HTTP/1.1 200 ")
            writer.close()
            await wait_for_condition(lambda: floods.closed_by_server(flood[0]), 10)
            assert not any(floods.closed_by_server(s) for s in flood[1:] + other)
            assert server.connection_stats().reclaimed == 1
            # 127.0.0.7 holds 4 silent ones: a 5th is room, a 6th takes the place of the oldest
            extra = await asyncio.to_thread(floods.idle_sockets, server.port, 2, ["127.0.0.7"])
            with floods.held(extra):
                await wait_for_condition(lambda: floods.closed_by_server(flood[1]), 10)
                assert not any(floods.closed_by_server(s) for s in flood[2:] + other + extra)

    run(main)


def test_unix_socket_peers_are_not_limited_per_address(tmp_path: Path) -> None:
    path = str(tmp_path / "s.sock")

    async def main() -> None:
        server = nbws.start_pipe_server(path, echo_app(), max_pending_per_address=2, pending_grace=0)
        socks = []
        try:
            for _ in range(6):
                s = socket.socket(socket.AF_UNIX)
                socks.append(s)
                s.settimeout(5)
                s.connect(path)
            await wait_for_condition(lambda: server.connection_stats().pending == 6, 10)
            reader, writer = await asyncio.open_unix_connection(path)
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert (await asyncio.wait_for(reader.read(-1), 5)).startswith(b"HTTP/1.1 200 ")
            writer.close()
            assert not any(floods.closed_by_server(s) for s in socks)
            assert server.connection_stats().reclaimed == 0
        finally:
            for s in socks:
                s.close()

    run(main)


def test_reclaiming_logs_one_line_when_it_starts_and_one_when_it_stops(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="nbws")

    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_connections=10, handshake_timeout=0.5)
        socks = await asyncio.to_thread(floods.idle_sockets, server.port, 40)
        with floods.held(socks):
            await wait_for_condition(lambda: server.connection_stats().reclaimed == 30, 10)
            await wait_for_condition(lambda: any("stopped making room" in r.getMessage() for r in caplog.records), 10)
        lines = [r.getMessage() for r in caplog.records if r.name == "nbws" and "making room" in r.getMessage()]
        assert len(lines) == 2, lines
        assert "is making room" in lines[0] and "max_connections=10" in lines[0]
        assert "30 connection(s) reclaimed and 0 refused" in lines[1]

    run(main)


def test_wslist_shows_reclaimed_and_refused() -> None:
    from nbws.notebook.magics import ServerTable

    async def main() -> None:
        server = nbws.start_server(app=echo_app(), max_connections=1)
        async with connect(server.ws_url) as ws:
            assert (await http_request(server.port))[0] == 503
            text = ServerTable([server])._repr_mimebundle_()["text/plain"]
            head, row = text.splitlines()
            assert head.split("\t")[-2:] == ["reclaimed", "refused"]
            assert row.split("\t")[-2:] == ["0", "1"]
            assert "1 refused at the connection cap" in server._repr_mimebundle_()["text/html"]
            assert await echo_ok(ws)

    run(main)


# ------------------------------------------------------------------ the table's rules, without sockets

class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_table_reclaims_pending_oldest_first_then_idle_never_busy() -> None:
    table: ConnectionTable[str] = ConnectionTable(limit=4, per_address=None, grace=1.0)
    for name in ("ws", "kept", "old", "new"):
        assert table.arrive(name, "10.0.0.1").admitted
    table.busy("ws")
    table.busy("kept")
    table.next_request("kept", started=False)  # keep-alive, idle
    assert table.arrive("a", "10.0.0.2").victims == ("old",)
    assert table.arrive("b", "10.0.0.2").victims == ("new",)
    table.busy("a")
    table.busy("b")
    assert table.arrive("c", "10.0.0.2").victims == ("kept",)
    table.busy("c")
    refused = table.arrive("d", "10.0.0.2")
    assert not refused.admitted and refused.victims == ()
    assert table.stats() == ConnectionStats(open=4, pending=0, idle=0, reclaimed=3, refused=1)


def test_table_keep_alive_connection_that_starts_a_request_is_pending_as_the_newest() -> None:
    table: ConnectionTable[str] = ConnectionTable(limit=3, per_address=None, grace=0.0)
    table.arrive("kept", "a")
    table.busy("kept")
    table.next_request("kept", started=False)
    table.arrive("silent", "b")
    table.waiting("kept")  # bytes of its next request arrived
    assert table.stats().idle == 0 and table.stats().pending == 2
    table.arrive("third", "c")
    assert table.arrive("fourth", "d").victims == ("silent",)
    table.busy("kept")
    table.next_request("kept", started=True)  # a pipelined head already begun
    assert table.stats().pending == 3


def test_table_per_address_limit_spares_connections_younger_than_the_grace() -> None:
    clock = Clock()
    table: ConnectionTable[int] = ConnectionTable(limit=1000, per_address=3, grace=1.0, clock=clock)
    for i in range(10):  # a burst through one proxy address: nobody is cut
        assert table.arrive(i, "127.0.0.1").victims == ()
    clock.now = 1.5
    assert table.arrive(10, "127.0.0.1").victims == tuple(range(8))  # down to the limit, oldest first
    assert table.arrive(11, "").victims == ()  # no address (a Unix socket): not limited
    assert table.arrive(12, "127.0.0.2").victims == ()
    assert table.stats().reclaimed == 8
