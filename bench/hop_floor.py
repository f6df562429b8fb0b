"""The floor of a thread hop: what one round trip costs when the reply is
made on another thread than the one that read the request, in CPython, on
this machine.

Each server variant below is a 64-byte echo on a raw TCP socket, in its own
process (pinned to core 0, as ``echo_bench.py`` pins its servers: both
threads share one core); the client is a plain blocking socket in this
process (pinned to core 1), one message in flight. The variants differ only
in how the bytes read on one thread reach the thread that writes the reply:

* ``1-thread``      — asyncio, read and reply on one loop (tornado's shape);
* ``loop``          — an I/O thread's asyncio loop reads and hands the bytes to a
  second thread's asyncio loop with ``call_soon_threadsafe``; that thread writes
  the reply itself (``os.write``), as nbws's direct-write fast path does;
* ``loop+yield``    — the same plus ``os.sched_yield()`` after the post (what nbws does);
* ``loop+back``     — the same, but the reply goes back to the I/O loop to be
  written (two hops: what the direct write saves);
* ``loop+spin``     — the handler is still an asyncio loop, but after a job it
  polls the hand-off deque for up to ``--spin`` µs (yielding the CPU each
  time) before it goes back to its selector; the I/O thread posts with
  ``call_soon_threadsafe`` only when it is not polling;
* ``loop+iospin``   — the handler loop is untouched; the I/O thread's selector
  polls (``select(0)``, yielding the CPU between polls) for up to ``--spin`` µs
  after a hand-off before it blocks, so the next request finds it awake;
* ``simplequeue``   — the handler thread blocks on ``queue.SimpleQueue.get``
  (a futex, no selector): the floor of any hand-off to a plain thread;
* ``simplequeue+yield``, ``condition``, ``eventfd`` — other primitives;
* ``spin``          — the blocking queue, polled first for up to ``--spin`` µs.

``--ws`` adds the WebSocket echo servers of ``echo_bench.py`` (raw tornado,
nbws) with the same client speaking minimal RFC 6455 frames, so the floor and
the real servers are in one table.

    python bench/hop_floor.py               # 3 rounds of every variant
    python bench/hop_floor.py --ws --rounds 5
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import queue
import selectors
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

SIZE = 64
RAW = ("1-thread", "loop", "loop+yield", "loop+back", "loop+spin", "loop+iospin",
       "simplequeue", "simplequeue+yield", "condition", "eventfd", "spin")
WS = ("ws-tornado", "ws-nbws")
Handoff = Callable[[int, bytes], None]


# ----------------------------------------------------------------- servers


class Reader(asyncio.Protocol):
    """The I/O side: reads bytes and hands them to ``handoff(fd, data)``."""

    def __init__(self, handoff: Handoff | None) -> None:
        self.handoff = handoff
        self.transport: Any = None
        self.fd = -1

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        sock = transport.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.fd = sock.fileno()

    def data_received(self, data: bytes) -> None:
        if self.handoff is None:
            self.transport.write(data)  # one thread: reply at once
        else:
            self.handoff(self.fd, data)


def reply(fd: int, data: bytes) -> None:
    """The handler's work: write the echo to the non-blocking socket."""
    os.write(fd, data)


class SpinSelector(selectors.EpollSelector):
    """A selector that polls instead of blocking until ``spin_until``."""

    spin_until = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if timeout == 0 or time.perf_counter() >= self.spin_until:
            return super().select(timeout)
        deadline = self.spin_until if timeout is None else min(self.spin_until, time.perf_counter() + timeout)
        while True:
            ready = super().select(0)
            if ready:
                return ready
            now = time.perf_counter()
            if now >= deadline:
                return super().select(None if timeout is None else max(0.0, timeout - (now - deadline)))
            os.sched_yield()


def io_thread(handoff: Handoff, port: int, selector: selectors.BaseSelector | None = None) -> None:
    """Run the reading loop on a daemon thread; returns once it listens."""
    ready = threading.Event()

    def run() -> None:
        loop = asyncio.SelectorEventLoop(selector)
        loop.run_until_complete(loop.create_server(lambda: Reader(handoff), "127.0.0.1", port))
        ready.set()
        loop.run_forever()

    threading.Thread(target=run, name="io", daemon=True).start()
    ready.wait()


