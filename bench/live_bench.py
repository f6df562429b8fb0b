"""Live-plot benchmark: push() cost, sustained points/s to 1 and 50 page-like
clients, and push-to-receipt latency while the pushing thread stays busy.

    python bench/live_bench.py [--quick]

Clients run in another process (websockets on asyncio), decode the binary
frames and report what they got; everything is on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import statistics
import struct
import sys
import time
from typing import Any

HEADER = struct.Struct("<4sBBHI")


def client_main(url: str, clients: int, seconds: float, latency: bool, out: Any) -> None:
    from websockets.asyncio.client import connect

    async def one(results: list[Any]) -> None:
        count = 0
        delays: list[float] = []
        async with connect(url, max_size=None) as ws:
            results.append(None)  # connected
            end = time.time() + seconds
            while time.time() < end:
                try:
                    msg = await asyncio.wait_for(ws.recv(), max(0.01, end - time.time()))
                except asyncio.TimeoutError:
                    break
                if isinstance(msg, str):
                    continue
                pos = 0
                now = time.time()
                while pos < len(msg):
                    _, _, _, _, n = HEADER.unpack_from(msg, pos)
                    pos += HEADER.size
                    if latency and n:
                        xs = struct.unpack_from(f"<{n}d", msg, pos)
                        delays.extend(now - x for x in xs)
                    count += n
                    pos += 16 * n
        results.append((count, delays))

    async def main() -> None:
        results: list[Any] = []
        await asyncio.gather(*(one(results) for _ in range(clients)))
        out.put([r for r in results if r is not None])

    asyncio.run(main())


def run_case(clients: int, seconds: float, latency: bool) -> dict[str, float]:
    import nbws

    server = nbws.start_server(app=nbws.App(), send_buffer_size=64 << 20)
    plot = nbws.LivePlot(f"bench{clients}{int(latency)}", series=["y"], server=server, max_points=1_000_000)
    url = server.ws_url + f"live/{plot.name}/ws"
    queue: Any = mp.Queue()
    proc = mp.Process(target=client_main, args=(url, clients, seconds + 1.5, latency, queue))
    proc.start()
    deadline = time.monotonic() + 20
    while len(plot._subscribers) < clients and time.monotonic() < deadline:
        time.sleep(0.05)
    pushed = 0
    start = time.monotonic()
    if latency:
        while time.monotonic() - start < seconds:  # a busy loop that pushes 2,000 points/s
            plot.push(time.time(), y=1.0)
            pushed += 1
            until = time.perf_counter() + 0.0005
            while time.perf_counter() < until:
                pass
    else:
        while time.monotonic() - start < seconds:  # as fast as one thread can push
            for i in range(1000):
                plot.push(i, y=0.5)
            pushed += 1000
    elapsed = time.monotonic() - start
    results = queue.get(timeout=60)
    proc.join(timeout=30)
    server.stop()
    counts = [c for c, _ in results]
    row = {"pushed_per_s": pushed / elapsed, "received_per_client_per_s": statistics.mean(counts) / elapsed,
           "skipped_batches": plot.batches_skipped}
    if latency:
        delays = sorted(d for _, ds in results for d in ds)
        row["p50_ms"] = delays[len(delays) // 2] * 1000
        row["p99_ms"] = delays[int(len(delays) * 0.99)] * 1000
    return row


def push_cost(n: int) -> dict[str, float]:
    import nbws

    server = nbws.start_server(app=nbws.App())
    plot = nbws.LivePlot("cost", series=["loss", "acc"], server=server, max_points=2 * n)
    t0 = time.perf_counter()
    for i in range(n):
        plot.push(i, loss=0.5)
    one = (time.perf_counter() - t0) / n * 1e6
    t0 = time.perf_counter()
    for i in range(n // 2):
        plot.push(i, loss=0.5, acc=0.9)
    two = (time.perf_counter() - t0) / n * 1e6
    xs = list(range(n))
    t0 = time.perf_counter()
    plot.push_many(xs, xs, series="loss")
    many = (time.perf_counter() - t0) / n * 1e6
    server.stop()
    return {"push_us_per_point": one, "push_two_series_us_per_point": two, "push_many_us_per_point": many}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds = 2.0 if args.quick else 5.0
    report: dict[str, Any] = {"push_cost": push_cost(200_000 if args.quick else 1_000_000)}
    report["1 client"] = run_case(1, seconds, latency=False)
    report["50 clients"] = run_case(50, seconds, latency=False)
    report["latency, 1 client"] = run_case(1, seconds, latency=True)
    print(json.dumps(report, indent=2))
    c = report["push_cost"]
    print()
    print("| measure | result | target |")
    print("|---|---|---|")
    print(f"| `push()` cost per point | {c['push_us_per_point']:.2f} µs | ≤ 5 µs |")
    print(f"| `push_many()` cost per point | {c['push_many_us_per_point']:.2f} µs | |")
    for name in ("1 client", "50 clients"):
        r = report[name]
        print(f"| sustained, {name}: pushed / received per client | {r['pushed_per_s']:,.0f} / "
              f"{r['received_per_client_per_s']:,.0f} points/s | |")
    lat = report["latency, 1 client"]
    print(f"| push → receipt while the pusher is busy, p50 / p99 | {lat['p50_ms']:.1f} / {lat['p99_ms']:.1f} ms "
          f"| p50 ≤ 50 ms |")


if __name__ == "__main__":
    sys.exit(main())
