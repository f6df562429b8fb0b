"""Blocking ``receive()`` round trips in a plain script: nbws's client vs
``websockets.sync.client``, against the same echo server.

The echo server (the ``websockets`` asyncio server) runs in its own process,
pinned to core 0 where possible; the clients run one after the other in this
process, pinned to core 1, with no event loop running: ``ws.send(msg)`` then
``ws.receive(timeout=...)`` (nbws) or ``ws.recv(timeout=...)`` (websockets),
one message in flight, 64 bytes.

    python bench/receive_bench.py            # 3 rounds of 3,000 round trips each
    python bench/receive_bench.py --quick    # 1 round of 1,000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # this checkout's nbws, not an installed one


def pin(core: int) -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(0, {core})


def serve(port_out: int) -> None:
    import asyncio

    from websockets.asyncio.server import ServerConnection, serve

    pin(0)

    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    async def main() -> None:
        async with serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            os.write(port_out, f"{port}\n".encode())
            await asyncio.Event().wait()

    asyncio.run(main())


def measure(send: Callable[[str], object], receive: Callable[[], object], count: int) -> list[float]:
    payload = "x" * 64
    for _ in range(200):  # warm up
        send(payload)
        receive()
    times = []
    for _ in range(count):
        started = time.perf_counter()
        send(payload)
        receive()
        times.append(time.perf_counter() - started)
    return times


def run_nbws(url: str, count: int) -> list[float]:
    import nbws

    ws = nbws.connect(url, ping_interval=None)
    ws.wait_open(10)
    try:
        return measure(ws.send, lambda: ws.receive(timeout=10), count)
    finally:
        ws.close()


def run_websockets(url: str, count: int) -> list[float]:
    from websockets.sync.client import connect

    with connect(url, compression=None) as ws:
        return measure(ws.send, lambda: ws.recv(timeout=10), count)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one round of 1,000 round trips")
    args = parser.parse_args()
    rounds, count = (1, 1000) if args.quick else (3, 3000)
    read_end, write_end = os.pipe()
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(write_end)], pass_fds=(write_end,))
    os.close(write_end)
    try:
        with os.fdopen(read_end) as pipe:
            port = int(pipe.readline())
        url = f"ws://127.0.0.1:{port}/"
        pin(1)
        results: dict[str, list[float]] = {"nbws": [], "websockets": []}
        for _ in range(rounds):  # interleaved, so drift in machine load hits both
            results["nbws"] += run_nbws(url, count)
            results["websockets"] += run_websockets(url, count)
    finally:
        server.terminate()
        server.wait(10)
    print(f"blocking receive() round trip, 64 B, {rounds} x {count} per client (µs)")
    print(f"{'client':<12}{'p50':>8}{'p99':>8}{'mean':>8}")
    for name, times in results.items():
        print(f"{name:<12}{percentile(times, 0.5) * 1e6:>8.0f}{percentile(times, 0.99) * 1e6:>8.0f}"
              f"{statistics.fmean(times) * 1e6:>8.0f}")
    nb, wsk = results["nbws"], results["websockets"]
    print(f"nbws / websockets: p50 {percentile(nb, 0.5) / percentile(wsk, 0.5):.2f}x, "
          f"p99 {percentile(nb, 0.99) / percentile(wsk, 0.99):.2f}x")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        serve(int(sys.argv[2]))
    else:
        main()
