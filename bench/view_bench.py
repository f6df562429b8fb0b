"""M4 for a zoom view, computed on nbws's I/O thread while a cell is busy.

    python bench/view_bench.py [--points 10000000] [--width 2000] [--reps 21] [--quick]

A server's I/O thread computes the view of ``--points`` points (x sorted, one
series, one-point spikes) on ``--width`` pixel columns, over the whole range
and over a tenth of it, ``--reps`` times each, with:

* numpy + blocks — nbws's own path (``nbws.live.zoom.select`` with the
  series' ``Blocks``, sorted x: binary search for the columns, then per-block
  minimum / maximum summaries for whole blocks and the points only at the
  columns' edges);
* numpy, every point — the same call without summaries (the path before
  them: one argmin and one argmax a column);
* tsdownsample — ``M4Downsampler`` on the range's slice (its columns span the
  slice's own first and last x, not [x0, x1], so not the protocol's columns:
  measured for comparison only);
* plain Python — ``select_python`` (one repetition; slow by design).

The ways take turns run by run, so a change in the machine's load hits them
alike.

It then smooths the series with a new weight in slices, as a view query
does (``Smoothed.advance``), timing each slice (the longest the I/O thread
is held) against the whole at once.

Each M4 way is timed idle and while another thread spins in pure Python holding the
GIL (a busy cell), at the default switch interval (5 ms) and at 1 ms and
0.5 ms (``sys.setswitchinterval``, this process only). It also times a whole
view query over the plot's WebSocket (send → answer) while the spinner runs.
Reports p50 / p90 in ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import nbws
from nbws.live.blocks import Blocks
from nbws.live.smooth import SLICE, Smoothed
from nbws.live.store import Series
from nbws.live.zoom import select, select_python


def spinner() -> tuple[threading.Thread, Callable[[], None]]:
    stop = threading.Event()

    def spin() -> None:  # a busy cell: pure Python, holding the GIL
        n = 0
        while not stop.is_set():
            for _ in range(1000):
                n += 1

    thread = threading.Thread(target=spin, daemon=True)
    thread.start()

    def done() -> None:
        stop.set()
        thread.join(5)

    return thread, done


def timed_on_io(server: nbws.Server, fn: Callable[[], Any], reps: int) -> list[float]:
    """Run ``fn`` on the I/O thread ``reps`` times; each run's time in ms, measured there."""
    def once() -> float:
        t0 = time.perf_counter()
        fn()
        return (time.perf_counter() - t0) * 1e3

    return [server._endpoint.io.call(once, 120.0) for _ in range(reps)]  # type: ignore[union-attr]


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    return f"p50 {statistics.median(ordered):7.2f}  p90 {ordered[int(0.9 * (len(ordered) - 1))]:7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--width", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=21)
    parser.add_argument("--quick", action="store_true", help="1,000,000 points, 7 repetitions, no plain Python")
    args = parser.parse_args()
    n, width, reps = (1_000_000, args.width, 7) if args.quick else (args.points, args.width, args.reps)
    rng = np.random.default_rng(18)
    x = np.arange(n, dtype=np.float64) * 0.01
    y = rng.standard_normal(n)
    y[rng.integers(0, n, 50)] = 100.0  # one-point spikes
    blocks = Blocks()
    t0 = time.perf_counter()
    blocks.update(y, 0)
    print(f"block summaries of {n:,} points built in {(time.perf_counter() - t0) * 1e3:.0f} ms "
          f"(kept as points arrive in a plot)")
    server = nbws.start_server(app=nbws.App())
    try:
        tsd: Any = None
        try:
            from tsdownsample import M4Downsampler
            tsd = M4Downsampler()
        except ImportError:
            print("tsdownsample is not installed: pip install tsdownsample")
        ranges = {"whole": (float(x[0]), float(x[-1])), "a tenth": (float(x[n // 3]), float(x[n // 3 + n // 10]))}
        print(f"M4 of {n:,} points to {width} columns on the I/O thread, ms ({reps} runs)")
        for name, (x0, x1) in ranges.items():
            lo, hi = int(np.searchsorted(x, x0)), int(np.searchsorted(x, x1, "right"))
            ways: dict[str, Callable[[], Any]] = {
                "numpy+blocks": lambda x0=x0, x1=x1: select(x, y, x0, x1, width, True, blocks=blocks),
                "numpy, every": lambda x0=x0, x1=x1: select(x, y, x0, x1, width, True)}
            if tsd is not None:
                ways["tsdownsample"] = lambda lo=lo, hi=hi: tsd.downsample(x[lo:hi], y[lo:hi], n_out=4 * width)
            for setting in ("idle", 0.005, 0.001, 0.0005):  # the ways take turns, run by run (fair under load)
                done = None
                if setting != "idle":
                    sys.setswitchinterval(float(setting))
                    _, done = spinner()
                try:
                    times: dict[str, list[float]] = {label: [] for label in ways}
                    for _ in range(reps):
                        for label, fn in ways.items():
                            times[label] += timed_on_io(server, fn, 1)
                finally:
                    if done is not None:
                        done()
                        sys.setswitchinterval(0.005)
                for label in ways:
                    when = "idle     " if setting == "idle" else f"busy {float(setting) * 1e3:3g} ms"
                    print(f"  {name:8} {label:13} {when} {summary(times[label])}", flush=True)
        if not args.quick:
            xs, ys = x.tolist(), y.tolist()
            t0 = time.perf_counter()
            select_python(xs, ys, float(x[0]), float(x[-1]), width, True)
            print(f"  whole    plain Python  idle      {(time.perf_counter() - t0) * 1e3:9.0f} (1 run)")
            del xs, ys
        print(f"smoothing {n:,} points with a new weight (w = 0.9) in slices of {SLICE:,} on the I/O thread:")
        series = Series()
        series.append(x, y)
        smoothed, slices = Smoothed(0.9), []
        while True:
            t0 = time.perf_counter()
            done = smoothed.advance(series, SLICE)
            slices.append((time.perf_counter() - t0) * 1e3)
            if done:
                break
        print(f"  {len(slices)} slices, each {summary(slices)}  max {max(slices):6.2f}  total {sum(slices):6.0f}")
        t0 = time.perf_counter()
        Smoothed(0.9).update(series)
        print(f"  in one go (before):  {(time.perf_counter() - t0) * 1e3:6.0f}")
        del series, smoothed
        print(f"view query over the WebSocket (send -> answer), {n:,} points, busy cell, ms:")
        print("  " + summary(asyncio.run(query_latency(server, x, y, width, reps))))
    finally:
        server.stop()


async def query_latency(server: nbws.Server, x: Any, y: Any, width: int, reps: int) -> list[float]:
    from websockets.asyncio.client import connect

    plot = nbws.LivePlot("view-bench", server=server, max_points=len(x))
    plot.push_many(x, y)
    plot.flush(120.0)
    times = []
    async with connect(server.ws_url + "live/view-bench/ws", max_size=None) as ws:
        await asyncio.wait_for(ws.recv(), 60)  # meta
        await asyncio.wait_for(ws.recv(), 60)  # history
        _, done = spinner()
        try:
            for i in range(1, reps + 1):
                x0 = float(x[0]) + i
                t0 = time.perf_counter()
                await ws.send(json.dumps({"view": {"id": i, "x0": x0, "x1": float(x[-1]), "width": width}}))
                await asyncio.wait_for(ws.recv(), 60)
                times.append((time.perf_counter() - t0) * 1e3)
        finally:
            done()
    return times


if __name__ == "__main__":
    main()
