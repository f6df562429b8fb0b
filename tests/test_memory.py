"""Memory with many slow peers: the server-wide send budget and ws.drain().

The slow peers live in a separate process (so their memory is not counted);
the server and one well-behaved peer run in this process, whose RSS is read
from /proc/self/status.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import statistics
import struct
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.frames import Opcode

import nbws
from tests.conftest import run, wait_for_condition
from tests.test_limits import RawWebSocket

MiB = 1024 * 1024

# A process holding WebSockets that complete the handshake and then never
# read (a 4 KiB receive buffer, so the kernel absorbs little).
SLOW_PEERS = r"""
import socket, sys
port, count = int(sys.argv[1]), int(sys.argv[2])
held = []
for _ in range(count):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            sys.exit("handshake: connection closed")
        head += chunk
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit("handshake refused: " + head.decode("latin-1"))
    held.append(s)
print("ready", flush=True)
sys.stdin.read()  # hold the sockets, unread, until the test closes stdin
"""


@contextlib.asynccontextmanager
async def slow_peers(port: int, count: int) -> AsyncIterator[None]:
    """``count`` WebSockets held open, never read, by another process (so
    their memory is not this one's) until the block ends."""
    held = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SLOW_PEERS, str(port), str(count), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
    )
    assert held.stdout is not None and held.stdin is not None
    try:
        assert (await asyncio.wait_for(held.stdout.readline(), 30)).strip() == b"ready"
        yield
    finally:
        held.stdin.close()
        await asyncio.wait_for(held.wait(), 10)


def rss() -> int:
    """This process's resident set size in bytes."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


class Probe:
    """A well-behaved peer that reads all the time, on its own thread, and
    records each message's delay (the first 8 bytes carry the send time)."""

    def __init__(self, port: int) -> None:
        self.peer = RawWebSocket(port)
        self.peer.sock.settimeout(0.2)
        self.delays: list[float] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._read, name="probe", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        deadline = time.monotonic() + 60
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                data = self.peer.sock.recv(1 << 20)
            except TimeoutError:
                continue
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            self.peer.proto.receive_data(data)
            for frame in self.peer.proto.events_received():
                if frame.opcode is Opcode.BINARY:
                    self.delays.append(now - struct.unpack("!d", frame.data[:8])[0])

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.peer.close()


def test_200_peers_that_never_read_grow_rss_by_at_most_100_mib_and_others_keep_latency() -> None:
    peers, rounds, size = 200, 60, 64 * 1024
    sockets: list[nbws.WebSocket] = []

    async def push(targets: list[nbws.WebSocket], count: int) -> int:
        """Send ``count`` rounds of one 64 KiB message to every target; the peak RSS."""
        peak = rss()
        for _ in range(count):
            payload = struct.pack("!d", time.monotonic()) + bytes(size - 8)
            for ws in targets:
                if not ws.closed:
                    try:
                        ws.send(payload)
                    except nbws.ConnectionClosedError:
                        pass
            peak = max(peak, rss())
            await asyncio.sleep(0.01)  # pacing: about 100 rounds a second
        return peak

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append})
        probe = await asyncio.to_thread(Probe, server.port)
        await wait_for_condition(lambda: len(sockets) == 1)
        # the probe alone: its latency without slow peers
        await push(sockets, 20)
        await wait_for_condition(lambda: len(probe.delays) == 20)
        quiet = sorted(probe.delays)
        try:
            async with slow_peers(server.port, peers):
                await wait_for_condition(lambda: len(sockets) == peers + 1, 10)
                gc.collect()
                before = rss()
                peak = await push(sockets, rounds)
                await wait_for_condition(lambda: len(probe.delays) == 20 + rounds, 10)
                loaded = sorted(probe.delays[20:])
                growth = (peak - before) / MiB
                p99 = loaded[int(len(loaded) * 0.99) - 1]
                print(f"RSS growth {growth:.1f} MiB; probe p50/p99 {statistics.median(quiet) * 1e3:.1f}/"
                      f"{quiet[-1] * 1e3:.1f} ms alone, {statistics.median(loaded) * 1e3:.1f}/{p99 * 1e3:.1f} ms "
                      f"with {peers} slow peers")
                assert growth <= 100, f"the server grew by {growth:.0f} MiB for {peers} peers that never read"
                assert p99 < 0.5, f"the reading peer waited {p99:.2f} s (p99) behind {peers} slow ones"
                assert not sockets[0].closed
        finally:
            probe.close()

    run(main, timeout=120)


def read_frames(peer: RawWebSocket, count: int, seconds: float = 10.0) -> None:
    """Read until ``count`` data frames arrived (bounded in time)."""
    deadline = time.monotonic() + seconds
    frames = 0
    while frames < count:
        assert time.monotonic() < deadline, f"{frames} of {count} frames in {seconds} s"
        data = peer.sock.recv(1 << 20)
        assert data, "the server closed the connection"
        peer.proto.receive_data(data)
        frames += sum(1 for f in peer.proto.events_received() if f.opcode is Opcode.BINARY)


