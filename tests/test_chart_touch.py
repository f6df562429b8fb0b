"""The live-plot chart's touch gestures in real Chromium with real touch input
(CDP ``Input.dispatchTouchEvent`` on a touch context, a phone-sized screen at
device pixel ratio 2): a pinch zooms around its centre, one finger pans, a
double tap follows the live edge again, a tap and a long press show the
crosshair. Each test checks what the chart shows."""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, CDPSession, Page

import nbws
from tests.browser import chromium

T = TypeVar("T")
SHOTS = pathlib.Path("/tmp/nbws-chart-shots")
SHOTS.mkdir(exist_ok=True)
AXIS = (153, 153, 153)  # the light theme's axis colour: the crosshair's lines
Env = tuple[asyncio.AbstractEventLoop, Browser]


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    """One Chromium for the module, on one event loop that is also the nbws handler loop."""
    loop = asyncio.new_event_loop()
    manager: AbstractAsyncContextManager[Browser] = chromium()
    browser = loop.run_until_complete(asyncio.wait_for(manager.__aenter__(), 60))
    try:
        yield loop, browser
    finally:
        loop.run_until_complete(asyncio.wait_for(manager.__aexit__(None, None, None), 60))
        loop.close()


def drive(env: Env, main: Callable[[Browser], Awaitable[T]], timeout: float = 90) -> T:
    loop, browser = env
    return loop.run_until_complete(asyncio.wait_for(main(browser), timeout))


class Finger:
    """Touch input through the DevTools protocol, in page (CSS) pixels."""

    def __init__(self, cdp: CDPSession, page: Page) -> None:
        self.cdp = cdp
        self.page = page

    async def send(self, kind: str, points: Sequence[tuple[float, float]]) -> None:
        await self.cdp.send("Input.dispatchTouchEvent", {
            "type": kind, "touchPoints": [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]})

    async def gesture(self, start: Sequence[tuple[float, float]], end: Sequence[tuple[float, float]],
                      steps: int = 8) -> None:
        """Put fingers down at ``start``, move them in ``steps`` to ``end``, lift them all."""
        await self.send("touchStart", start)
        for k in range(1, steps + 1):
            f = k / steps
            await self.send("touchMove", [(a[0] + (b[0] - a[0]) * f, a[1] + (b[1] - a[1]) * f)
                                          for a, b in zip(start, end, strict=True)])
        await self.send("touchEnd", [])
        await drawn(self.page)

    async def tap(self, x: float, y: float) -> None:
        await self.send("touchStart", [(x, y)])
        await self.send("touchEnd", [])


async def drawn(page: Page) -> None:
    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def open_touch_plot(browser: Browser, url: str, points: int) -> tuple[Page, Finger, Callable[..., Any]]:
    """The plot on a phone-sized touch screen; returns the page, a finger and
    ``at(fx, fy)``: page coordinates of a fraction of the plot area."""
    context = await browser.new_context(viewport={"width": 420, "height": 560}, has_touch=True, is_mobile=True,
                                        device_scale_factor=2)
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_function(f"window.chart && window.chart.count() === {points}", timeout=30000)
    await drawn(page)
    a = dict(await page.evaluate("""() => {
        const b = window.chart.box, r = window.chart.canvas.getBoundingClientRect();
        return {l: b.l, r: b.w - b.r, t: b.t, b: b.h - b.b, left: r.left, top: r.top};
    }"""))
    w, h = a["r"] - a["l"], a["b"] - a["t"]

    def at(fx: float, fy: float) -> tuple[float, float]:
        return a["left"] + a["l"] + fx * w, a["top"] + a["t"] + fy * h

    return page, Finger(await context.new_cdp_session(page), page), at


async def view(page: Page) -> dict[str, float]:
    return dict(await page.evaluate("window.chart.view"))


async def crosshair_pixels(page: Page, x: float) -> int:
    """Pixels of the crosshair's colour in a 5 px column around page x, inside the plot."""
    return int(await page.evaluate("""(px) => {
        const c = window.chart.canvas, b = window.chart.box, r = c.getBoundingClientRect(), k = c.width / c.clientWidth;
        const x0 = Math.round((px - r.left - 2) * k), y0 = Math.round((b.t + 20) * k), y1 = Math.round((b.h - b.b - 2) * k);
        const d = c.getContext('2d').getImageData(x0, y0, Math.round(5 * k), y1 - y0).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (Math.abs(d[i] - 153) < 30 && Math.abs(d[i + 1] - 153) < 30 && Math.abs(d[i + 2] - 153) < 30) n++;
        return n;
    }""", x))


def ramp_plot(name: str, n: int = 1001) -> nbws.LivePlot:
    server = nbws.start_server(app=nbws.App())
    plot = nbws.LivePlot(name, series=["y"], server=server)
    plot.push_many(range(n), [i / 10 for i in range(n)])  # x 0..n-1, y 0..(n-1)/10
    assert plot.flush(10)
    return plot


