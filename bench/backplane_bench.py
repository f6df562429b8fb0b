"""Broadcast latency through the backplane (issue 15).

A publisher process broadcasts a time stamp; N WebSocket clients (the
``websockets`` library, all in this process) spread over 1 or 3 server
processes receive it. Reports p50 / p99 of (receive time - send time) over
every client and broadcast, and the publisher's CPU per broadcast.

* ``memory``: today's behaviour, one process: the publisher's own server
  holds every client (no broker).
* ``redis-1`` / ``redis-3``: a publisher process holding no clients, and 1 or
  3 server processes of the same app on a real redis-server (loopback).

The clients share this one Python process, so the tail includes their own
turn on its loop (N receives per broadcast): compare rows, not absolutes.

    python bench/backplane_bench.py [--clients 1000] [--broadcasts 40]
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

from tests.brokers import Node, RedisServer


async def measure(publisher: Node, servers: list[Node], clients: int, broadcasts: int) -> tuple[float, float, float]:
    sockets: list[ClientConnection] = []
    for i in range(clients):
        sockets.append(await connect(servers[i % len(servers)].url + "_nbws/ws", max_size=None, ping_interval=None))
    samples: list[float] = []

    async def reader(ws: ClientConnection) -> None:
        async for message in ws:
            if isinstance(message, str) and message.startswith("t"):
                samples.append(time.time() - float(message[1:]))

    readers = [asyncio.ensure_future(reader(ws)) for ws in sockets]
    for _ in range(3):  # warm-up
        await asyncio.to_thread(publisher.command, "stamp")
    await asyncio.sleep(0.5)
    samples.clear()
    before = float((await asyncio.to_thread(publisher.stats))["cpu"])  # type: ignore[arg-type]
    for _ in range(broadcasts):
        await asyncio.to_thread(publisher.command, "stamp")
        await asyncio.sleep(0.1)
    after = float((await asyncio.to_thread(publisher.stats))["cpu"])  # type: ignore[arg-type]
    deadline = time.monotonic() + 30
    while len(samples) < clients * broadcasts and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    assert len(samples) == clients * broadcasts, f"{len(samples)} of {clients * broadcasts} arrived"
    samples.sort()
    p50 = statistics.median(samples) * 1000
    p99 = samples[int(len(samples) * 0.99) - 1] * 1000
    # the command round trips and stats are in the CPU too: an upper bound
    return p50, p99, (after - before) / broadcasts * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1000])
    parser.add_argument("--broadcasts", type=int, default=40)
    args = parser.parse_args()
    print("| clients | setup | p50 ms | p99 ms | publisher CPU µs / broadcast |\n|---|---|---|---|---|")
    with RedisServer() as redis:
        for clients in args.clients:
            for setup, count in (("memory", 0), ("redis-1", 1), ("redis-3", 3)):
                app = "bench" + secrets.token_hex(4)
                url = "memory" if count == 0 else redis.url
                nodes = [Node(app, url) for _ in range(count + 1)]
                try:
                    publisher, servers = nodes[0], nodes[1:] or nodes[:1]
                    p50, p99, cpu = asyncio.run(measure(publisher, servers, clients, args.broadcasts))
                finally:
                    for node in nodes:
                        node.stop()
                print(f"| {clients} | {setup} | {p50:.1f} | {p99:.1f} | {cpu:.0f} |", flush=True)


if __name__ == "__main__":
    main()
