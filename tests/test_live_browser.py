"""A live plot end to end: a real kernel pushes while a real Chromium page
draws, during the cell and after it."""

from __future__ import annotations

import asyncio
import time

from tests.browser import chromium
from tests.kernel import kernel

PUSHING_CELL = """
for i in range(20000):
    plot.push(i, y=math.sin(i / 500))
    if i % 200 == 199:
        time.sleep(0.1)
print("done pushing")
"""


def test_chart_fills_while_the_cell_runs_and_holds_every_point() -> None:
    with kernel() as k:
        url = k.run("import math, time, nbws\nplot = nbws.LivePlot('e2e', series=['y'])\nprint(plot.url)").strip()

        async def main() -> None:
            async with chromium() as browser:
                page = await browser.new_page(viewport={"width": 900, "height": 400})
                await page.goto(url)
                await page.wait_for_function("window.chart && window.chart.conn.status === 'open'", timeout=20000)
                msg_id = await asyncio.to_thread(k.start, PUSHING_CELL)
                started = time.monotonic()
                await page.wait_for_function("window.chart.count() >= 2000", timeout=8000)
                during = await page.evaluate("window.chart.count()")
                first_xs = await page.evaluate("window.chart.data(0).x.slice(0, 5)")
                elapsed = time.monotonic() - started
                assert elapsed < 8 and 2000 <= during < 20000, (elapsed, during)  # mid-run, the cell still pushing
                assert first_xs == [0, 1, 2, 3, 4]
                out, reply = await asyncio.to_thread(k.finish, msg_id, 60)
                assert reply["status"] == "ok" and "done pushing" in out
                await page.wait_for_function("window.chart.count() === 20000", timeout=10000)
                xs = await page.evaluate("window.chart.data(0).x")
                assert xs == list(range(20000))  # all of them, in order
                inked = await page.evaluate("""() => {
                    const c = document.querySelector('canvas');
                    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                    let n = 0;
                    for (let i = 0; i < d.length; i += 4) if (d[i] < 200 || d[i + 1] < 200 || d[i + 2] < 200) n++;
                    return n;
                }""")
                assert inked > 2000  # the chart is drawn, not blank
                png = await page.screenshot()
                assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000

        asyncio.run(asyncio.wait_for(main(), 90))


def test_figure_stream_page_shows_the_newest_png() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import nbws
    from tests.conftest import run

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        fig, ax = plt.subplots(figsize=(4, 3))
        stream = nbws.FigureStream(fig, name="fig-page", server=server)
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(stream.url)
            await page.wait_for_function("window.conn && window.conn.status === 'open'", timeout=10000)
            for k in range(1, 4):
                ax.plot(range(10), [i ** k for i in range(10)])
                stream.update()
            await page.wait_for_function("document.getElementById('figure').naturalWidth > 0", timeout=10000)
            assert await page.evaluate("document.getElementById('figure').naturalWidth") == 400
            assert 1 <= await page.evaluate("window.frames_seen") <= 3
        plt.close(fig)

    run(main, timeout=60)


BLUE, ORANGE = (31, 119, 180), (255, 127, 14)  # the first two series' colours
PAINTED_COLUMNS = """([r, g, b]) => {
    const c = document.querySelector('canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const cols = new Set();
    for (let i = 0; i < d.length; i += 4) {
        if (Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40 && Math.abs(d[i + 2] - b) < 40) cols.add((i / 4) % c.width);
    }
    return {columns: cols.size, width: c.width, dpr: devicePixelRatio};
}"""


def test_window_is_one_x_range_for_all_series_so_a_rare_series_cannot_squash_a_frequent_one() -> None:
    import nbws
    from tests.conftest import run

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("windowed", series=["fast", "slow"], server=server, window=100)
        for step in range(2000):
            plot.push(step, fast=step % 50)
            if step % 10 == 0:
                plot.push(step, slow=25 + (step % 100) / 4)
        assert plot.flush(10)
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 900, "height": 400})
            await page.goto(plot.url)
            await page.wait_for_function("window.chart && window.chart.count() === 2200", timeout=20000)
            await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")  # drawn
            plot_width = 900 - 56 - 12  # the canvas (CSS px) minus the chart's left and right padding
            fast = await page.evaluate(PAINTED_COLUMNS, list(BLUE))
            slow = await page.evaluate(PAINTED_COLUMNS, list(ORANGE))
            # the last 100 points of "fast" (x 1900-1999) set the range for both series: "slow"
            # (200 points since x 0) is cut to it instead of squashing "fast" into the last 5 %
            assert fast["columns"] > 0.9 * plot_width * fast["dpr"], fast
            assert slow["columns"] > 0.8 * plot_width * slow["dpr"], slow
            view = await page.evaluate("window.chart.view")
            assert (view["x0"], view["x1"]) == (1900, 1999), view
            assert await page.evaluate("document.querySelector('.win').value") == "100"
            await page.screenshot(path="/tmp/nbws-liveplot-window.png")

    run(main, timeout=90)
