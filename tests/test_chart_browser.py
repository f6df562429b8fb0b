"""The live-plot chart in real Chromium (one browser for the module): zoom and
follow, M4 keeping a spike, hidden series, themes, export, saved runs and
dashboards. Each test drives it as a user would and checks what is drawn."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import pathlib
from typing import Any, TypeVar

import pytest
from playwright.async_api import Browser, Page

import nbws
from tests.browser import drive
from tests.test_view import reference_ema

T = TypeVar("T")
BLUE, ORANGE = (31, 119, 180), (255, 127, 14)  # the first two series' colours
SHOTS = pathlib.Path("/tmp/nbws-chart-shots")


async def open_plot(browser: Browser, url: str, points: int, width: int = 900, height: int = 400,
                    color_scheme: Any = "light") -> Page:
    page = await browser.new_page(viewport={"width": width, "height": height}, color_scheme=color_scheme)
    await page.goto(url)
    await page.wait_for_function(f"window.chart && window.chart.count() === {points}", timeout=30000)
    await drawn(page)
    return page


async def joined(browser: Browser, url: str) -> Page:
    """A page showing the plot at ``url`` once its (decimated) history came."""
    page = await browser.new_page(viewport={"width": 900, "height": 400})
    await page.goto(url)
    await page.wait_for_function("window.chart && window.chart.count() > 0", timeout=30000)
    return page


async def drawn(page: Page) -> None:
    await page.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


async def pixels(page: Page, rgb: tuple[int, int, int], left: float = 0, right: float = 1e9, top: float = 0,
                 bottom: float = 1e9, selector: str = "canvas") -> int:
    """Canvas pixels close to ``rgb`` inside a rectangle given in CSS px."""
    return int(await page.evaluate("""([sel, [r, g, b], [l, rt, t, bt]]) => {
        const c = document.querySelector(sel), k = c.width / c.clientWidth;
        const x0 = Math.max(0, Math.floor(l * k)), x1 = Math.min(c.width, Math.ceil(rt * k));
        const y0 = Math.max(0, Math.floor(t * k)), y1 = Math.min(c.height, Math.ceil(bt * k));
        if (x1 <= x0 || y1 <= y0) return 0;
        const d = c.getContext('2d').getImageData(x0, y0, x1 - x0, y1 - y0).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4)
            if (Math.abs(d[i] - r) < 40 && Math.abs(d[i + 1] - g) < 40 && Math.abs(d[i + 2] - b) < 40) n++;
        return n;
    }""", [selector, list(rgb), [left, right, top, bottom]]))


async def plot_area(page: Page) -> dict[str, float]:
    """The plot's rectangle inside the canvas, in CSS px, and the canvas's place on the page."""
    return dict(await page.evaluate("""() => {
        const b = window.chart.box, r = window.chart.canvas.getBoundingClientRect();
        return {l: b.l, r: b.w - b.r, t: b.t, b: b.h - b.b, left: r.left, top: r.top};
    }"""))


def test_dragging_zooms_x_and_a_double_click_follows_the_live_edge_again(env: Any) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("zoom", series=["y"], server=server, xlabel="step", ylabel="loss")
        plot.push_many(range(1000), [i % 100 for i in range(1000)])
        assert plot.flush(10)
        page = await open_plot(browser, plot.url, 1000)
        assert await page.evaluate("[window.chart.view.x0, window.chart.view.x1]") == [0, 999]
        a = await plot_area(page)
        width = a["r"] - a["l"]
        y = a["top"] + (a["t"] + a["b"]) / 2
        await page.mouse.move(a["left"] + a["l"] + 0.25 * width, y)
        await page.mouse.down()
        await page.mouse.move(a["left"] + a["l"] + 0.4 * width, y, steps=4)
        await page.mouse.move(a["left"] + a["l"] + 0.5 * width, y, steps=4)
        await page.mouse.up()
        await drawn(page)
        x0, x1 = await page.evaluate("[window.chart.view.x0, window.chart.view.x1]")
        assert abs(x0 - 250) < 3 and abs(x1 - 500) < 3, (x0, x1)
        assert await page.evaluate("window.chart.following") is False
        await page.screenshot(path=str(SHOTS / "zoomed.png"))
        plot.push_many(range(1000, 2000), [i % 100 for i in range(1000, 2000)])  # the run goes on
        assert plot.flush(10)
        await page.wait_for_function("window.chart.count() === 2000", timeout=10000)
        await drawn(page)
        assert await page.evaluate("[window.chart.view.x0, window.chart.view.x1]") == [x0, x1]  # the zoom holds
        await page.mouse.dblclick(a["left"] + a["l"] + 0.5 * width, y)
        await drawn(page)
        assert await page.evaluate("window.chart.following") is True
        assert await page.evaluate("[window.chart.view.x0, window.chart.view.x1]") == [0, 1999]  # the live edge
        plot.push(2500, y=1)
        assert plot.flush(10)
        await page.wait_for_function("window.chart.view && window.chart.view.x1 === 2500", timeout=10000)

    drive(env, main)


def test_shift_drag_zooms_a_box_the_wheel_zooms_x_and_alt_drag_pans(env: Any) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("wheel", series=["y"], server=server)
        plot.push_many(range(1001), [i / 10 for i in range(1001)])  # y from 0 to 100
        assert plot.flush(10)
        page = await open_plot(browser, plot.url, 1001)
        a = await plot_area(page)
        w, h = a["r"] - a["l"], a["b"] - a["t"]
        at = lambda fx, fy: (a["left"] + a["l"] + fx * w, a["top"] + a["t"] + fy * h)
        full = await page.evaluate("window.chart.view")
        await page.keyboard.down("Shift")
        await page.mouse.move(*at(0.2, 0.2))
        await page.mouse.down()
        await page.mouse.move(*at(0.6, 0.6), steps=5)
        await page.mouse.up()
        await page.keyboard.up("Shift")
        await drawn(page)
        v = await page.evaluate("window.chart.view")
        top, bottom = full["y1"] - 0.2 * (full["y1"] - full["y0"]), full["y1"] - 0.6 * (full["y1"] - full["y0"])
        assert abs(v["x0"] - 200) < 3 and abs(v["x1"] - 600) < 3, v
        assert abs(v["y0"] - bottom) < 1 and abs(v["y1"] - top) < 1, (v, full)
        await page.mouse.dblclick(*at(0.5, 0.5))
        await page.mouse.move(*at(0.5, 0.5))
        await page.mouse.wheel(0, -300)  # zoom in around the middle
        await drawn(page)
        v = await page.evaluate("window.chart.view")
        assert v["x1"] - v["x0"] < 700 and abs((v["x0"] + v["x1"]) / 2 - 500) < 5, v
        before = v
        await page.keyboard.down("Alt")
        await page.mouse.move(*at(0.5, 0.5))
        await page.mouse.down()
        await page.mouse.move(*at(0.3, 0.5), steps=5)  # drag the data to the left: the view moves right
        await page.mouse.up()
        await page.keyboard.up("Alt")
        await drawn(page)
        v = await page.evaluate("window.chart.view")
        shift = 0.2 * (before["x1"] - before["x0"])
        assert abs(v["x0"] - (before["x0"] + shift)) < 3 and abs((v["x1"] - v["x0"]) - (before["x1"] - before["x0"])) < 1e-6

    drive(env, main)


def test_a_one_point_spike_among_a_million_survives_decimation_in_its_pixel_column(env: Any) -> None:
    async def main(browser: Browser) -> None:
        import numpy

        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("spike", series=["y"], server=server, max_points=1_000_000)
        n, spike = 1_000_000, 654_321
        ys = numpy.zeros(n)
        ys[spike] = 1.0
        plot.push_many(numpy.arange(n, dtype=float), ys)
        assert plot.flush(30)
        # the page joins late: the history is M4-decimated on the server, then per pixel column by the page
        page = await browser.new_page(viewport={"width": 900, "height": 400})
        await page.goto(plot.url)
        await page.wait_for_function("window.chart && window.chart.count() > 1000", timeout=30000)
        await drawn(page)
        assert await page.evaluate("window.chart.count()") <= 200_001
        a = await plot_area(page)
        column = a["l"] + spike / (n - 1) * (a["r"] - a["l"])
        top = (a["t"], a["t"] + 0.2 * (a["b"] - a["t"]))  # y = 1 is the top of the plot; the rest is 0
        assert await pixels(page, BLUE, column - 2, column + 2, *top) > 0
        assert await pixels(page, BLUE, a["l"] + 2, column - 4, *top) == 0
        assert await pixels(page, BLUE, column + 4, a["r"] - 2, *top) == 0

    drive(env, main, timeout=120)


def test_a_series_hidden_from_the_legend_is_not_drawn(env: Any) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("hide", series=["loss", "acc"], server=server)
        for i in range(500):
            plot.push(i, loss=i % 50, acc=50 - i % 50)
        assert plot.flush(10)
        page = await open_plot(browser, plot.url, 1000)
        assert await pixels(page, ORANGE) > 500 and await pixels(page, BLUE) > 500
        await page.click("[data-series='1']")
        await drawn(page)
        assert await pixels(page, ORANGE) == 0 and await pixels(page, BLUE) > 500
        await page.click("[data-series='1']")
        await drawn(page)
        assert await pixels(page, ORANGE) > 500

    drive(env, main)


def test_the_csv_of_the_view_names_series_with_commas_one_parameter_each(env: Any) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("commas", series=["loss", "odd, name", "hidden"], server=server)
        for i in range(300):
            plot.push(i, loss=i, **{"odd, name": -i, "hidden": 2 * i})
        assert plot.flush(10)
        page = await open_plot(browser, plot.url, 900)
        await page.click("[data-series='2']")
        await drawn(page)
        url = await page.evaluate("window.chart.csvUrl('view')")
        assert "series=loss&series=odd%2C+name&" in url + "&"
        await page.click("button.csv")
        async with page.expect_download() as info:
            await page.click("button.csv-view")
        text = pathlib.Path(await (await info.value).path()).read_text()
        rows = list(csv.reader(io.StringIO(text)))[1:]
        assert sorted({name for name, _, _ in rows}) == ["loss", "odd, name"] and len(rows) == 600

    drive(env, main)


def test_a_page_that_reconnects_holds_each_point_once(env: Any) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("again", series=["y", "z"], server=server)
        for i in range(2000):
            plot.push(i, y=i % 7, **({"z": -i} if i % 4 == 0 else {}))
        assert plot.flush(10)
        page = await open_plot(browser, plot.url, 2500)
        await page.evaluate("() => { window.opens = 0; window.chart.conn.on('open', () => { window.opens += 1; }); }")

        def drop() -> None:  # I/O thread: the server closes the page's socket; the page reconnects
            for conn in list(plot._subscribers):
                conn.start_close(1012, "restarting")

        server._endpoint.io.call(drop, 10)  # type: ignore[union-attr]
        await page.wait_for_function("window.opens >= 1", timeout=30000)
        for i in range(2000, 2300):
            plot.push(i, y=i % 7)
        assert plot.flush(10)
        await page.wait_for_function("window.chart.data(0).x.length >= 2300", timeout=30000)
        await drawn(page)
        assert await page.evaluate("window.chart.data(0).x") == list(range(2300))  # each point once, in order
        assert await page.evaluate("window.chart.data(1).x") == list(range(0, 2000, 4))
        assert await page.evaluate("window.chart.count()") == 2800

    drive(env, main)


def test_smoothing_goes_on_over_live_points_from_the_servers_ema(env: Any) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("going-on", series=["y"], server=server, history_points=2000)
        ys = [math.sin(i / 50) + (i % 13) / 7 for i in range(20_300)]
        plot.push_many(list(range(20_000)), ys[:20_000])  # the page gets 2,000: decimated
        assert plot.flush(10)
        page = await joined(browser, plot.url)
        await page.wait_for_function("window.chart.decimated[0] === true", timeout=10000)
        await page.evaluate("window.chart.setSmoothing(0.9)")  # the server smooths the full series
        await page.wait_for_function("window.chart.answer && window.chart.answer.weight === 0.9", timeout=10000)
        plot.push_many(list(range(20_000, 20_300)), ys[20_000:])  # live points: the page goes on from the state
        assert plot.flush(10)
        await page.wait_for_function("window.chart.answer.series.get(0).tail.x.length >= 300", timeout=10000)
        tail = await page.evaluate("(() => { const t = window.chart.answer.series.get(0).tail; "
                                   "return [Array.from(t.x.values()), Array.from(t.y.values())]; })()")
        expected = reference_ema(ys, 0.9)[0]
        assert tail[0] == list(range(20_000, 20_300))  # every live point (the answer's line ends at the newest)
        assert tail[1] == pytest.approx(expected[20_000:20_300], rel=1e-9)  # the server's EMA, continued

    drive(env, main)


@pytest.mark.parametrize(("window", "badge"), [(10_000, "1 px ≈ 12 points"), (1000, None)])
def test_following_a_window_shows_the_badge_when_it_is_decimated(env: Any, window: int, badge: str | None) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot(f"window-{window}", series=["y"], server=server, window=window, history_points=4000)
        plot.push_many(list(range(50_000)), [i % 100 for i in range(50_000)])
        assert plot.flush(10)
        page = await joined(browser, plot.url)
        await page.wait_for_function("window.chart.answer !== null", timeout=10000)
        await drawn(page)
        width = await page.evaluate("window.chart.box.w - window.chart.box.l - window.chart.box.r")
        assert 800 <= width <= 850  # 10,000 points on it: 12 a column
        shown = await page.evaluate("document.querySelector('.ratio').hidden ? null : "
                                    "document.querySelector('.ratio').textContent")
        assert shown == badge

    drive(env, main)


DARK_SHARE = """() => {
    const c = document.querySelector('canvas'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let dark = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] + d[i + 1] + d[i + 2] < 180) dark++;
    return dark / (d.length / 4);
}"""


def test_dark_theme_renders_dark_pixels_from_the_option_the_browser_and_the_notebook(env: Any) -> None:
    async def main(browser: Browser) -> None:
        app = nbws.App()
        server = nbws.start_server(app=app)
        dark = nbws.LivePlot("dark", series=["y"], server=server, theme="dark")
        auto = nbws.LivePlot("auto", series=["y"], server=server)
        for plot in (dark, auto):
            plot.push_many(range(100), [i % 10 for i in range(100)])
            assert plot.flush(10)
        page = await open_plot(browser, dark.url, 100, color_scheme="light")  # the option wins
        assert await page.evaluate("window.chart.theme") == "dark" and await page.evaluate(DARK_SHARE) > 0.8
        await page.screenshot(path=str(SHOTS / "dark.png"))
        page = await open_plot(browser, auto.url, 100, color_scheme="light")
        assert await page.evaluate("window.chart.theme") == "light" and await page.evaluate(DARK_SHARE) < 0.2
        await page.screenshot(path=str(SHOTS / "light.png"))
        page = await open_plot(browser, auto.url, 100, color_scheme="dark")  # the browser's preference
        assert await page.evaluate("window.chart.theme") == "dark" and await page.evaluate(DARK_SHARE) > 0.8
        page = await open_plot(browser, auto.url.replace("/auto/", "/auto/?theme=light&"), 100, color_scheme="dark")
        assert await page.evaluate("window.chart.theme") == "light"  # the notebook's theme beats the browser's

        # In a notebook: the output's script reads JupyterLab's body attribute and passes ?theme=
        output = auto._repr_mimebundle_()["text/html"]

        @app.route("/lab")
        def lab(req: nbws.Request) -> nbws.Response:
            return nbws.Response(200, f'<!doctype html><body data-jp-theme-light="false">{output}</body>',
                                 content_type="text/html; charset=utf-8")

        page = await browser.new_page(color_scheme="light")
        await page.goto(server.url + "lab")
        frame = page.frame_locator("iframe")
        await frame.locator("canvas").wait_for(timeout=10000)
        src = await page.get_attribute("iframe", "src")
        assert src is not None and "theme=dark" in src
        inner = page.frames[1]
        await inner.wait_for_function("window.chart && window.chart.count() === 100 && window.chart.theme === 'dark'",
                                      timeout=10000)
        await inner.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        assert await inner.evaluate(DARK_SHARE) > 0.8

    drive(env, main)


def test_the_csv_export_holds_every_point_and_the_png_the_view(env: Any, tmp_path: pathlib.Path) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("export", series=["loss", "val"], server=server)
        for step in range(3000):
            plot.push(step, loss=1 / (step + 1))
            if step % 10 == 0:
                plot.push(step, val=step / 7)
        assert plot.flush(10)
        page = await open_plot(browser, plot.url, 3300)
        await page.click("button.csv")  # the menu: the view or all, streamed by the server at full resolution
        async with page.expect_download() as info:
            await page.click("button.csv-all")
        download = await info.value
        assert download.suggested_filename == "export.csv"
        rows = pathlib.Path(await download.path()).read_text().splitlines()
        assert rows[0] == "series,x,y" and len(rows) == 3301
        loss = [(float(x), float(y)) for name, x, y in (r.split(",") for r in rows[1:]) if name == "loss"]
        val = [(float(x), float(y)) for name, x, y in (r.split(",") for r in rows[1:]) if name == "val"]
        assert loss == [(s, 1 / (s + 1)) for s in range(3000)]  # every point, exactly
        assert val == [(s, s / 7) for s in range(0, 3000, 10)]
        await download.save_as(tmp_path / "exported.csv")  # and Python reads the page's CSV as a run
        again = nbws.LivePlot.load(tmp_path / "exported.csv", server=server)
        assert again.series == ["loss", "val"] and again.points == 3300

        async with page.expect_download() as info:
            await page.click("button.png")
        png = pathlib.Path(await (await info.value).path()).read_bytes()
        size = await page.evaluate("[window.chart.canvas.width, window.chart.canvas.height]")
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        assert [int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")] == size

    drive(env, main)


def test_a_saved_run_reloads_and_overlays_a_new_one_on_the_page(env: Any, tmp_path: pathlib.Path) -> None:
    async def main(browser: Browser) -> None:
        server = nbws.start_server(app=nbws.App())
        first = nbws.LivePlot("first", series=["loss"], server=server)
        first.push_many(range(500), [2 - i / 500 for i in range(500)])
        first.save(tmp_path / "first.parquet")
        loaded = nbws.LivePlot.load(tmp_path / "first.parquet", name="first-again", server=server)
        second = nbws.LivePlot("second", series=["loss"], server=server)
        second.push_many(range(500), [1 - i / 1000 for i in range(500)])
        assert second.flush(10)
        page = await open_plot(browser, second.url, 500)
        await asyncio.to_thread(second.compare, loaded)
        await page.wait_for_function("window.chart.count() === 1000", timeout=10000)
        await drawn(page)
        assert await page.evaluate("window.chart.names") == ["loss", "loss (first-again)"]
        assert await page.evaluate("window.chart.data(1).y") == [2 - i / 500 for i in range(500)]
        a = await plot_area(page)
        mid = (a["t"] + a["b"]) / 2  # y from 0.5 to 2: the old run is in the upper half, the new one lower
        assert await pixels(page, BLUE, a["l"], a["r"], a["t"], mid) > 100
        assert await pixels(page, BLUE, a["l"], a["r"], mid, a["b"]) > 100
        legend = await page.inner_text(".legend")
        assert "loss (first-again)" in legend
        await page.screenshot(path=str(SHOTS / "compare.png"))

    drive(env, main)


def test_a_dashboard_shows_plots_a_figure_and_a_channel_with_a_shared_x_axis(env: Any) -> None:
    async def main(browser: Browser) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        server = nbws.start_server(app=nbws.App())
        loss = nbws.LivePlot("dash-loss", series=["loss", "val_loss"], server=server, ylabel="loss")
        lr = nbws.LivePlot("dash-lr", series=["lr"], server=server, ylabel="lr", logy=True)
        fig, ax = plt.subplots(figsize=(4, 2.5))
        ax.plot([1, 3, 2])
        figure = nbws.FigureStream(fig, name="dash-fig", server=server)
        status = server.channel("dash-status")
        board = nbws.Dashboard([loss, lr, figure, status], columns=2, shared_x=True, title="training")
        for step in range(1000):
            loss.push(step, loss=1 / (step + 1))
            if step % 50 == 0:
                loss.push(step, val_loss=1.2 / (step + 1))
            lr.push(step, lr=0.1 * 0.999 ** step)
        assert loss.flush(10) and lr.flush(10)
        page = await browser.new_page(viewport={"width": 1100, "height": 760})
        await page.goto(board.url)
        await page.wait_for_function("window.charts && window.charts.length === 2 && window.charts[0].count() === 1020 "
                                     "&& window.charts[1].count() === 1000", timeout=20000)
        await page.wait_for_function("window.charts.every((c) => c.conn.status === 'open')", timeout=10000)
        figure.update()
        status.send({"epoch": 3, "note": "ok"})
        await page.wait_for_function("document.querySelector('img').naturalWidth === 400", timeout=10000)
        await page.wait_for_function("document.querySelector('pre').textContent.includes('\"epoch\": 3')",
                                     timeout=10000)
        await drawn(page)
        await page.screenshot(path=str(SHOTS / "dashboard.png"))
        # drag to zoom on the first plot: the second follows on x
        box = await page.evaluate("""() => { const c = window.charts[0], r = c.canvas.getBoundingClientRect();
            return {x0: r.left + c.box.l, x1: r.left + c.box.w - c.box.r, y: r.top + r.height / 2}; }""")
        width = box["x1"] - box["x0"]
        await page.mouse.move(box["x0"] + 0.1 * width, box["y"])
        await page.mouse.down()
        await page.mouse.move(box["x0"] + 0.3 * width, box["y"], steps=5)
        await page.mouse.up()
        await drawn(page)
        views = await page.evaluate("window.charts.map((c) => [c.view.x0, c.view.x1])")
        assert abs(views[0][0] - 99.9) < 3 and abs(views[0][1] - 299.7) < 3, views
        assert views[1] == views[0]
        await page.mouse.dblclick(box["x0"] + 0.5 * width, box["y"])
        await drawn(page)
        assert await page.evaluate("window.charts.map((c) => c.following)") == [True, True]
        assert await page.evaluate("window.charts.map((c) => [c.view.x0, c.view.x1])") == [[0, 999], [0, 999]]
        html = board._repr_mimebundle_()["text/html"]
        assert "/live/" + board.name + "/" in html and "<iframe" in html
        plt.close(fig)

    drive(env, main)


def test_the_demo_page_plots_a_python_loop_echoes_calls_and_counts_votes_from_two_pages(env: Any) -> None:
    async def main(browser: Browser) -> None:
        from nbws.demo import start_demo

        server, plot = start_demo(steps_per_second=100)
        page = await browser.new_page(viewport={"width": 1100, "height": 900})
        await page.goto(server.url)
        await page.wait_for_function("document.getElementById('status').textContent === 'open'", timeout=10000)
        await page.wait_for_function("window.chart.count() > 20", timeout=10000)  # the Python loop feeds it
        first = await page.evaluate("window.chart.count()")
        await page.wait_for_function(f"window.chart.count() > {first}", timeout=10000)  # and keeps feeding it
        assert await page.evaluate("window.chart.names") == ["loss", "val_loss"]
        assert len(plot.pages) == 1 and plot.frames_sent > 0
        await page.fill("#text", "two words")
        await page.click("#send")
        await page.wait_for_function("document.getElementById('log').textContent.includes('echo: two words')",
                                     timeout=10000)
        await page.click("#call")
        await page.wait_for_function("document.getElementById('log').textContent.includes('\"reversed\":"
                                     "\"sdrow owt\"')", timeout=10000)
        other = await browser.new_page()
        await other.goto(server.url)
        await other.wait_for_function("window.poll && window.poll['VS Code'] === 0", timeout=10000)
        await page.click("button[data-choice='VS Code']")
        await other.wait_for_function("window.poll['VS Code'] === 1", timeout=10000)  # the other page sees it
        await page.wait_for_function("window.poll['VS Code'] === 1", timeout=10000)
        count = await page.inner_text("button[data-choice='VS Code'] ~ .count")
        assert count == "1"
        await drawn(page)
        await page.screenshot(path=str(SHOTS / "demo.png"), full_page=True)
        await other.close()

    drive(env, main)


SHOTS.mkdir(exist_ok=True)