def test_a_pinch_narrows_the_visible_x_range_around_the_pinch_centre(env: Env) -> None:
    async def main(browser: Browser) -> None:
        plot = ramp_plot("pinch")
        page, finger, at = await open_touch_plot(browser, plot.url, 1001)
        assert await view(page) == {**await view(page), "x0": 0, "x1": 1000}
        # fingers 20% of the plot apart around 40% of it, spread to 60% apart: the range is a third as wide
        (lx, y), (rx, _) = at(0.3, 0.5), at(0.5, 0.5)
        (lx2, _), (rx2, _) = at(0.1, 0.5), at(0.7, 0.5)
        await finger.gesture([(lx, y), (rx, y)], [(lx2, y), (rx2, y)])
        v = await view(page)
        assert abs((v["x1"] - v["x0"]) - 1000 / 3) < 15, v
        centre = v["x0"] + 0.4 * (v["x1"] - v["x0"])  # the value under the pinch's centre stayed there
        assert abs(centre - 400) < 10, v
        assert await page.evaluate("window.chart.following") is False
        assert await page.evaluate("window.chart.zoom.y0") is None  # a horizontal pinch leaves y auto-scaled
        await page.screenshot(path=str(SHOTS / "touch-pinched.png"))

    drive(env, main)


def test_a_vertical_pinch_zooms_y_and_leaves_x(env: Env) -> None:
    async def main(browser: Browser) -> None:
        plot = ramp_plot("vpinch")
        page, finger, at = await open_touch_plot(browser, plot.url, 1001)
        before = await view(page)
        (x, top), (_, bottom) = at(0.5, 0.35), at(0.5, 0.65)
        (_, top2), (_, bottom2) = at(0.5, 0.2), at(0.5, 0.8)
        await finger.gesture([(x, top), (x, bottom)], [(x, top2), (x, bottom2)])
        v = await view(page)
        assert (v["x0"], v["x1"]) == (before["x0"], before["x1"]), v
        assert abs((v["y1"] - v["y0"]) - (before["y1"] - before["y0"]) / 2) < 2, (v, before)
        middle = (before["y0"] + before["y1"]) / 2
        assert abs((v["y0"] + v["y1"]) / 2 - middle) < 2, (v, before)

    drive(env, main)


def test_one_finger_pans_x_and_a_double_tap_follows_the_live_edge_again(env: Env) -> None:
    async def main(browser: Browser) -> None:
        plot = ramp_plot("pan")
        page, finger, at = await open_touch_plot(browser, plot.url, 1001)
        # pinch in first (to half the range), then drag the view a quarter of the plot to the left
        (lx, y), (rx, _), (lx2, _), (rx2, _) = at(0.4, 0.5), at(0.6, 0.5), at(0.3, 0.5), at(0.7, 0.5)
        await finger.gesture([(lx, y), (rx, y)], [(lx2, y), (rx2, y)])
        zoomed = await view(page)
        assert abs((zoomed["x1"] - zoomed["x0"]) - 500) < 15, zoomed
        await finger.gesture([at(0.6, 0.4)], [at(0.35, 0.6)])
        v = await view(page)
        assert abs((v["x1"] - v["x0"]) - (zoomed["x1"] - zoomed["x0"])) < 1e-6, (v, zoomed)  # same width
        assert abs(v["x0"] - (zoomed["x0"] + 0.25 * (zoomed["x1"] - zoomed["x0"]))) < 5, (v, zoomed)  # moved right
        assert await page.evaluate("window.chart.zoom.y0") is None  # one finger pans x only
        await page.screenshot(path=str(SHOTS / "touch-panned.png"))
        plot.push_many(range(1001, 2001), [i / 10 for i in range(1001, 2001)])  # the run goes on
        assert plot.flush(10)
        await page.wait_for_function("window.chart.count() === 2001", timeout=10000)
        await drawn(page)
        assert (await view(page))["x1"] == v["x1"]  # the view holds while points arrive
        await finger.tap(*at(0.5, 0.5))
        await finger.tap(*at(0.5, 0.5))
        await drawn(page)
        assert await page.evaluate("window.chart.following") is True
        w = await view(page)
        assert (w["x0"], w["x1"]) == (0, 2000), w  # the live edge
        assert await page.evaluate("window.chart.hover") is None  # and no crosshair left behind

    drive(env, main)


def test_a_tap_shows_the_crosshair_and_a_long_press_drags_it(env: Env) -> None:
    async def main(browser: Browser) -> None:
        plot = ramp_plot("tap")
        page, finger, at = await open_touch_plot(browser, plot.url, 1001)
        x, y = at(0.5, 0.5)
        assert await crosshair_pixels(page, x) < 5
        await finger.tap(x, y)
        await drawn(page)
        assert await crosshair_pixels(page, x) > 40  # the dashed line through the tap
        assert await page.evaluate("window.chart.following") is True  # a tap neither zooms nor pans
        await page.screenshot(path=str(SHOTS / "touch-tapped.png"))
        # a long press, then a drag: the crosshair follows the finger and the view stays
        before = await view(page)
        await finger.send("touchStart", [at(0.3, 0.5)])
        await page.wait_for_function("window.chart.touch.gesture && window.chart.touch.gesture.kind === 'scrub'",
                                     timeout=5000)
        for k in range(1, 6):
            await finger.send("touchMove", [at(0.3 + 0.08 * k, 0.5)])
        await drawn(page)
        x2, _ = at(0.7, 0.5)
        assert await crosshair_pixels(page, x2) > 40
        assert await crosshair_pixels(page, at(0.3, 0.5)[0]) < 20  # (the horizontal line crosses it)
        await finger.send("touchEnd", [])
        await drawn(page)
        assert await view(page) == before
        assert await crosshair_pixels(page, x2) > 40  # it stays where the finger left it
        await page.screenshot(path=str(SHOTS / "touch-scrubbed.png"))

    drive(env, main)
