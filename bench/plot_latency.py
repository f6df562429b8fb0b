"""Where push -> pixel time goes, stage by stage, while the pusher is busy.

    python bench/plot_latency.py [--series 50] [--seconds 5] [--switch-ms 5]

The same case as the push -> pixel phase of ``bench/plot_bench.py`` (a thread
spins and pushes ``2000 / (n // 10 + 1)`` steps a second, every series at each
step, x = ``time.time()``; nbws's chart in headless Chromium), with a
timestamp at each stage of every frame, all on the wall clock:

* ``tick``: the I/O thread's tick starts (``LivePlot._flush``), and how late
  its timer fired;
* ``flushed``: the frame is built and handed to the connection;
* ``written``: the socket write of the frame (the transport's ``write``);
* ``received``: the page's ``addPoints`` of series 0;
* ``drawn``: the end of the first draw after it.

For every point of series 0: push -> tick, tick -> flushed, flushed ->
written, written -> received, received -> drawn, and the total (p50 / p95,
ms); also the page's draw times and its long tasks (over 50 ms), and the
busiest functions of a CPU profile of the page ("(program)" is native work:
layout, paint, rasterising). ``--switch-ms`` gives the server that
``switch_interval`` (milliseconds; default: the server's own, 1 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import shutil
import sys
import time
from typing import Any

import nbws

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-dev-shm-usage"]

PAGE_HOOK = """() => {
  const chart = window.chart;
  const now = () => (performance.timeOrigin + performance.now()) / 1000;
  window.trace = { received: [], drawn: [] };
  const add = chart.addPoints.bind(chart);
  chart.addPoints = (s, xs, ys) => { if (s === 0 && xs.length) window.trace.received.push([xs[0], xs[xs.length - 1], now()]);
                                     add(s, xs, ys); };
  const draw = chart.draw.bind(chart);
  window.trace.draw_ms = []; window.trace.long = [];
  chart.draw = () => { const t = performance.now(); draw(); window.trace.draw_ms.push(performance.now() - t); window.trace.drawn.push(now()); };
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.trace.long.push([e.name, Math.round(e.duration)]); }).observe({ entryTypes: ["longtask"] });
}"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def spin_push(plot: nbws.LivePlot, names: list[str], rate: float, seconds: float) -> int:
    """bench/plot_bench.py's busy pusher."""
    step = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        plot.push(time.time(), **{n: float(step % 100 + i) for i, n in enumerate(names)})
        step += 1
        until = start + step / rate
        while time.perf_counter() < until:
            pass
    return step


def instrument(plot: nbws.LivePlot, frames: list[dict[str, float]]) -> None:
    """Wrap the plot's tick (I/O thread only): when it ran, how late its timer
    fired, and the x (push time) of series 0's first and last point."""
    flush = plot._flush
    loop = plot._endpoint.io.loop

    def traced_flush() -> None:
        start, late = time.time(), loop.time() - plot._next_tick
        xs = [x for i, x, _ in list(plot._pending._items) if i == 0]
        flush()
        if xs:
            frames.append({"first": xs[0], "last": xs[-1], "tick": start, "flushed": time.time(), "late": late})

    plot._flush = traced_flush  # type: ignore[method-assign]


def wrap_writes(plot: nbws.LivePlot, writes: list[float]) -> None:
    for conn in plot._subscribers:
        transport = conn.transport
        write = transport.write

        def traced_write(data: Any, write: Any = write) -> None:
            writes.append(time.time())
            write(data)

        transport.write = traced_write  # type: ignore[method-assign]


