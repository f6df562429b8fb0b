"""The page side of full-resolution zoom (issue 18), in real headless Chromium:

    python bench/zoom_bench.py [--quick]

* page memory: a page watches a plot while a thread pushes 10,000,000 points
  into it (as fast as the page takes them); after each million the page's JS
  heap (CDP ``HeapProfiler.collectGarbage``, then ``Runtime.getHeapUsage``:
  the V8 heap plus the typed arrays' backing stores when Chromium reports
  them) and the points the page holds (bounded by the chart's ``maxPoints``,
  compacted by M4 past it);
* zoom → pixels: on a plot of 10,000,000 points, while a thread keeps pushing
  2,000 points a second in a busy loop (as a training cell does), the chart is
  zoomed to random windows (``setZoom``, where every gesture ends); the time
  from the view query leaving the page to the end of the frame that draws the
  server's answer (p50 / p95), and from the zoom itself, which adds the
  page's ~100 ms debounce.

Everything runs on 127.0.0.1 in this process (the server's I/O thread and the
pushing thread share the GIL, as in a kernel); Chromium is the system's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import threading
import time
from typing import Any

import nbws

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-dev-shm-usage"]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def heap(cdp: Any) -> float:
    """The page's JS memory in MB after a full garbage collection."""
    await cdp.send("HeapProfiler.collectGarbage")
    usage = await cdp.send("Runtime.getHeapUsage")
    return (usage["usedSize"] + usage.get("backingStorageSize", 0)) / 1e6


async def memory(browser: Any, server: nbws.Server, total: int, step: int) -> list[dict[str, float]]:
    import numpy

    plot = nbws.LivePlot("memory", series=["y"], server=server, max_points=total, fps=30)
    page = await browser.new_page(viewport={"width": 1200, "height": 500})
    await page.goto(plot.url)
    await page.wait_for_function("window.chart && window.chart.conn.status === 'open'", timeout=20000)
    cdp = await page.context.new_cdp_session(page)
    rows = []
    chunk = 100_000
    for start in range(0, total, chunk):
        xs = numpy.arange(start, start + chunk, dtype=float)
        plot.push_many(xs, numpy.sin(xs / 5000) + (xs % 9973 == 0))
        await asyncio.to_thread(plot.flush, 60)
        # the page takes what it is sent before more comes: no batch is skipped, so it sees every point
        last = start + chunk - 1
        await page.wait_for_function(f"(() => {{ const c = window.chart.columns[0]; "
                                     f"return c && c.x.length && c.x.data[c.x.length - 1] === {last}; }})()",
                                     timeout=60000)
        if (start + chunk) % step == 0:
            rows.append({"pushed": start + chunk, "held": await page.evaluate("window.chart.count()"),
                         "heap_mb": await heap(cdp)})
            print(json.dumps(rows[-1]), file=sys.stderr)
    await page.close()
    plot.close()
    return rows


def push_busy(plot: nbws.LivePlot, first: int, rate: float, stop: threading.Event) -> int:
    """Push ``rate`` points a second from x = ``first`` on, spinning between pushes, until ``stop``."""
    step = 0
    start = time.perf_counter()
    while not stop.is_set() and time.perf_counter() - start < 600:
        plot.push(first + step, y=float(step % 100))
        step += 1
        until = start + step / rate
        while time.perf_counter() < until:
            pass
    return step


async def zooms(browser: Any, server: nbws.Server, total: int, count: int) -> dict[str, float]:
    import numpy

    plot = nbws.LivePlot("zoom", series=["y"], server=server, max_points=total + 2_000_000)
    xs = numpy.arange(total, dtype=float)
    plot.push_many(xs, numpy.sin(xs / 5000))
    assert plot.flush(120)
    page = await browser.new_page(viewport={"width": 1200, "height": 500})
    await page.goto(plot.url)
    await page.wait_for_function("window.chart && window.chart.answered >= 1 && !window.chart.queries.busy",
                                 timeout=60000)
    stop = threading.Event()
    pusher = threading.Thread(target=push_busy, args=(plot, total, 2000.0, stop), daemon=True)
    pusher.start()
    rng = random.Random(7)
    query, gesture = [], []
    try:
        for _ in range(count):
            span = 10 ** rng.uniform(3, 6.9)
            x0 = rng.uniform(0, total - span)
            took = await page.evaluate("""([x0, x1]) => new Promise((resolve) => {
                const c = window.chart, done = c.answered, t = performance.now();
                c.setZoom({ x0, x1, y0: null, y1: null });
                const check = () => {
                    if (c.answered > done && !c.queries.busy && Number.isFinite(c.answerLatency) && c.answerSentAt === null)
                        resolve([c.answerLatency, performance.now() - t]);
                    else requestAnimationFrame(check);
                };
                requestAnimationFrame(check);
            })""", [x0, x0 + span])
            query.append(took[0])
            gesture.append(took[1])
    finally:
        stop.set()
        pusher.join(10)
    await page.close()
    plot.close()
    return {"query_p50_ms": pct(query, 0.5), "query_p95_ms": pct(query, 0.95),
            "zoom_p50_ms": pct(gesture, 0.5), "zoom_p95_ms": pct(gesture, 0.95), "zooms": len(query)}


async def main_async(quick: bool) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    server = nbws.start_server(app=nbws.App(), send_buffer_size=256 << 20, max_total_send_buffer=512 << 20)
    report: dict[str, Any] = {}
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            try:
                total = 2_000_000 if quick else 10_000_000
                report["memory"] = await memory(browser, server, total, 1_000_000)
                report["zoom"] = await zooms(browser, server, total, 10 if quick else 40)
                print(json.dumps(report["zoom"]), file=sys.stderr)
            finally:
                await browser.close()
    finally:
        server.stop()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 M points and 10 zooms instead of 10 M and 40")
    args = parser.parse_args()
    report = asyncio.run(main_async(args.quick))
    print(json.dumps(report, indent=2))
    print()
    print("| points pushed | points the page holds | page JS heap |")
    print("|---|---|---|")
    for row in report["memory"]:
        print(f"| {row['pushed']:,} | {row['held']:,} | {row['heap_mb']:.1f} MB |")
    z = report["zoom"]
    print()
    print(f"zoom, view query → new pixels, while a thread pushes: p50 {z['query_p50_ms']:.0f} ms, "
          f"p95 {z['query_p95_ms']:.0f} ms; from the zoom (with the 100 ms debounce): "
          f"p50 {z['zoom_p50_ms']:.0f} ms, p95 {z['zoom_p95_ms']:.0f} ms ({z['zooms']} zooms)")


if __name__ == "__main__":
    sys.exit(main())
