"""A class end to end: a Classroom in a real IPython kernel (jupyter_client)
and a room of real headless-Chromium student pages (one browser, a context
per student, so each has its own localStorage), the projector page and the
notebook's panel. Everything asserted is what a student, the instructor's
notebook or the classroom screen shows.

Set ``NBWS_SCREENSHOTS=/some/dir`` to keep the screenshots for a look."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import re
from typing import Any

from playwright.async_api import Browser, Page

from tests.browser import chromium
from tests.kernel import Kernel, kernel

SETUP = """
import json, time, nbws
room = nbws.Classroom("cs101", host="127.0.0.1", students=["Barbara"])
poll = room.poll("Which sort is stable?", ["quicksort", "mergesort", "heapsort"])
seen = []
poll.on_answer(seen.append)
print(json.dumps({"join": room.join_url, "projector": room.projector_url, "barbara": room.student_links["Barbara"]}))
"""

# busy the whole time: no nbws call, no yield to the kernel's loop (bounded: 30 s)
BUSY = """
for _ in range(600):
    time.sleep(0.05)
"""

READ = """
print(json.dumps({"results": poll.results, "students": sorted(room.students["name"]),
                  "connected": int(room.students["connected"].sum()), "answers": list(poll.responses["answer"])}))
"""

# on_answer callbacks run on the kernel's loop once it is free
CALLBACKS = """
for _ in range(100):
    if len(seen) >= 3:
        break
    nbws.service(0.05)
print(json.dumps(sorted(row["name"] for row in seen)))
"""

SHOW_FIGURE = """
from matplotlib.figure import Figure
fig = Figure(figsize=(4, 3))
fig.add_subplot().bar(["quicksort", "mergesort", "heapsort"], list(poll.results.values()))
room.show(fig)
"""

SHOW_TABLE = """
import pandas
room.show(pandas.DataFrame({"sort": list(poll.results), "votes": list(poll.results.values())}))
"""

OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
STUDENTS = (("Ada", "mergesort"), ("Grace", "mergesort"), ("Linus", "quicksort"))


async def cell(k: Kernel, code: str) -> Any:
    """Run a cell in the kernel (off this loop) and decode the JSON it prints."""
    return json.loads(await asyncio.to_thread(k.run, code))


async def join(browser: Browser, url: str, name: str) -> Page:
    """A student on a phone-sized page: opens the join URL and types a name."""
    context = await browser.new_context(viewport={"width": 390, "height": 800})
    page = await context.new_page()
    await page.goto(url)
    await page.wait_for_selector("#join:not([hidden])", timeout=15000)
    await page.fill("#name", name)
    await page.click("#join button")
    await page.wait_for_function(f"document.getElementById('who').textContent === {json.dumps(name)}",
                                 timeout=10000)
    await page.wait_for_selector("#activity button[data-i]", timeout=10000)
    return page


async def answer(page: Page, option: str) -> None:
    """Tap an option; wait until the page says the room has it."""
    await page.click(f"#activity button:has-text('{option}')")
    await page.wait_for_function("document.getElementById('note').textContent === 'Answer received ✓'",
                                 timeout=10000)


async def chosen(page: Page) -> str:
    """The option the page shows as this student's own answer."""
    await page.wait_for_selector("#activity button.chosen", timeout=10000)
    return await page.inner_text("#activity button.chosen")


async def bars(page: Page) -> dict[str, tuple[int, float]]:
    """A results chart as drawn: option -> (count shown, bar width in px)."""
    drawn: dict[str, tuple[int, float]] = {}
    for bar in await page.query_selector_all("#body .bar"):
        label = await (await bar.query_selector(".label")).inner_text()  # type: ignore[union-attr]
        count = int(await (await bar.query_selector("b")).inner_text())  # type: ignore[union-attr]
        box = await (await bar.query_selector(".fill")).bounding_box()  # type: ignore[union-attr]
        assert box is not None
        drawn[label] = (count, box["width"])
    return drawn


