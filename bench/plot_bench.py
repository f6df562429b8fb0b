"""Live-plot renderer benchmark in real headless Chromium: nbws's own canvas
chart (js/chart.js, M4 decimation) against uPlot (vendored in bench/vendor/uplot).

    python bench/plot_bench.py [--quick] [--renderers nbws,uplot] [--series 1,10,50]

For each renderer and 1, 10 and 50 series it reports:

* streaming: the time to draw one frame (p50 / p95, ms) while a thread pushes
  1,000 steps a second (every series at each step) at the plot's default
  ``fps`` (30), for a few seconds;
* 1 M in view: the time to draw one frame with 1,000,000 points in view (all
  series together), redrawn 30 times;
* push → pixel: for every point, the time from ``plot.push`` (its x is the
  push's ``time.time()``) to the end of the first frame that drew it, p50 /
  p95, while the pushing thread is busy (a busy loop pushing 2,000 steps a
  second, as bench/live_bench.py does).

Both renderers get the same frames over the same WebSocket from an nbws
server in this process (the page decodes them with chart.js's decodePoints);
uPlot is fed aligned columns (every series shares x here, which suits it).
Everything runs on 127.0.0.1; Chromium is the system's (``chromium``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import pathlib
import shutil
import sys
import threading
import time
from typing import Any

import nbws

VENDOR = pathlib.Path(__file__).resolve().parent / "vendor" / "uplot"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-dev-shm-usage"]

UPLOT_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>uPlot bench</title>
<link rel="stylesheet" href="/vendor/uPlot.min.css">
<style>html,body{margin:0;font:13px system-ui}</style></head>
<body><div id="plot"></div>
<script src="/vendor/uPlot.iife.min.js"></script>
<script type="module">
import { connect } from "/_nbws/nbws.js";
import { decodePoints, Column } from "/_nbws/chart.js";
const path = new URLSearchParams(location.search).get("path");
const cols = [];
let u = null, pending = false;
window.bench = { draws: [], drawStart: 0, onDraw: null };
function make(n) {
  const series = [{}];
  for (let i = 0; i < n; i++) series.push({ label: "s" + i, stroke: "hsl(" + (i * 47) % 360 + ",70%,45%)", width: 1.5 });
  u = new uPlot({ width: 1200, height: 460, series, scales: { x: { time: false } },
    hooks: { draw: [() => { const t = performance.now(); window.bench.draws.push(t - window.bench.drawStart);
                            if (window.bench.onDraw) window.bench.onDraw(); }] } },
    [new Float64Array(0), ...series.slice(1).map(() => new Float64Array(0))], document.getElementById("plot"));
}
function data() { return [cols[0].x.values(), ...cols.map((c) => c.y.values())]; }
window.bench.xs0 = () => cols[0].x.values();
window.bench.redraw = () => { window.bench.drawStart = performance.now(); u.setData(data()); };
window.chart = { count: () => cols.reduce((n, c) => n + c.x.length, 0),
                 data: (s) => ({ x: Array.from(cols[s].x.values()) }) };
const conn = connect({ path });
window.chart.conn = conn;
conn.topic("meta", (meta) => { while (cols.length < meta.series.length) cols.push({ x: new Column(), y: new Column() });
                               make(meta.series.length); });
conn.on("binary", (buf) => {
  for (const c of decodePoints(buf)) { cols[c.series].x.append(c.xs); cols[c.series].y.append(c.ys); }
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; window.bench.redraw(); });
});
</script></body></html>
"""

# Hooks the nbws chart's draw() to time each frame and report what it drew.
NBWS_HOOK = """() => {
  const chart = window.chart;
  window.bench = { draws: [], onDraw: null };
  const draw = chart.draw.bind(chart);
  chart.draw = () => { const t = performance.now(); draw(); window.bench.draws.push(performance.now() - t);
                       if (window.bench.onDraw) window.bench.onDraw(); };
  window.bench.redraw = () => chart.draw();
  window.bench.xs0 = () => chart.columns[0].x.values();
}"""

def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def push_steps(plot: nbws.LivePlot, names: list[str], rate: float, seconds: float, busy: bool,
               stop: threading.Event) -> int:
    """Push ``rate`` steps a second (x = time.time()) for ``seconds``; with
    ``busy`` the thread spins between pushes instead of sleeping."""
    step = 0
    start = time.perf_counter()
    while not stop.is_set() and time.perf_counter() - start < seconds:
        plot.push(time.time(), **{n: float(step % 100 + i) for i, n in enumerate(names)})
        step += 1
        until = start + step / rate
        if busy:
            while time.perf_counter() < until:
                pass
        else:
            delay = until - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
    return step


async def open_page(browser: Any, server: nbws.Server, plot: nbws.LivePlot, renderer: str) -> Any:
    page = await browser.new_page(viewport={"width": 1200, "height": 500})
    if renderer == "nbws":
        await page.goto(plot.url)
    else:
        await page.goto(server.url + f"uplot/?path=live/{plot.name}/ws")
    await page.wait_for_function("window.chart && window.chart.conn.status === 'open'", timeout=20000)
    if renderer == "nbws":
        await page.evaluate(NBWS_HOOK)
    return page


