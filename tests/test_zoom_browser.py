"""Zooming a live plot at full resolution (issue 18, the page side), in real
Chromium against plots living in a real kernel (one browser and one kernel
for the module): the page asks the server for the view it shows, swaps the
answer in, and draws, smooths and exports what the full-resolution series
holds, not its own decimated copy, while the cell that pushes still runs."""

from __future__ import annotations

import asyncio
import base64
import pathlib
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, Page

from tests.browser import chromium
from tests.kernel import Kernel, kernel

numpy = pytest.importorskip("numpy")

T = TypeVar("T")
BLUE = (31, 119, 180)
SHOTS = pathlib.Path("/tmp/nbws-chart-shots")
N = 10_000_000
SPIKES = [1_234_567, 4_000_000, 6_500_001, 9_876_543]
WEIGHT = 0.99

BIG = f"""
import math, os, time
import numpy as np
import nbws
N, SPIKES = {N}, {SPIKES!r}
xs = np.arange(N, dtype=float)
ys = 0.5 + 0.3 * np.sin(xs / 700) + 0.05 * np.random.RandomState(0).standard_normal(N)
ys[SPIKES] = 3.0
big = nbws.LivePlot("big", series=["y"], max_points=N)
for i in range(0, N, 500_000):
    big.push_many(xs[i:i + 500_000], ys[i:i + 500_000])
    assert big.flush(60)
del xs, ys
print(big.url)
"""


def series() -> tuple[Any, Any]:
    """The big plot's points, computed here exactly as in the kernel."""
    xs = numpy.arange(N, dtype=float)
    ys = 0.5 + 0.3 * numpy.sin(xs / 700) + 0.05 * numpy.random.RandomState(0).standard_normal(N)
    ys[SPIKES] = 3.0
    return xs, ys


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[asyncio.AbstractEventLoop, Browser, Kernel, str]]:
    """One Chromium and one kernel for the module; the kernel holds a plot of
    10 M points with one-point spikes at SPIKES (its URL is the fourth item)."""
    loop = asyncio.new_event_loop()
    manager: AbstractAsyncContextManager[Browser] = chromium()
    with kernel() as k:
        url = k.run(BIG, timeout=300).strip().splitlines()[-1]
        browser = loop.run_until_complete(asyncio.wait_for(manager.__aenter__(), 60))
        try:
            yield loop, browser, k, url
        finally:
            loop.run_until_complete(asyncio.wait_for(manager.__aexit__(None, None, None), 60))
            loop.close()


def drive(env: tuple[asyncio.AbstractEventLoop, Browser, Kernel, str],
          main: Callable[[Browser, Kernel, str], Awaitable[T]], timeout: float = 120) -> T:
    loop, browser, k, url = env
    return loop.run_until_complete(asyncio.wait_for(main(browser, k, url), timeout))


async def drawn(page: Page) -> None:
    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def open_big(browser: Browser, url: str) -> Page:
    """The big plot's page, once the overview (the query it sends after the history) is answered."""
    page = await browser.new_page(viewport={"width": 900, "height": 400})
    await page.goto(url)
    await page.wait_for_function("window.chart && window.chart.answered >= 1 && !window.chart.queries.busy",
                                 timeout=60000)
    await drawn(page)
    return page


async def zoom_to(page: Page, x0: float, x1: float) -> None:
    """Zoom as every gesture ends (setZoom), then wait for the server's answer to be drawn."""
    answered = await page.evaluate("window.chart.answered")
    await page.evaluate(f"window.chart.setZoom({{x0: {x0!r}, x1: {x1!r}, y0: null, y1: null}})")
    await page.wait_for_function(f"window.chart.answered > {answered} && !window.chart.queries.busy "
                                 "&& window.chart.answer.zoomed", timeout=30000)
    await drawn(page)


async def area(page: Page) -> dict[str, float]:
    return dict(await page.evaluate("""() => {
        const b = window.chart.box, r = window.chart.canvas.getBoundingClientRect();
        return {l: b.l, r: b.w - b.r, t: b.t, b: b.h - b.b, left: r.left, top: r.top};
    }"""))


async def rgba(page: Page, chart: str = "window.chart") -> Any:
    """The chart's canvas as an (h, w, 4) uint8 array."""
    size, data = await page.evaluate(f"""() => {{
        const c = {chart}.canvas, d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let s = '';
        for (let i = 0; i < d.length; i += 32768) s += String.fromCharCode.apply(null, d.subarray(i, i + 32768));
        return [[c.height, c.width], btoa(s)];
    }}""")
    return numpy.frombuffer(base64.b64decode(data), dtype=numpy.uint8).reshape(size[0], size[1], 4)