def serve_loop(port: int, variant: str, spin_us: float) -> None:
    """A handler thread that is an asyncio loop (a kernel's shape)."""
    handler = asyncio.new_event_loop()
    yield_ = variant == "loop+yield"
    if variant == "loop+back":
        def handoff(fd: int, data: bytes) -> None:
            io = asyncio.get_running_loop()
            handler.call_soon_threadsafe(io.call_soon_threadsafe, reply, fd, data)
    elif variant == "loop+spin":
        jobs: collections.deque[tuple[int, bytes]] = collections.deque()
        state = {"polling": False, "scheduled": False}
        spin = spin_us / 1e6

        def drain() -> None:
            state["scheduled"] = False
            while True:
                while jobs:
                    reply(*jobs.popleft())
                state["polling"] = True
                deadline = time.perf_counter() + spin
                while not jobs and time.perf_counter() < deadline:
                    os.sched_yield()
                state["polling"] = False
                if not jobs:  # appended after the flag dropped: the poster scheduled us
                    return

        def handoff(fd: int, data: bytes) -> None:
            jobs.append((fd, data))
            if not state["polling"] and not state["scheduled"]:
                state["scheduled"] = True
                handler.call_soon_threadsafe(drain)
    elif variant == "loop+iospin":
        selector = SpinSelector()

        def handoff(fd: int, data: bytes) -> None:
            handler.call_soon_threadsafe(reply, fd, data)
            selector.spin_until = time.perf_counter() + spin_us / 1e6
    else:
        def handoff(fd: int, data: bytes) -> None:
            handler.call_soon_threadsafe(reply, fd, data)
            if yield_:
                os.sched_yield()
    io_thread(handoff, port, selector if variant == "loop+iospin" else None)
    print("ready", flush=True)
    handler.run_forever()


def serve_thread(port: int, variant: str, spin_us: float) -> None:
    """A handler thread that blocks on a threading primitive (no selector)."""
    get: Callable[[], tuple[int, bytes]]
    if variant in ("simplequeue", "simplequeue+yield", "spin"):
        q: queue.SimpleQueue[tuple[int, bytes]] = queue.SimpleQueue()
        yield_ = variant == "simplequeue+yield"

        def handoff(fd: int, data: bytes) -> None:
            q.put((fd, data))
            if yield_:
                os.sched_yield()

        if variant == "spin":
            spin = spin_us / 1e6

            def get() -> tuple[int, bytes]:
                deadline = time.perf_counter() + spin
                while time.perf_counter() < deadline:
                    try:
                        return q.get_nowait()
                    except queue.Empty:
                        os.sched_yield()
                return q.get()
        else:
            get = q.get
    elif variant == "condition":
        items: collections.deque[tuple[int, bytes]] = collections.deque()
        cond = threading.Condition()

        def handoff(fd: int, data: bytes) -> None:
            with cond:
                items.append((fd, data))
                cond.notify()

        def get() -> tuple[int, bytes]:
            with cond:
                while not items:
                    cond.wait()
                return items.popleft()
    else:  # eventfd
        pending: collections.deque[tuple[int, bytes]] = collections.deque()
        efd = os.eventfd(0)

        def handoff(fd: int, data: bytes) -> None:
            pending.append((fd, data))
            os.eventfd_write(efd, 1)

        def get() -> tuple[int, bytes]:
            while not pending:
                os.eventfd_read(efd)
            return pending.popleft()
    io_thread(handoff, port)
    print("ready", flush=True)
    while True:
        reply(*get())


def serve_one_thread(port: int) -> None:
    async def main() -> None:
        await asyncio.get_running_loop().create_server(lambda: Reader(None), "127.0.0.1", port)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve(variant: str, port: int, spin_us: float) -> None:
    if variant == "1-thread":
        serve_one_thread(port)
    elif variant.startswith("loop"):
        serve_loop(port, variant, spin_us)
    elif variant in WS:
        here = os.path.dirname(os.path.abspath(__file__))
        sys.path[:0] = [here, os.path.dirname(here)]  # this tree's nbws, not an installed one
        import echo_bench

        echo_bench.serve_tornado(port) if variant == "ws-tornado" else echo_bench.serve_nbws(port)
    else:
        serve_thread(port, variant, spin_us)


# ----------------------------------------------------------------- client