async def wait_subscribed(plot: nbws.LivePlot, count: int = 1, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while len(plot.pages) < count:
        if time.monotonic() > deadline:
            raise TimeoutError("the page did not subscribe")
        await asyncio.sleep(0.02)


async def case(browser: Any, server: nbws.Server, renderer: str, n: int, seconds: float) -> dict[str, float]:
    names = [f"s{i}" for i in range(n)]
    row: dict[str, float] = {}
    stop = threading.Event()

    # 1. streaming at the default fps, 1,000 steps a second
    plot = nbws.LivePlot(f"{renderer}-stream-{n}", series=names, server=server, max_points=4_000_000)
    page = await open_page(browser, server, plot, renderer)
    await wait_subscribed(plot)
    await asyncio.to_thread(push_steps, plot, names, 1000.0, seconds, False, stop)
    draws = await page.evaluate("window.bench.draws")
    row["stream_p50_ms"], row["stream_p95_ms"] = pct(draws, 0.5), pct(draws, 0.95)
    row["stream_frames_per_s"] = len(draws) / seconds
    await page.close()
    plot.close()

    # 2. 1,000,000 points in view (all series together), redrawn 30 times
    plot = nbws.LivePlot(f"{renderer}-million-{n}", series=names, server=server, max_points=4_000_000,
                         client_buffer=64 << 20)
    page = await open_page(browser, server, plot, renderer)
    await wait_subscribed(plot)
    per = 1_000_000 // n
    xs = [float(i) for i in range(per)]
    for i, name in enumerate(names):
        ys = [((k * 7919 + i * 31) % 1000) / 10 + (500 if k == per // 2 else 0) for k in range(per)]
        plot.push_many(xs, ys, series=name)
    plot.flush(30)
    await page.wait_for_function(f"window.chart.count() === {per * n}", timeout=120000)
    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    times = await page.evaluate("""async () => {
      const out = [];
      for (let k = 0; k < 30; k++) {
        const drawn = new Promise((r) => { window.bench.onDraw = r; });
        const t = performance.now();
        window.bench.redraw();
        await drawn;
        out.push(performance.now() - t);
        await new Promise((r) => setTimeout(r, 0));
      }
      window.bench.onDraw = null;
      return out;
    }""")
    row["million_p50_ms"], row["million_p95_ms"] = pct(times, 0.5), pct(times, 0.95)
    await page.close()
    plot.close()

    # 3. push -> pixel while the pushing thread is busy
    plot = nbws.LivePlot(f"{renderer}-latency-{n}", series=names, server=server, max_points=4_000_000)
    page = await open_page(browser, server, plot, renderer)
    await wait_subscribed(plot)
    await page.evaluate("""() => {
      const b = window.bench; b.delays = []; b.seen = 0;
      b.onDraw = () => {
        const now = (performance.timeOrigin + performance.now()) / 1000;
        const xs = b.xs0();
        for (let i = b.seen; i < xs.length; i++) b.delays.push((now - xs[i]) * 1000);
        b.seen = xs.length;
      };
    }""")
    await asyncio.to_thread(push_steps, plot, names, 2000.0 / max(1, n // 10 + 1), seconds, True, stop)
    await page.evaluate("new Promise(r => setTimeout(r, 300))")
    delays = await page.evaluate("window.bench.delays")
    row["latency_p50_ms"], row["latency_p95_ms"] = pct(delays, 0.5), pct(delays, 0.95)
    row["latency_points"] = len(delays)
    await page.close()
    plot.close()
    return row


async def main_async(renderers: list[str], counts: list[int], seconds: float) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    app = nbws.App()
    app.static("/vendor/", str(VENDOR))

    @app.route("/uplot/")
    def uplot_page(req: nbws.Request) -> nbws.Response:
        return nbws.Response(200, UPLOT_PAGE, content_type="text/html; charset=utf-8")

    server = nbws.start_server(app=app, send_buffer_size=256 << 20, max_total_send_buffer=512 << 20)
    report: dict[str, Any] = {}
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            try:
                for n in counts:
                    for renderer in renderers:
                        report[f"{renderer}, {n} series"] = await case(browser, server, renderer, n, seconds)
                        print(renderer, n, json.dumps(report[f"{renderer}, {n} series"]), file=sys.stderr)
            finally:
                await browser.close()
    finally:
        server.stop()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 s phases instead of 5 s")
    parser.add_argument("--renderers", default="nbws,uplot")
    parser.add_argument("--series", default="1,10,50")
    args = parser.parse_args()
    renderers = args.renderers.split(",")
    counts = [int(c) for c in args.series.split(",")]
    report = asyncio.run(main_async(renderers, counts, 2.0 if args.quick else 5.0))
    print(json.dumps(report, indent=2))
    print()
    print("| series | renderer | frame while streaming p50 / p95 | frame, 1 M in view p50 / p95 "
          "| push → pixel, pusher busy, p50 / p95 |")
    print("|---|---|---|---|---|")
    for n in counts:
        for r in renderers:
            row = report[f"{r}, {n} series"]
            print(f"| {n} | {r} | {row['stream_p50_ms']:.1f} / {row['stream_p95_ms']:.1f} ms "
                  f"| {row['million_p50_ms']:.1f} / {row['million_p95_ms']:.1f} ms "
                  f"| {row['latency_p50_ms']:.0f} / {row['latency_p95_ms']:.0f} ms |")


if __name__ == "__main__":
    sys.exit(main())
