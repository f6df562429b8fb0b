"""Broadcast latency through ``nbws relay`` (issue 15): a kernel process
(tests/relay_kernel.py) broadcasts a time stamp; N WebSocket clients (the
``websockets`` library, all in this process) spread over 1 or 3 ``python -m
nbws relay`` processes on a real redis-server receive it. Reports p50 / p99 of
(receive time - send time) over every client and broadcast, and the kernel's
CPU per broadcast (it holds no client: one publish per broadcast, whatever N).
Setup ``uplink``: one relay with no Redis, the kernel dialing out to it
(``backplane="nbws+ws://..."``).

The clients share this one Python process, so the tail includes their own
turn on its loop: compare rows, not absolutes.

    python bench/relay_bench_fanout.py [--clients 1000 5000] [--broadcasts 20] [--setups redis:1 redis:3 uplink]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from websockets.asyncio.client import ClientConnection, connect

from tests.brokers import RedisServer
from tests.relay_pages import Kernel, Relay


async def measure(kernel: Kernel, relays: list[Relay], clients: int, broadcasts: int) -> tuple[float, float, float]:
    sockets: list[ClientConnection] = []
    for i in range(clients):
        url = relays[i % len(relays)].url.replace("http", "ws", 1)
        sockets.append(await connect(url + "_nbws/ws", max_size=None, ping_interval=None, open_timeout=60))
    samples: list[float] = []

    async def reader(ws: ClientConnection) -> None:
        async for message in ws:
            if isinstance(message, str) and message.startswith("t"):
                samples.append(time.time() - float(message[1:]))

    readers = [asyncio.ensure_future(reader(ws)) for ws in sockets]
    for _ in range(3):  # warm-up
        await asyncio.to_thread(kernel.command, "stamp")
    await asyncio.sleep(1.0)
    samples.clear()
    before = float((await asyncio.to_thread(kernel.command, "stats"))["cpu"])  # type: ignore[arg-type]
    for _ in range(broadcasts):
        await asyncio.to_thread(kernel.command, "stamp")
        await asyncio.sleep(0.2 + clients / 20_000)
    after = float((await asyncio.to_thread(kernel.command, "stats"))["cpu"])  # type: ignore[arg-type]
    deadline = time.monotonic() + 60
    while len(samples) < clients * broadcasts and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for task in readers:
        task.cancel()
    for ws in sockets:
        await ws.close()
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    cpu = (after - before) / broadcasts  # includes the stats command itself: an upper bound
    assert len(samples) == clients * broadcasts, f"{len(samples)} of {clients * broadcasts} arrived"
    return statistics.median(ordered) * 1000, p99 * 1000, cpu * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--broadcasts", type=int, default=20)
    parser.add_argument("--setups", nargs="+", default=["redis:1", "redis:3", "uplink"])
    args = parser.parse_args()
    print("| clients | setup | p50 ms | p99 ms | kernel CPU per broadcast (µs) |")
    print("|---:|---|---:|---:|---:|")
    with RedisServer() as redis:
        for clients in args.clients:
            for setup in args.setups:
                app = "bench" + secrets.token_hex(4)
                relays: list[Relay] = []
                kernel: Kernel | None = None
                try:
                    if setup == "uplink":  # no Redis: the kernel dials out to one relay
                        relays = [Relay(app, "memory")]
                        kernel = Kernel(app, f"nbws+ws://127.0.0.1:{relays[0].port}/")
                        label = "1 relay, kernel's uplink"
                    else:
                        count = int(setup.split(":")[1])
                        kernel = Kernel(app, redis.url)
                        relays = [Relay(app, redis.url) for _ in range(count)]
                        label = f"{count} relay(s), Redis"
                    p50, p99, cpu = asyncio.run(measure(kernel, relays, clients, args.broadcasts))
                    print(f"| {clients} | {label} | {p50:.1f} | {p99:.1f} | {cpu:.0f} |", flush=True)
                finally:
                    for relay in relays:
                        relay.stop()
                    if kernel is not None:
                        kernel.stop()


if __name__ == "__main__":
    main()