async def run(n: int, seconds: float, switch_ms: float | None) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    extra: dict[str, Any] = {} if switch_ms is None else {"switch_interval": switch_ms / 1000}
    server = nbws.start_server(app=nbws.App(), send_buffer_size=256 << 20, max_total_send_buffer=512 << 20, **extra)
    names = [f"s{i}" for i in range(n)]
    frames: list[dict[str, float]] = []
    writes: list[float] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            try:
                plot = nbws.LivePlot(f"trace-{n}", series=names, server=server)
                page = await browser.new_page(viewport={"width": 1200, "height": 500})
                await page.goto(plot.url)
                await page.wait_for_function("window.chart && window.chart.conn.status === 'open'", timeout=20000)
                deadline = time.monotonic() + 20
                while not plot.pages and time.monotonic() < deadline:
                    await asyncio.sleep(0.02)
                await page.evaluate(PAGE_HOOK)

                def hook() -> None:  # I/O thread
                    instrument(plot, frames)
                    wrap_writes(plot, writes)

                plot._endpoint.io.call(hook, 10)
                rate = 2000.0 / max(1, n // 10 + 1)
                cdp = await page.context.new_cdp_session(page)
                await cdp.send("Profiler.enable")
                await cdp.send("Profiler.setSamplingInterval", {"interval": 200})
                await cdp.send("Profiler.start")
                steps = await asyncio.to_thread(spin_push, plot, names, rate, seconds)
                profile = (await cdp.send("Profiler.stop"))["profile"]
                await page.evaluate("new Promise(r => setTimeout(r, 300))")
                trace = await page.evaluate("window.trace")
                plot.close()
            finally:
                await browser.close()
    finally:
        server.stop()
    report = stages(frames, writes, trace, steps / seconds)
    report["page_profile_top_ms"] = busiest(profile)
    return report


def busiest(profile: dict[str, Any], count: int = 6) -> dict[str, float]:
    """Self time (ms) of the busiest functions of a V8 CPU profile."""
    names = {node["id"]: node["callFrame"]["functionName"] or "(anonymous)" for node in profile["nodes"]}
    totals: dict[str, float] = {}
    for sample, delta in zip(profile["samples"], profile["timeDeltas"], strict=False):
        totals[names[sample]] = totals.get(names[sample], 0.0) + delta / 1000
    return {name: round(ms) for name, ms in sorted(totals.items(), key=lambda kv: -kv[1])[:count]}


def stages(frames: list[dict[str, float]], writes: list[float], trace: dict[str, Any],
           rate: float) -> dict[str, Any]:
    """Per point of series 0: the time spent in each stage (ms)."""
    received = {round(first, 6): at for first, _, at in trace["received"]}
    drawn = sorted(trace["drawn"])
    writes = sorted(writes)
    out: dict[str, list[float]] = {k: [] for k in ("push_tick", "tick_flushed", "flushed_written",
                                                   "written_received", "received_drawn", "total")}
    late: list[float] = []
    for f in frames:
        at = received.get(round(f["first"], 6))
        if at is None:
            continue
        i = bisect.bisect_left(writes, f["tick"])  # the first write since the tick began
        w = writes[i] if i < len(writes) else f["flushed"]
        k = bisect.bisect_left(drawn, at)
        if k >= len(drawn):
            continue
        d = drawn[k]
        late.append(1000 * f["late"])
        # the pusher is steady: 8 points spread evenly over [first, last] stand for the frame's points
        count = 8
        for j in range(count):
            x = f["first"] + (f["last"] - f["first"]) * j / max(1, count - 1)
            out["push_tick"].append(1000 * (f["tick"] - x))
            out["tick_flushed"].append(1000 * (f["flushed"] - f["tick"]))
            out["flushed_written"].append(1000 * (w - f["flushed"]))
            out["written_received"].append(1000 * (at - w))
            out["received_drawn"].append(1000 * (d - at))
            out["total"].append(1000 * (d - x))
    report: dict[str, Any] = {k: f"{pct(v, 0.5):.1f} / {pct(v, 0.95):.1f}" for k, v in out.items()}
    report["tick_timer_late"] = f"{pct(late, 0.5):.1f} / {pct(late, 0.95):.1f}"
    report["frames"] = len(frames)
    report["draws"] = len(drawn)
    report["draw_ms p50 / p95 / max"] = (f"{pct(trace['draw_ms'], 0.5):.1f} / {pct(trace['draw_ms'], 0.95):.1f} / "
                                         f"{max(trace['draw_ms'], default=0):.1f}")
    report["long_tasks_ms"] = [duration for _, duration in trace["long"]]
    report["steps_per_s"] = round(rate)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--switch-ms", type=float, default=None)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.series, args.seconds, args.switch_ms)), indent=1))


if __name__ == "__main__":
    sys.exit(main())