def test_drain_waits_for_a_peer_that_stops_reading_and_raises_when_it_leaves() -> None:
    sockets: list[nbws.WebSocket] = []
    chunk = bytes(64 * 1024)

    async def fill(ws: nbws.WebSocket) -> tuple[asyncio.Task[None], int]:
        """Send until the peer's buffer is full (the 'drop' policy refuses a
        message), then start a drain() and check it waits; the messages sent."""
        sent = 0
        for _ in range(1000):  # bounded: the kernel takes a few MiB, then send_buffer_size
            if not ws.send(chunk):
                break
            sent += 1
            await asyncio.sleep(0)  # let the I/O thread write
        else:
            raise AssertionError("the send buffer never filled")
        task = asyncio.ensure_future(ws.drain())
        done, _ = await asyncio.wait([task], timeout=0.3)
        assert not done, "drain() returned while the peer reads nothing"
        return task, sent

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append}, send_buffer_size=MiB,
                                   send_buffer_policy="drop")
        peer = await asyncio.to_thread(RawWebSocket, server.port, "/", 4096)
        await wait_for_condition(lambda: bool(sockets))
        ws = sockets[0]
        await asyncio.wait_for(ws.drain(), 1)  # nothing unsent: at once
        await asyncio.to_thread(ws.drain_blocking, 1)
        # the peer stops reading: drain() waits; it reads again: drain() returns
        waiting, sent = await fill(ws)
        reader = asyncio.ensure_future(asyncio.to_thread(read_frames, peer, sent + 8))
        await asyncio.wait_for(waiting, 5)
        # a blocking drain from a worker thread waits too, and returns once read
        for _ in range(8):
            assert ws.send(chunk)
        await asyncio.wait_for(asyncio.to_thread(ws.drain_blocking, 5), 6)
        await asyncio.wait_for(reader, 10)
        # the peer stops reading again and then disconnects: ConnectionClosedError
        waiting, _ = await fill(ws)
        peer.close()
        with pytest.raises(nbws.ConnectionClosedError):
            await asyncio.wait_for(waiting, 5)
        with pytest.raises(nbws.ConnectionClosedError):
            await ws.drain()

    run(main)


def test_client_drain_waits_while_the_server_stops_reading() -> None:
    inbox: list[nbws.WebSocket] = []
    chunk = bytes(64 * 1024)

    async def main() -> None:
        # past receive_buffer_size unhandled, the server stops reading this client
        server = nbws.start_server(app={"on_ws_open": inbox.append}, receive_buffer_size=64 * 1024,
                                   max_message_size=MiB)
        client = nbws.connect(server.ws_url, send_buffer_size=MiB, send_buffer_policy="drop")
        await client.await_open(5)
        await wait_for_condition(lambda: bool(inbox))
        sent = 0
        for _ in range(1000):  # bounded: the kernel takes a few MiB, then send_buffer_size
            if not client.send(chunk):
                break
            sent += 1
            await asyncio.sleep(0)
        else:
            raise AssertionError("the send buffer never filled")
        task = asyncio.ensure_future(client.drain())
        done, _ = await asyncio.wait([task], timeout=0.3)
        assert not done, "drain() returned while the server reads nothing"
        for _ in range(sent):  # the server's handler consumes: reading resumes
            assert len(await inbox[0].areceive(timeout=5)) == len(chunk)
        await asyncio.wait_for(task, 5)
        client.close()

    run(main)


def test_budget_closes_the_peers_over_their_share_and_keeps_serving_the_reader() -> None:
    sockets: list[nbws.WebSocket] = []

    async def main() -> None:
        # 3 peers share 256 KiB: about 85 KiB each; the per-peer bound (4 MiB) is never reached
        server = nbws.start_server(app={"on_ws_open": sockets.append}, max_total_send_buffer=256 * 1024,
                                   close_timeout=10)
        probe = await asyncio.to_thread(Probe, server.port)
        slow = [await asyncio.to_thread(RawWebSocket, server.port, "/", 4096) for _ in range(2)]
        await wait_for_condition(lambda: len(sockets) == 3)
        for _ in range(100):  # 6.4 MiB per peer: the kernel takes a few MiB of it
            payload = struct.pack("!d", time.monotonic()) + bytes(64 * 1024 - 8)
            for ws in sockets:
                if not ws.closed:
                    ws.send(payload)
            await asyncio.sleep(0.005)
        await wait_for_condition(lambda: len(probe.delays) == 100, 10)
        for peer in slow:  # what they were sent, then the Close frame
            code, frames = await asyncio.to_thread(peer.read_until_close)
            assert code == 1008 and frames < 100, (code, frames)
            peer.close()
        await wait_for_condition(lambda: sockets[1].closed and sockets[2].closed, 10)
        assert {ws.close_reason for ws in sockets[1:]} == {"server send buffers full: the peer is not reading"}
        assert not sockets[0].closed
        probe.close()

    run(main)