def blue(image: Any, left: float, right: float, top: float, bottom: float) -> int:
    part = image[int(top):int(bottom), max(0, int(left)):int(right), :3].astype(int)
    return int((numpy.abs(part - numpy.array(BLUE)).max(axis=2) < 40).sum())


def test_zooming_into_a_thousand_points_of_ten_million_draws_exactly_those_points(env: Any) -> None:
    async def main(browser: Browser, k: Kernel, url: str) -> None:
        xs, ys = series()
        page = await open_big(browser, url)
        assert await page.evaluate("window.chart.count()") <= 200_001  # the page holds the decimated history
        first = SPIKES[1] - 500  # a window of 1,000 points with a spike in it
        x0, x1 = float(first), float(first + 999)
        await page.evaluate(f"window.chart.setZoom({{x0: {x0}, x1: {x1}, y0: null, y1: null}})")
        await drawn(page)
        a = await area(page)
        assert blue(await rgba(page), a["l"], a["r"], a["t"], a["b"]) > 0  # the coarse data, until the answer comes
        await page.wait_for_function("window.chart.answered >= 2 && !window.chart.queries.busy", timeout=30000)
        await drawn(page)
        assert await page.evaluate("window.chart.answer.series.get(0).points") == 1000
        assert await page.evaluate("window.chart.badge.hidden") is True  # every point is shown
        zoomed = await rgba(page)
        await page.screenshot(path=str(SHOTS / "zoom-1000.png"))

        # the same 1,000 points given directly to a chart of the same size on a page of the same layout
        ref = await browser.new_page(viewport={"width": 900, "height": 400})
        await ref.goto(url)
        await ref.wait_for_function("window.chart && window.chart.count() > 0", timeout=60000)
        window = slice(first, first + 1000)
        await ref.evaluate("""async ([xs, ys]) => {
            window.chart.conn.close();
            document.body.innerHTML = '<div id="plot"></div>';
            const { LiveChart } = await import(new URL("../../_nbws/chart.js", location.href).href);
            const c = new LiveChart(document.getElementById("plot"), { series: ["y"] });
            c.setMeta({ series: ["y"], title: "big" });
            c.addPoints(0, new Float64Array(xs), new Float64Array(ys));
            window.chart = c;
        }""", [xs[window].tolist(), ys[window].tolist()])
        await drawn(ref)
        assert await ref.evaluate("[window.chart.view.x0, window.chart.view.x1]") == [x0, x1]
        direct = await rgba(ref)
        assert zoomed.shape == direct.shape
        # Pixel-equal but for two things. Where the zoomed chart's line comes in from the point just outside
        # each edge (clipped at the plot's frame; its 1.5 px stroke reaches about 1 px in), which the direct
        # chart does not have: any difference within 2 px of the left and right edges. Elsewhere Skia's
        # anti-aliasing coverage, which depends on the whole path (two more vertices here), may round a pixel
        # differently: at most 4 levels of 255 per channel (a missing or moved point changes a pixel by
        # 100 or more, as at the edges).
        delta = numpy.abs(zoomed.astype(int) - direct.astype(int)).max(axis=2)
        columns = numpy.arange(delta.shape[1])
        inner = (numpy.abs(columns - a["l"]) > 2) & (numpy.abs(columns - a["r"]) > 2)
        assert int(delta[:, inner].max()) <= 4, numpy.argwhere(delta * inner > 4)[:5].tolist()
        assert int((delta[:, inner] > 0).sum()) < 100
        assert blue(zoomed, a["l"] + 3, a["r"] - 3, a["t"], a["b"]) > 1000  # and both draw the line
        await ref.close()
        await page.close()

    drive(env, main)