async def screenshot(page: Page, tmp: pathlib.Path, name: str) -> None:
    png = await page.screenshot(full_page=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for folder in (tmp, pathlib.Path(os.environ.get("NBWS_SCREENSHOTS", "")) if os.environ.get("NBWS_SCREENSHOTS")
                   else None):
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{name}.png").write_bytes(png)


def test_a_class_in_a_real_kernel_with_real_student_browsers(tmp_path: pathlib.Path) -> None:
    with kernel() as k:
        urls = json.loads(k.run(SETUP))
        panel_html = k.result("room")["text/html"]
        frame = re.search(r'<iframe src="([^"]+)"', panel_html)
        assert frame is not None and "/_room/panel?token=" in frame.group(1) and "#key=" in frame.group(1)
        panel_url = frame.group(1).replace("&amp;", "&")
        chart = re.search(r'<iframe src="([^"]+)"', k.result("poll")["text/html"])
        assert chart is not None and "#key=" in chart.group(1)
        chart_url = chart.group(1).replace("&amp;", "&")

        async def main() -> None:
            async with chromium() as browser:
                projector = await (await browser.new_context(viewport={"width": 1280, "height": 720})).new_page()
                await projector.goto(urls["projector"])
                await projector.wait_for_function("window.room && window.room.last !== null", timeout=15000)
                assert await projector.evaluate("location.hash") == ""  # the key left the address bar

                # three students join by name; two answer while the kernel is idle
                pages = {name: await join(browser, urls["join"], name) for name, _ in STUDENTS}
                for name, option in STUDENTS[:2]:
                    await answer(pages[name], option)
                # Barbara was invited by name: her personal link joins as her, no name to type
                barbara = await (await browser.new_context(viewport={"width": 390, "height": 800})).new_page()
                await barbara.goto(urls["barbara"])
                await barbara.wait_for_function("document.getElementById('who').textContent === 'Barbara'",
                                                timeout=10000)
                assert await barbara.is_hidden("#join") and "#invite" not in barbara.url  # the key left the URL bar

                # the third answers while an instructor cell is busy: acknowledged on the page and
                # shown on the projector meanwhile, with the kernel's loop never free
                busy = await asyncio.to_thread(k.start, BUSY)
                await answer(pages["Linus"], "quicksort")
                await projector.wait_for_function(
                    "document.getElementById('body').textContent.includes('3 answered')", timeout=10000)
                await asyncio.to_thread(k.km.interrupt_kernel)
                out, reply = await asyncio.to_thread(k.finish, busy, 30)
                # interrupted, so still busy when the page and the projector showed the answer
                assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt", (out, reply)

                # the instructor's cell reads what arrived, interrupt and all
                state = await cell(k, READ)
                assert state["results"] == {"quicksort": 1, "mergesort": 2, "heapsort": 0}
                assert state["students"] == ["Ada", "Barbara", "Grace", "Linus"] and state["connected"] == 4
                assert sorted(state["answers"]) == ["mergesort", "mergesort", "quicksort"]
                assert await cell(k, CALLBACKS) == ["Ada", "Grace", "Linus"]

                # the projector: live results, large QR code, no names; mergesort's bar the widest
                drawn = await bars(projector)
                assert {o: c for o, (c, _) in drawn.items()} == {"quicksort": 1, "mergesort": 2, "heapsort": 0}
                widths = {o: w for o, (_, w) in drawn.items()}
                assert max(widths, key=lambda o: widths[o]) == "mergesort"
                assert widths["mergesort"] > 1.5 * widths["quicksort"] > 1.5 * widths["heapsort"]
                assert await projector.eval_on_selector("#qr svg", "svg => svg.getBoundingClientRect().width") > 300
                screen = await projector.inner_text("body")
                assert not any(name in screen for name in ("Ada", "Barbara", "Grace", "Linus"))
                await screenshot(projector, tmp_path, "projector")

                # the notebook's panel (the iframe in the cell's output): roster with names, who is connected
                panel = await (await browser.new_context()).new_page()
                await panel.goto(panel_url)
                await panel.wait_for_function(
                    "document.getElementById('count').textContent.startsWith('4 connected')", timeout=10000)
                roster = await panel.eval_on_selector_all("#body table tr td:first-child",
                                                          "cells => cells.map(c => c.textContent)")
                assert sorted(roster) == ["Ada", "Barbara", "Grace", "Linus"]
                await screenshot(panel, tmp_path, "panel")

                # the poll's own live chart (the iframe `poll` displays in the notebook)
                chart = await (await browser.new_context(viewport={"width": 700, "height": 260})).new_page()
                await chart.goto(chart_url)
                await chart.wait_for_function(
                    "document.getElementById('body').textContent.includes('3 answered')", timeout=10000)
                assert {o: c for o, (c, _) in (await bars(chart)).items()} == {
                    "quicksort": 1, "mergesort": 2, "heapsort": 0}
                await screenshot(chart, tmp_path, "poll-chart")

                # room.show(): a matplotlib figure, then a DataFrame, reach every student's page
                await asyncio.to_thread(k.run, SHOW_FIGURE)
                for page in pages.values():
                    await page.wait_for_function(
                        "(() => { const img = document.querySelector('#shown img.shown');"
                        " return img !== null && img.complete && img.naturalWidth > 300; })()", timeout=10000)
                await screenshot(pages["Ada"], tmp_path, "student-figure")
                await asyncio.to_thread(k.run, SHOW_TABLE)
                for page in pages.values():
                    table = page.frame_locator("#shown iframe.shown").locator("table")
                    await table.wait_for(timeout=10000)
                    text = await table.inner_text()
                    assert "mergesort" in text and "votes" in text
                    assert await page.query_selector("#shown img") is None  # the table replaced the figure
                    await page.wait_for_function(  # the frame fits the table (it reports its height)
                        "document.querySelector('#shown iframe.shown').getBoundingClientRect().height < 300",
                        timeout=10000)
                await screenshot(pages["Grace"], tmp_path, "student-table")

                # Grace reloads: the same student, her answer still shown as hers, nobody new in the roster
                grace = pages["Grace"]
                before = await grace.evaluate("window.room.me.student")
                await grace.reload()
                await grace.wait_for_function("window.room && (window.room.view !== null"
                                              " || !document.getElementById('join').hidden)", timeout=15000)
                assert await grace.is_hidden("#join"), "the reloaded page asks for a name again"
                assert await grace.evaluate("window.room.me.student") == before
                assert await grace.inner_text("#who") == "Grace"
                assert await chosen(grace) == "mergesort"
                state = await cell(k, READ)
                assert state["students"] == ["Ada", "Barbara", "Grace", "Linus"] and state["connected"] == 4
                assert state["results"] == {"quicksort": 1, "mergesort": 2, "heapsort": 0}
                await screenshot(grace, tmp_path, "student-reloaded")

                # Ada's Wi-Fi drops; she changes her vote meanwhile: kept in the page, sent when she is back, once
                ada = pages["Ada"]
                cdp = await ada.context.new_cdp_session(ada)
                await cdp.send("Network.enable")
                await cdp.send("Network.emulateNetworkConditions", OFFLINE)
                await ada.wait_for_function("window.room.conn.status !== 'open'", timeout=15000)  # a heartbeat unanswered
                await ada.click("#activity button:has-text('heapsort')")
                assert await ada.inner_text("#note") == "Sending…"
                assert (await cell(k, READ))["results"] == {"quicksort": 1, "mergesort": 2, "heapsort": 0}
                await cdp.send("Network.emulateNetworkConditions", {**OFFLINE, "offline": False})
                await ada.wait_for_function(
                    "document.getElementById('note').textContent === 'Answer received ✓'", timeout=15000)
                await ada.wait_for_selector("#activity button.chosen:has-text('heapsort')", timeout=10000)
                state = await cell(k, READ)
                assert state["results"] == {"quicksort": 1, "mergesort": 1, "heapsort": 1}
                assert len(state["answers"]) == 3 and len(state["students"]) == 4  # replaced, not added

                # the instructor ends the class: every page says so (and stops reconnecting)
                await asyncio.to_thread(k.run, "room.close()")
                for page in [*pages.values(), barbara]:
                    await page.wait_for_function(
                        "document.getElementById('activity').textContent.includes('The class has ended')",
                        timeout=10000)
                    assert await page.evaluate("window.room.conn.status") == "closed"

        asyncio.run(asyncio.wait_for(main(), 150))
