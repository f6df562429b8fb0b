"""Side-by-side WebSocket echo benchmark: nbws vs raw tornado vs websockets,
and the same nbws echo app inside a real IPython kernel.

Each server runs in its own process (pinned to core 0 where possible); the
load client is picows on uvloop in this process (pinned to core 1), and its
own CPU use is reported so a client bottleneck is visible. Everything is on
127.0.0.1.

    python bench/echo_bench.py            # full run (~2 minutes)
    python bench/echo_bench.py --quick    # shorter phases

The "nbws" server runs its handlers the way a script does: on the main
thread's asyncio loop, reached through the dispatch queue from the I/O thread.
"nbws-kernel" is where users run it: an ipykernel started with jupyter_client,
the app started by executing a cell, handlers on the kernel's own loop.

Before the timed phases, each fresh server is also given ``--idle`` (2,000)
idle WebSockets: the growth of its resident memory divided by their number is
the memory per idle connection.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

MiB = 1024 * 1024
SERVERS = ("nbws", "tornado", "websockets", "nbws-kernel")
SUBPROCESS_SERVERS = SERVERS[:3]
# R's httpuv, measured by the issue author on this machine kind with the same
# kind of client (not run here: it needs R): messages/s, p50 seconds, MB/s.
HTTPUV_REFERENCE = {"pipelined_64": 15_000, "p50_us": 80.0, "big_mbps": 195.0}


# ----------------------------------------------------------------- servers


def start_nbws_echo(port: int) -> Any:
    """Start the nbws echo app (also run by the kernel's cell); the Server."""
    import nbws

    def on_ws_open(ws: nbws.WebSocket) -> None:
        def on_message(msg: Any) -> None:
            if isinstance(msg, str) and msg.startswith("bcast:"):
                _, count, size = msg.split(":")
                payload = "x" * int(size)
                for _ in range(int(count)):
                    server.broadcast(payload)
            else:
                ws.send(msg)

        ws.on_message(on_message)

    # the send buffer bounds are nbws's defaults (what users get), unless --nbws-trait overrides them
    traits: dict[str, Any] = {"max_message_size": 64 * MiB, "ping_interval": None, "max_connections": 4096}
    traits.update(json.loads(os.environ.get("NBWS_BENCH_TRAITS", "{}")))
    server = nbws.start_server(port=port, app={"on_ws_open": on_ws_open}, **traits)
    return server


def serve_nbws(port: int) -> None:
    async def main() -> None:
        start_nbws_echo(port)
        import nbws

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        if not nbws.__file__ or not nbws.__file__.startswith(root):
            raise RuntimeError(f"the server imported nbws from {nbws.__file__}, not from {root}")
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_tornado(port: int) -> None:
    import tornado.ioloop
    import tornado.web
    import tornado.websocket

    clients: set[tornado.websocket.WebSocketHandler] = set()

    class Echo(tornado.websocket.WebSocketHandler):
        def check_origin(self, origin: str) -> bool:
            return True

        def open(self, *args: str, **kwargs: str) -> None:
            self.set_nodelay(True)  # as nbws and websockets do; without it small echoes wait for delayed ACKs
            clients.add(self)

        def on_close(self) -> None:
            clients.discard(self)

        def on_message(self, message: str | bytes) -> None:
            if isinstance(message, str) and message.startswith("bcast:"):
                _, count, size = message.split(":")
                payload = "x" * int(size)
                for _ in range(int(count)):
                    for client in list(clients):
                        client.write_message(payload)
            else:
                self.write_message(message, binary=isinstance(message, bytes))

    async def main() -> None:
        app = tornado.web.Application([("/", Echo)], websocket_max_message_size=64 * MiB)
        app.listen(port, "127.0.0.1", max_buffer_size=128 * MiB)
        print("ready", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def serve_websockets(port: int) -> None:
    from websockets.asyncio.server import ServerConnection, broadcast, serve

    clients: set[ServerConnection] = set()

    async def handler(ws: ServerConnection) -> None:
        clients.add(ws)
        try:
            async for msg in ws:
                if isinstance(msg, str) and msg.startswith("bcast:"):
                    _, count, size = msg.split(":")
                    payload = "x" * int(size)
                    for _ in range(int(count)):
                        broadcast(clients, payload)
                else:
                    await ws.send(msg)
        finally:
            clients.discard(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, max_size=64 * MiB, compression=None, ping_interval=None,
                         max_queue=None, write_limit=64 * MiB):
            print("ready", flush=True)
            await asyncio.Event().wait()

    asyncio.run(main())


# ----------------------------------------------------------------- client


def pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(0, {core})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    """picows client: one connection, frames counted and timestamped."""

    def __init__(self) -> None:
        from picows import WSListener

        client = self

        class Listener(WSListener):  # type: ignore[misc]
            def on_ws_frame(self, transport: Any, frame: Any) -> None:
                client.on_frame(frame)

        self.listener_class = Listener
        self.transport: Any = None
        self.waiter: asyncio.Future[None] | None = None
        self.expected = 0
        self.received = 0
        self.big: list[bytes] = []

    def on_frame(self, frame: Any) -> None:
        from picows import WSMsgType

        if frame.msg_type in (WSMsgType.TEXT, WSMsgType.BINARY, WSMsgType.CONTINUATION):
            if frame.fin:
                self.received += 1
                if self.waiter is not None and self.received >= self.expected and not self.waiter.done():
                    self.waiter.set_result(None)

    async def connect(self, url: str) -> None:
        from picows import ws_connect

        self.transport, _ = await ws_connect(self.listener_class, url, max_frame_size=64 * MiB)

    async def expect(self, count: int, timeout: float = 60) -> None:
        await self.until(self.received + count, timeout)

    async def until(self, total: int, timeout: float = 60) -> None:
        """Wait until ``total`` messages have been received in all."""
        self.expected = total
        if self.received >= total:
            return
        self.waiter = asyncio.get_running_loop().create_future()
        await asyncio.wait_for(self.waiter, timeout)

    def send(self, data: bytes) -> None:
        from picows import WSMsgType

        self.transport.send(WSMsgType.BINARY, data)

    def send_text(self, text: str) -> None:
        from picows import WSMsgType

        self.transport.send(WSMsgType.TEXT, text.encode())

    def close(self) -> None:
        """Send a Close frame, then drop the TCP connection (servers see a
        clean close, not an error to log)."""
        from picows import WSCloseCode

        self.transport.send_close(WSCloseCode.OK)
        self.transport.disconnect()


def rss_kib(pid: int) -> int:
    """Resident memory of process ``pid`` in KiB (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def idle_memory(url: str, pid: int, count: int) -> float:
    """Open ``count`` idle WebSockets to a fresh server: its RSS growth per
    connection in KiB. An echo on one more connection, opened last, is the
    barrier that the server has set up every earlier one."""

    async def echo_once() -> None:
        probe = Client()
        await probe.connect(url)
        probe.send(b"p")
        await probe.expect(1, timeout=30)
        probe.close()

    await echo_once()  # warm: first-connection allocations are not per connection
    before = rss_kib(pid)
    idle: list[Client] = []
    for start_at in range(0, count, 200):
        batch = [Client() for _ in range(min(200, count - start_at))]
        await asyncio.gather(*(c.connect(url) for c in batch))
        idle.extend(batch)
    await echo_once()
    after = rss_kib(pid)
    for c in idle:
        c.close()
    return (after - before) / count


async def measure(url: str, quick: bool, pid: int, idle: int) -> dict[str, float]:
    results: dict[str, float] = {}
    if idle:
        results["idle_kib"] = await idle_memory(url, pid, idle)
    client = Client()
    await client.connect(url)
    payload = b"x" * 64
    # round-trip latency, one message at a time
    for _ in range(500):
        client.send(payload)
        await client.expect(1)
    samples = []
    for _ in range(2000 if quick else 10000):
        t0 = time.perf_counter()
        client.send(payload)
        await client.expect(1)
        samples.append(time.perf_counter() - t0)
    samples.sort()
    results["p50_us"] = samples[len(samples) // 2] * 1e6
    results["p99_us"] = samples[int(len(samples) * 0.99)] * 1e6
    # pipelined throughput with a window of messages in flight
    for size in (64, 4096):
        data = b"y" * size
        window = 128
        duration = 1.5 if quick else 3.0
        base = client.received
        sent = 0
        for _ in range(window):
            client.send(data)
            sent += 1
        cpu0, t0 = time.process_time(), time.perf_counter()
        while time.perf_counter() - t0 < duration:
            await client.until(base + sent - window // 2)
            for _ in range(window // 2):
                client.send(data)
                sent += 1
        elapsed = time.perf_counter() - t0
        results[f"pipelined_{size}"] = (client.received - base) / elapsed
        results[f"client_cpu_{size}"] = (time.process_time() - cpu0) / elapsed
        await client.until(base + sent)
    # one big binary message
    big = os.urandom(16 * MiB)
    times = []
    for _ in range(2 if quick else 5):
        t0 = time.perf_counter()
        client.send(big)
        await client.expect(1, timeout=120)
        times.append(time.perf_counter() - t0)
    results["big_mbps"] = 16 * MiB / statistics.median(times) / 1e6
    client.close()
    # broadcast to 200 clients
    clients = []
    for _ in range(200):
        c = Client()
        await c.connect(url)
        clients.append(c)
    await asyncio.sleep(0.3)
    count = 50 if quick else 100
    t0 = time.perf_counter()
    clients[0].send_text(f"bcast:{count}:64")
    await asyncio.gather(*(c.until(count) for c in clients))
    results["broadcast_200_ms"] = (time.perf_counter() - t0) * 1000
    for c in clients:
        c.close()
    return results


class Subprocess:
    """A server in a child process of this script."""

    def __init__(self, kind: str, port: int) -> None:
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # this tree's nbws, not an installed one
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.proc = subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)],
                                     stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"{kind} server did not start")
        self.pid = self.proc.pid

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


KERNEL_CELL = """
import json, os, sys
if os.environ.get("NBWS_BENCH_SERVER_CORES") != "all" and (os.cpu_count() or 1) > 1:
    for tid in os.listdir("/proc/self/task"):  # every thread of the kernel, and so the ones it starts
        os.sched_setaffinity(int(tid), {{0}})
os.environ["NBWS_BENCH_TRAITS"] = {traits!r}
sys.path.insert(0, {bench!r})
import nbws, echo_bench
server = echo_bench.start_nbws_echo({port})
print(json.dumps({{"pid": os.getpid(), "nbws": nbws.__file__}}))
"""


class KernelServer:
    """The nbws echo app inside a real ipykernel (jupyter_client), started by
    executing a cell, as a user runs it; handlers on the kernel's loop."""

    def __init__(self, port: int) -> None:
        from jupyter_client.manager import KernelManager

        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
        self.km = KernelManager(kernel_name="python3")
        self.km.start_kernel(cwd=root, env=env)
        self.kc = self.km.blocking_client()
        try:
            self.kc.start_channels()
            self.kc.wait_for_ready(timeout=60)
            out: list[str] = []
            cell = KERNEL_CELL.format(traits=os.environ.get("NBWS_BENCH_TRAITS", "{}"),
                                      bench=os.path.dirname(os.path.abspath(__file__)), port=port)
            reply = self.kc.execute_interactive(
                cell, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", "")
                                                                  if m["msg_type"] == "stream" else ""))
            if reply["content"]["status"] != "ok":
                raise RuntimeError(f"the kernel's cell failed: {reply['content'].get('evalue')}")
            info = json.loads("".join(out))
            self.pid = int(info["pid"])
            if not info["nbws"].startswith(root):
                raise RuntimeError(f"the kernel imported nbws from {info['nbws']}, not from {root}")
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def start(kind: str, port: int) -> Subprocess | KernelServer:
    return KernelServer(port) if kind == "nbws-kernel" else Subprocess(kind, port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", choices=SUBPROCESS_SERVERS, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="shorter phases")
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--idle", type=int, default=2000, metavar="N",
                        help="idle WebSockets opened to measure memory per connection (0: skip)")
    parser.add_argument("--only", choices=SERVERS, action="append", help="run only these servers")
    parser.add_argument("--nbws-trait", action="append", default=[], metavar="NAME=JSON",
                        help="set a trait of the nbws server, e.g. send_buffer_size=1048576")
    args = parser.parse_args()
    traits = {name: json.loads(value) for name, _, value in (t.partition("=") for t in args.nbws_trait)}
    os.environ["NBWS_BENCH_TRAITS"] = json.dumps(traits)
    if args.serve:
        if os.environ.get("NBWS_BENCH_SERVER_CORES") != "all":
            pin(0)
        {"nbws": serve_nbws, "tornado": serve_tornado, "websockets": serve_websockets}[args.serve](args.port)
        return
    pin(1)
    try:
        import uvloop

        run = uvloop.run
    except ImportError:  # pragma: no cover
        run = asyncio.run
    table: dict[str, dict[str, float]] = {}
    for kind in args.only or SERVERS:
        port = free_port()
        server = start(kind, port)
        try:
            table[kind] = run(measure(f"ws://127.0.0.1:{port}/", args.quick, server.pid, args.idle))
        finally:
            server.stop()
        print(kind, json.dumps({k: round(v, 1) for k, v in table[kind].items()}), flush=True)
    if all(kind in table for kind in SUBPROCESS_SERVERS):
        report(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(table, f, indent=2)


def report(table: dict[str, dict[str, float]]) -> None:
    rows = [
        ("p50 round trip, 64 B (µs)", "p50_us", False),
        ("p99 round trip, 64 B (µs)", "p99_us", False),
        ("pipelined 64 B (msg/s)", "pipelined_64", True),
        ("pipelined 4 KiB (msg/s)", "pipelined_4096", True),
        ("16 MiB echo (MB/s)", "big_mbps", True),
        ("broadcast 100 msgs to 200 clients (ms)", "broadcast_200_ms", False),
    ]
    if all("idle_kib" in table[k] for k in SUBPROCESS_SERVERS):
        rows.append(("memory per idle WebSocket (KiB)", "idle_kib", False))
    kernel = "nbws-kernel" in table
    print()
    print("| measure | nbws | tornado | websockets | nbws / tornado | nbws / websockets |"
          + (" nbws in a kernel | kernel / tornado | kernel / websockets |" if kernel else ""))
    print("|---|---|---|---|---|---|" + ("---|---|---|" if kernel else ""))
    for label, key, _higher in rows:
        n, t, w = (table[k][key] for k in SUBPROCESS_SERVERS)
        digits = 1 if key == "idle_kib" else 0
        line = f"| {label} | {n:,.{digits}f} | {t:,.{digits}f} | {w:,.{digits}f} | {n / t:.2f}× | {n / w:.2f}× |"
        if kernel:
            k = table["nbws-kernel"][key]
            line += f" {k:,.{digits}f} | {k / t:.2f}× | {k / w:.2f}× |"
        print(line)
    print()
    n = table["nbws"]
    print(f"nbws vs httpuv reference: pipelined 64 B {n['pipelined_64'] / HTTPUV_REFERENCE['pipelined_64']:.1f}×, "
          f"p50 {n['p50_us'] / HTTPUV_REFERENCE['p50_us']:.2f}×, 16 MiB {n['big_mbps'] / HTTPUV_REFERENCE['big_mbps']:.1f}×")
    print("client CPU share during pipelined phases: "
          + ", ".join(f"{k} {table[k]['client_cpu_64']:.0%}/{table[k]['client_cpu_4096']:.0%}" for k in table))


if __name__ == "__main__":
    main()