def connect(port: int, ws: bool) -> socket.socket:
    for _ in range(200):  # the server printed "ready" after listening; bounded anyway
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except ConnectionRefusedError:
            time.sleep(0.01)
    else:
        raise RuntimeError(f"nothing listens on {port}")
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if ws:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise RuntimeError("the server closed during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(head.decode(errors="replace"))
    return sock


def round_trips(port: int, ws: bool, count: int) -> list[float]:
    """``count`` timed round trips of 64 bytes, after 500 untimed ones."""
    sock = connect(port, ws)
    payload = b"x" * SIZE
    if ws:  # a masked binary frame; the zero mask keeps the payload as is
        message = bytes([0x82, 0x80 | SIZE, 0, 0, 0, 0]) + payload
        expect = 2 + SIZE
    else:
        message, expect = payload, SIZE
    buf = bytearray(expect)
    view = memoryview(buf)
    samples = []
    try:
        for i in range(500 + count):
            t0 = time.perf_counter()
            sock.sendall(message)
            got = 0
            while got < expect:
                n = sock.recv_into(view[got:])
                if not n:
                    raise RuntimeError("the server closed")
                got += n
            if i >= 500:
                samples.append(time.perf_counter() - t0)
    finally:
        sock.close()
    return samples


def measure(variant: str, count: int, spin_us: float, server_cores: str) -> tuple[float, float, float]:
    """p50, p99 (µs) and the server's CPU seconds per 1,000 round trips."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "HOP_SERVER_CORES": server_cores}
    proc = subprocess.Popen([sys.executable, __file__, "--serve", variant, "--port", str(port),
                             "--spin", str(spin_us)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{variant} did not start")
        cpu0 = cpu_seconds(proc.pid)
        samples = round_trips(port, variant in WS, count)
        cpu = cpu_seconds(proc.pid) - cpu0
    finally:
        proc.kill()
        proc.wait(timeout=10)
    samples.sort()
    return (samples[len(samples) // 2] * 1e6, samples[int(len(samples) * 0.99)] * 1e6,
            cpu / (count + 500) * 1e6)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(0, {core})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of every variant (the median is reported)")
    parser.add_argument("--count", type=int, default=5000, help="timed round trips per variant and round")
    parser.add_argument("--spin", type=float, default=50.0, metavar="US", help="polling window of the spin variants")
    parser.add_argument("--ws", action="store_true", help="also the WebSocket echo servers of echo_bench.py")
    parser.add_argument("--only", action="append", choices=RAW + WS, help="run only these variants")
    parser.add_argument("--server-cores", choices=("0", "all"), default="0",
                        help="pin the server process to core 0 (default) or let it use every core")
    args = parser.parse_args()
    if args.serve:
        if os.environ.get("HOP_SERVER_CORES") != "all":
            pin(0)
        serve(args.serve, args.port, args.spin)
        return
    pin(1)
    variants = args.only or (RAW + WS if args.ws else RAW)
    results: dict[str, list[tuple[float, float, float]]] = {v: [] for v in variants}
    for r in range(args.rounds):
        order = variants if r % 2 == 0 else variants[::-1]  # alternate, so drift hits every variant alike
        for variant in order:
            results[variant].append(measure(variant, args.count, args.spin, args.server_cores))
    base = statistics.median(p50 for p50, _, _ in results[variants[0]])
    print(f"\n{args.rounds} rounds × {args.count} round trips of {SIZE} B, server cores: {args.server_cores}, "
          f"spin window {args.spin:g} µs; medians over rounds (p50 range in brackets)\n")
    print(f"| variant | p50 (µs) | p99 (µs) | p50 − {variants[0]} (µs) | p50 / {variants[0]} | server CPU ms / 1k |")
    print("|---|---|---|---|---|---|")
    for variant in variants:
        p50s = [p50 for p50, _, _ in results[variant]]
        p50 = statistics.median(p50s)
        p99 = statistics.median(p99 for _, p99, _ in results[variant])
        cpu = statistics.median(c for _, _, c in results[variant])
        print(f"| {variant} | {p50:.0f} [{min(p50s):.0f}–{max(p50s):.0f}] | {p99:.0f} | {p50 - base:+.0f} | "
              f"{p50 / base:.2f}× | {cpu:.0f} |")


if __name__ == "__main__":
    main()