def test_zooming_out_again_draws_every_spike_and_the_badge_says_how_many_points_a_pixel_holds(env: Any) -> None:
    async def main(browser: Browser, k: Kernel, url: str) -> None:
        page = await open_big(browser, url)
        await zoom_to(page, float(SPIKES[1] - 500), float(SPIKES[1] + 499))
        await zoom_to(page, 0.0, float(N - 1))  # zoomed out again: the server's M4 of all 10 M points
        a = await area(page)
        width = a["r"] - a["l"]
        assert await page.evaluate("window.chart.answer.series.get(0).points") == N
        assert await page.evaluate("window.chart.badge.hidden") is False
        assert await page.inner_text(".ratio") == f"1 px ≈ {float(f'{N / width:.2g}'):,.0f} points"

        def check(image: Any) -> None:
            top = (a["t"], a["t"] + 0.2 * (a["b"] - a["t"]))  # y 3.0 is the top of the plot; the rest is below 1.1
            columns = [a["l"] + s / (N - 1) * width for s in SPIKES]
            for c in columns:
                assert blue(image, c - 2, c + 3, *top) > 0, (c, columns)
            bounds = [a["l"] + 2, *[x for c in columns for x in (c - 4, c + 4)], a["r"] - 2]
            for lo, hi in zip(bounds[::2], bounds[1::2], strict=True):
                assert blue(image, lo, hi, *top) == 0, (lo, hi)

        check(await rgba(page))
        await page.screenshot(path=str(SHOTS / "zoom-out-spikes.png"))
        await page.mouse.dblclick(a["left"] + (a["l"] + a["r"]) / 2, a["top"] + (a["t"] + a["b"]) / 2)  # follow again
        await page.wait_for_function("window.chart.following && window.chart.answered >= 4 && "
                                     "!window.chart.queries.busy", timeout=30000)
        await page.mouse.move(a["left"] + 2, a["top"] - 10)  # off the canvas: no crosshair
        await drawn(page)
        check(await rgba(page))  # the page's own (decimated) copy keeps every spike too
        assert await page.inner_text(".ratio") == f"1 px ≈ {float(f'{N / width:.2g}'):,.0f} points"
        await page.evaluate("window.chart.setTheme('dark')")  # the badge takes the theme's colours
        await drawn(page)
        assert await page.evaluate("getComputedStyle(window.chart.badge).backgroundColor") == "rgba(30, 30, 30, 0.92)"
        await page.screenshot(path=str(SHOTS / "zoom-dark.png"))
        await page.close()

    drive(env, main)


