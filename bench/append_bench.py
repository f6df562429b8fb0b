"""The longest append to a full plot's store, and its memory a point.

    python bench/append_bench.py [--points 10000000] [--batch 10000] [--batches 1200]

A :class:`~nbws.live.store.Store` holding ``--points`` points in one series
(x sorted, its block summaries kept) takes ``--batches`` appends of
``--batch`` points, each followed by the trim to ``max_points`` (what a
plot's tick does on the I/O thread): enough for its columns to move to new
buffers a few times. Reports p50 / p99 / max of one append + trim in ms,
the moves seen, the most values of the x column one append copied (the
time it takes moves with the machine's load; this does not), and memory from ``tracemalloc`` (numpy reports its buffers
to it): bytes a point kept, now and at the peak. Run it against an older
tree (``PYTHONPATH=...``) for a before / after; the numbers move with the
machine's load, so take the max over a few runs with care.
"""

from __future__ import annotations

import argparse
import statistics
import time
import tracemalloc

import numpy as np

from nbws.live.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10_000_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--batches", type=int, default=1200)
    args = parser.parse_args()
    tracemalloc.start()
    store = Store(1, args.points)
    series = store.series[0]
    x = np.arange(args.points, dtype=np.float64)
    series.append(x, np.sin(x))
    del x
    store.trim()
    tracemalloc.reset_peak()
    batch = np.arange(args.batch, dtype=np.float64)
    times = []
    largest = 0  # the most x values one append copied into a new buffer
    for i in range(args.batches):
        xs = batch + args.points + i * args.batch
        buffer, copied = series.x._data, getattr(series.x, "copied", 0)
        started = time.perf_counter()
        series.append(xs, np.sin(xs))
        store.trim()
        times.append((time.perf_counter() - started) * 1e3)
        if hasattr(series.x, "copied"):
            largest = max(largest, series.x.copied - copied)
        elif series.x._data is not buffer:  # a column without moves copies all its values at once
            largest = max(largest, len(series.x) - len(xs))
    current, peak = tracemalloc.get_traced_memory()
    kept = store.points
    times.sort()
    moves = getattr(series.x, "moves", "n/a")
    print(f"append + trim of {args.batch:,} points at {kept:,} kept ({args.batches} batches): "
          f"p50 {statistics.median(times):.3f} ms, p99 {times[int(len(times) * 0.99)]:.2f} ms, "
          f"max {times[-1]:.1f} ms; x column moves {moves}, most x values copied by one append {largest:,}")
    print(f"memory: {current / kept:.1f} bytes a point now, {peak / kept:.1f} at the peak")


if __name__ == "__main__":
    main()
