"""What the page asks the server for when it zooms (issue 18, review r18):
on a log x axis, on a HiDPI screen, and when an overlay comes while zoomed.
Real Chromium (one for the module) against plots of an in-process server
whose handler loop is the test's event loop."""

from __future__ import annotations

from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, Page

import nbws
from tests.browser import drive

numpy = pytest.importorskip("numpy")

T = TypeVar("T")


async def drawn(page: Page) -> None:
    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def joined(page: Page, url: str) -> None:
    """Open the plot's page and wait until its overview query is answered."""
    await page.goto(url)
    await page.wait_for_function("window.chart && window.chart.answered >= 1 && !window.chart.queries.busy",
                                 timeout=30000)


async def zoomed(page: Page, x0: float, x1: float, timeout: float = 30000) -> None:
    """Zoom (axis units) and wait for the server's answer to be drawn."""
    answered = await page.evaluate("window.chart.answered")
    await page.evaluate(f"window.chart.setZoom({{x0: {x0!r}, x1: {x1!r}, y0: null, y1: null}})")
    await page.wait_for_function(f"window.chart.answered > {answered} && !window.chart.queries.busy "
                                 "&& window.chart.answer.zoomed", timeout=timeout)
    await drawn(page)


# the points the chart draws of series 0 with lo <= x < hi (what its M4 keeps, answer and own copy)
DRAWN = """([lo, hi]) => {
    const c = window.chart, v = c.view, columns = c.box.w - c.box.l - c.box.r;
    let k = 0;
    for (const q of c.parts(0, v.x0, v.x1, columns).parts) {
        if (q.keep) { for (const i of q.keep) if (q.xs[i] >= lo && q.xs[i] < hi) k++; }
        else for (let i = q.i0; i < q.i1; i++) if (q.xs[i] >= lo && q.xs[i] < hi) k++;
    }
    return k;
}"""


def test_a_log_x_zoom_keeps_its_left_decades_when_the_answer_comes(env: Any) -> None:
    """x = 1..150,000 on a log axis, zoomed to 10..150,000: the left two
    decades are 40 % of the plot. The server's columns are equal on the log
    axis too, so the answer draws at least what the page's copy drew there
    (with columns equal in data units it fell from 478 points to 22)."""

    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            n = 150_000
            x = numpy.arange(1, n + 1, dtype=numpy.float64)
            plot = nbws.LivePlot("lg", server=server, logx=True)
            plot.push_many(x, numpy.sin(numpy.log(x) * 40))
            assert plot.flush(30)
            page = await browser.new_page(viewport={"width": 900, "height": 400})
            await joined(page, server.url + "live/lg/")
            await page.evaluate("window.chart.queries.delay = 60000")  # the query waits: draw the page's copy
            await page.evaluate(f"window.chart.setZoom({{x0: 1, x1: {float(numpy.log10(n))!r}, y0: null, y1: null}})")
            await drawn(page)
            before = await page.evaluate(DRAWN, [10, 1000])
            assert await page.evaluate("window.chart.queries.busy && !window.chart.answer.zoomed")
            await page.evaluate("window.chart.queries.flush()")  # send it now
            await page.wait_for_function("window.chart.answer.zoomed && !window.chart.queries.busy", timeout=30000)
            await drawn(page)
            after = await page.evaluate(DRAWN, [10, 1000])
            assert await page.evaluate("window.chart.queries.sent === null")
            assert before > 300 and after >= before, (before, after)
            await page.close()
        finally:
            server.stop()

    drive(env, main)


def test_a_hidpi_page_asks_for_its_device_pixels(env: Any) -> None:
    """At devicePixelRatio 2 the page draws twice as many columns as CSS
    pixels, so it asks the server for twice as many (capped at 8192)."""

    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            plot = nbws.LivePlot("hidpi", server=server)
            plot.push_many(range(100_000), [i % 97 for i in range(100_000)])
            assert plot.flush(30)
            widths = []
            for scale in (1, 2):
                context = await browser.new_context(viewport={"width": 900, "height": 400}, device_scale_factor=scale)
                page = await context.new_page()
                await joined(page, server.url + "live/hidpi/")
                await zoomed(page, 1000.0, 90_000.0)
                css = await page.evaluate("window.chart.box.w - window.chart.box.l - window.chart.box.r")
                width = await page.evaluate("window.chart.answer.width")
                assert width == round(css * scale)
                widths.append(width)
                await context.close()
            assert widths[1] == 2 * widths[0]
        finally:
            server.stop()

    drive(env, main)


def test_an_overlay_added_while_zoomed_is_asked_for(env: Any) -> None:
    """compare() while a page is zoomed: the page asks for the view again, so
    the overlay comes at full resolution, not as its joining history."""

    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            plot = nbws.LivePlot("now", server=server)
            plot.push_many(range(1, 100_001), [i % 89 for i in range(100_000)])
            assert plot.flush(30)
            old = nbws.LivePlot("before", server=server)
            old.push_many(range(1, 200_001), [i % 13 for i in range(200_000)])
            assert old.flush(30)
            page = await browser.new_page(viewport={"width": 900, "height": 400})
            await joined(page, server.url + "live/now/")
            await zoomed(page, 20_000.0, 20_400.0)
            answered = await page.evaluate("window.chart.answered")
            assert await page.evaluate("window.chart.answer.series.has(1)") is False
            plot.compare(old)
            await page.wait_for_function(f"window.chart.answered > {answered} && window.chart.answer.series.has(1)",
                                         timeout=15000)
            got = await page.evaluate("window.chart.answer.series.get(1).xs.length")
            assert got == 403  # every point of the old run in 20,000..20,400 and one on each side
            await page.close()
        finally:
            server.stop()

    drive(env, main)