def test_error_policy_names_the_server_budget() -> None:
    sockets: list[nbws.WebSocket] = []

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append}, send_buffer_policy="error",
                                   max_total_send_buffer=512 * 1024)
        peers = [await asyncio.to_thread(RawWebSocket, server.port, "/", 4096) for _ in range(2)]
        await wait_for_condition(lambda: len(sockets) == 2)
        with pytest.raises(nbws.SendBufferFullError) as info:
            for _ in range(200):
                for ws in sockets:
                    ws.send(bytes(64 * 1024))
                await asyncio.sleep(0)
        assert info.value.total == 512 * 1024 and info.value.limit == 256 * 1024
        assert "max_total_send_buffer" in str(info.value)
        for peer in peers:
            peer.close()

    run(main)


def slow_peer_refusal(server: nbws.Server, sockets: list[nbws.WebSocket]) -> nbws.SendBufferFullError:
    """Push 64 KiB messages to the newest peer (which never reads) until the
    'error' policy refuses one; the error."""
    with pytest.raises(nbws.SendBufferFullError) as info:
        for _ in range(2000):
            sockets[-1].send(bytes(64 * 1024))
    return info.value


def test_bytes_the_readers_took_are_no_longer_charged_to_the_budget() -> None:
    """Ten peers read a 600 KB broadcast at once; afterwards a slow peer may
    still fill its own send_buffer_size: the budget holds only unsent bytes."""
    sockets: list[nbws.WebSocket] = []

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append}, send_buffer_policy="error",
                                   max_total_send_buffer=8 * MiB)
        readers = [await connect(server.ws_url, max_size=None) for _ in range(10)]
        await wait_for_condition(lambda: len(sockets) == 10)
        server.broadcast(bytes(600_000))
        for reader in readers:
            assert len(await asyncio.wait_for(reader.recv(), 10)) == 600_000
        slow = await asyncio.to_thread(RawWebSocket, server.port, "/", 4096)
        await wait_for_condition(lambda: len(sockets) == 11)
        refusal = slow_peer_refusal(server, sockets)
        # its own bound refused it (total None), not a budget still charged with delivered bytes
        assert refusal.total is None and refusal.limit == 4 * MiB, refusal
        slow.close()
        for reader in readers:
            await reader.close()

    run(main)


def test_budget_trait_is_configurable_and_none_disables_it() -> None:
    assert nbws.Server.class_traits()["max_total_send_buffer"].default_value == 32 * MiB
    sockets: list[nbws.WebSocket] = []

    async def main() -> None:
        # a 256 KiB budget would refuse a lone slow peer at its fair share; None leaves only its own bound
        server = nbws.start_server(app={"on_ws_open": sockets.append}, send_buffer_policy="error",
                                   max_total_send_buffer=None, send_buffer_size=1 * MiB)
        assert server.max_total_send_buffer is None
        slow = await asyncio.to_thread(RawWebSocket, server.port, "/", 4096)
        await wait_for_condition(lambda: len(sockets) == 1)
        refusal = slow_peer_refusal(server, sockets)
        assert refusal.total is None and refusal.limit == 1 * MiB
        slow.close()
        server.stop()
        sockets.clear()
        server = nbws.start_server(app={"on_ws_open": sockets.append}, send_buffer_policy="error",
                                   max_total_send_buffer=256 * 1024, send_buffer_size=1 * MiB)
        slow = await asyncio.to_thread(RawWebSocket, server.port, "/", 4096)
        await wait_for_condition(lambda: len(sockets) == 1)
        refusal = slow_peer_refusal(server, sockets)
        assert refusal.total == 256 * 1024
        slow.close()

    run(main)


def test_an_idle_websocket_costs_less_than_13_kib_of_python_heap() -> None:
    """What one idle WebSocket keeps alive on the server (tracemalloc, so it
    is the same on every run: no RSS noise). tornado needs about 13.7 KiB and
    websockets 13.1 KiB of RSS per idle connection (bench/echo_bench.py)."""
    import tracemalloc

    peers = 300
    sockets: list[nbws.WebSocket] = []

    async def main() -> None:
        server = nbws.start_server(app={"on_ws_open": sockets.append})
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            async with slow_peers(server.port, peers):
                await wait_for_condition(lambda: len(sockets) == peers, 10)
                gc.collect()
                per_peer = (tracemalloc.get_traced_memory()[0] - before) / peers
        finally:
            tracemalloc.stop()
        assert per_peer < 13 * 1024, f"{per_peer / 1024:.1f} KiB per idle WebSocket"

    run(main, timeout=60)
