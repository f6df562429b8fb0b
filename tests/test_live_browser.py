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