def test_smoothing_is_the_same_at_every_zoom_level(env: Any) -> None:
    async def main(browser: Browser, k: Kernel, url: str) -> None:
        _, ys = series()
        page = await open_big(browser, url)
        # the smoothed line the chart draws, as (x, y) pairs inside the view
        drawn_smooth = """() => {
            const c = window.chart, v = c.view, out = [];
            for (const p of c.parts(0, v.x0, v.x1, 1e9).smooth)
                for (let i = p.i0; i < p.i1; i++) if (p.xs[i] >= v.x0 && p.xs[i] <= v.x1) out.push([p.xs[i], p.ys[i]]);
            return out;
        }"""
        await page.evaluate(f"window.chart.setSmoothing({WEIGHT})")  # following, on a decimated copy: asks the server
        await page.wait_for_function(f"window.chart.answer && window.chart.answer.weight === {WEIGHT} "
                                     "&& !window.chart.queries.busy", timeout=60000)
        await drawn(page)
        overview = dict(map(tuple, await page.evaluate(drawn_smooth)))
        # a window of 3,000 points (every one shown) around a point the overview draws, and one of 300,000
        centre = min((x for x in overview if x > 1e6), key=lambda x: abs(x - 3e6))
        levels = {"overview": overview}
        for name, half in (("300k", 150_000), ("3k", 1500)):
            await zoom_to(page, centre - half, centre + half)
            assert await page.evaluate("window.chart.answer.weight") == WEIGHT
            levels[name] = dict(map(tuple, await page.evaluate(drawn_smooth)))
        assert len(levels["3k"]) == 3001  # every point of the window, smoothed
        for name, values in levels.items():
            assert values[centre] == overview[centre], name  # the same value at the same x, at every level
        # and it is TensorBoard's EMA over the whole full-resolution series (w**6000 < 1e-26: a window suffices)
        span = 6000
        powers = WEIGHT ** numpy.arange(span)[::-1]

        def reference(i: int) -> float:
            return float((1 - WEIGHT) * numpy.dot(powers, ys[i - span + 1:i + 1]))

        for name, values in levels.items():
            sample = sorted(values)[:: max(1, len(values) // 40)]
            for x in sample:
                if x >= span:
                    assert abs(values[x] - reference(int(x))) < 1e-9, (name, x, values[x], reference(int(x)))
        shared = [x for x in sorted(levels["3k"]) if x in levels["300k"]]
        assert shared and all(levels["3k"][x] == levels["300k"][x] for x in shared)
        # ... which the page's own EMA over its decimated copy is not
        own = await page.evaluate("""(xs) => { const c = window.chart, s = c.smoothedValues(0), x = c.columns[0].x.values();
            return xs.map((v) => { let i = 0, lo = 0, hi = x.length; while (lo < hi) { const m = (lo + hi) >> 1;
              if (x[m] < v) lo = m + 1; else hi = m; } i = Math.min(lo, x.length - 1); return s[i]; }); }""", shared)
        assert max(abs(o - levels["3k"][x]) for o, x in zip(own, shared, strict=True)) > 0.01
        await page.screenshot(path=str(SHOTS / "zoom-smoothed.png"))
        await page.close()

    drive(env, main)


PUSHING = """
step = 0
started = time.monotonic()
while not os.path.exists(FLAG) and time.monotonic() - started < 60:
    run.push_many(range(step, step + 200), [math.sin(j / 300) for j in range(step, step + 200)])
    step += 200
    time.sleep(0.01)
print("pushed", step)
"""


def test_zoom_works_while_the_pushing_cell_still_runs(env: Any, tmp_path: pathlib.Path) -> None:
    async def main(browser: Browser, k: Kernel, url: str) -> None:
        flag = tmp_path / "stop"
        run_url = (await asyncio.to_thread(k.run, f"FLAG = {str(flag)!r}\nrun = nbws.LivePlot('running', "
                                           "series=['y'])\nprint(run.url)")).strip()
        page = await browser.new_page(viewport={"width": 900, "height": 400})
        await page.goto(run_url)
        await page.wait_for_function("window.chart && window.chart.conn.status === 'open'", timeout=20000)
        msg_id = await asyncio.to_thread(k.start, PUSHING)
        try:
            await page.wait_for_function("window.chart.count() > 20000", timeout=30000)
            a = await area(page)
            y = a["top"] + (a["t"] + a["b"]) / 2
            answered = await page.evaluate("window.chart.answered")
            await page.mouse.move(a["left"] + a["l"] + 0.2 * (a["r"] - a["l"]), y)  # drag to zoom, as a user does
            await page.mouse.down()
            await page.mouse.move(a["left"] + a["l"] + 0.3 * (a["r"] - a["l"]), y, steps=5)
            await page.mouse.up()
            await page.wait_for_function(f"window.chart.answered > {answered} && !window.chart.queries.busy "
                                         "&& window.chart.answer.zoomed", timeout=10000)
            assert not flag.exists()  # the cell is still pushing
            zoom = await page.evaluate("window.chart.zoom")
            expected = int(numpy.floor(zoom["x1"]) - numpy.ceil(zoom["x0"]) + 1)  # x = 0, 1, 2, ... every point
            assert await page.evaluate("window.chart.answer.series.get(0).points") == expected
            xs = await page.evaluate("Array.from(window.chart.answer.series.get(0).xs)")
            assert xs == list(range(int(numpy.ceil(zoom["x0"])) - 1, int(numpy.floor(zoom["x1"])) + 2))
            count = await page.evaluate("window.chart.count()")
            await page.wait_for_function(f"window.chart.count() > {count}", timeout=10000)  # live points keep coming
            await page.mouse.dblclick(a["left"] + (a["l"] + a["r"]) / 2, y)
            await drawn(page)
            assert await page.evaluate("window.chart.following") is True
            edge = await page.evaluate("window.chart.view.x1")
            await page.wait_for_function(f"window.chart.view.x1 > {edge}", timeout=10000)  # following the live edge
        finally:
            flag.touch()
        out, reply = await asyncio.to_thread(k.finish, msg_id, 60)
        assert reply["status"] == "ok" and "pushed" in out
        await page.close()

    drive(env, main)


def test_the_csv_of_a_zoomed_window_holds_every_point_in_it(env: Any) -> None:
    async def main(browser: Browser, k: Kernel, url: str) -> None:
        xs, ys = series()
        page = await open_big(browser, url)
        x0, x1 = 2_000_000.5, 2_030_000.25  # 30,000 points: far more than the page holds there
        await zoom_to(page, x0, x1)
        await page.click("button.csv")
        async with page.expect_download() as info:
            await page.click("button.csv-view")
        download = await info.value
        assert download.suggested_filename == "big.csv"
        rows = pathlib.Path(await download.path()).read_text().splitlines()
        assert rows[0] == "series,x,y"
        got = [(float(x), float(y)) for _, x, y in (r.split(",") for r in rows[1:])]
        inside = slice(2_000_001, 2_030_001)
        assert got == list(zip(xs[inside].tolist(), ys[inside].tolist(), strict=True))  # every point, exactly
        await page.close()

    drive(env, main)


SHOTS.mkdir(exist_ok=True)
