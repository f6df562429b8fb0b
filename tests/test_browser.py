"""The browser helper end to end: real headless Chromium, real nbws servers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import nbws
from tests.browser import chromium
from tests.conftest import http_request, run

PAGE = """<!doctype html><meta charset="utf-8"><title>t</title>
<script type="module">
import { connect } from "./_nbws/nbws.js";
window.events = [];
const conn = connect({ backoffBase: 50, backoffMax: 200 });
window.conn = conn;
conn.on("status", (s) => window.events.push(["status", s]));
conn.on("ack", (d) => window.events.push(["ack", d]));
conn.on("binary", (b) => window.events.push(["binary", Array.from(new Uint8Array(b))]));
</script>"""


def make_app(log: list[Any]) -> nbws.App:
    app = nbws.App()
    app.route("/")(lambda req: nbws.Response(200, PAGE, content_type="text/html"))

    @app.on("vote")
    def vote(ws: nbws.WebSocket, data: Any) -> None:
        log.append(data)
        ws.emit("ack", {"got": data})

    @app.rpc("fit")
    def fit(data: Any) -> Any:
        if data["degree"] < 0:
            raise ValueError("degree must be >= 0")
        return [data["degree"]] * 3

    @app.rpc("slow_square")
    async def slow_square(data: Any) -> Any:
        await asyncio.sleep(0.01)
        return data * data

    @app.on("binary")
    def binary(ws: nbws.WebSocket, data: bytes) -> None:
        ws.send(bytes(reversed(data)))

    return app


async def wait_js(page: Any, expression: str, seconds: float = 10) -> None:
    await page.wait_for_function(expression, timeout=seconds * 1000)


def test_helper_is_served_by_every_server_with_caching_headers() -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "x"})
        status, headers, body = await http_request(server.port, path="/_nbws/nbws.js")
        assert status == 200 and headers["content-type"].startswith("text/javascript")
        assert b"export function connect" in body
        assert headers["cache-control"] == "no-cache" and headers["etag"]
        assert (await http_request(server.port, path="/_nbws/nbws.js", headers={"If-None-Match": headers["etag"]}))[0] == 304
        status, _, body = await http_request(server.port, path="/_nbws/nbws.global.js")
        assert status == 200 and b"globalThis.nbws" in body and b"export " not in body

    run(main)


def test_page_exchanges_topics_calls_and_binary_frames() -> None:
    log: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=make_app(log))
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(server.url)
            await wait_js(page, "window.conn && window.conn.status === 'open'")
            await page.evaluate("conn.send('vote', {answer: 3})")
            await wait_js(page, "window.events.some(e => e[0] === 'ack')")
            assert ["ack", {"got": {"answer": 3}}] in await page.evaluate("window.events")
            assert await page.evaluate("conn.call('fit', {degree: 2})") == [2, 2, 2]
            assert await page.evaluate("conn.call('slow_square', 12)") == 144
            error = await page.evaluate("conn.call('fit', {degree: -1}).then(() => 'resolved', e => e.message)")
            assert error == "ValueError: degree must be >= 0"
            missing = await page.evaluate("conn.call('nope').then(() => 'resolved', e => e.message)")
            assert "no rpc named 'nope'" in missing
            await page.evaluate("conn.sendBinary(new Uint8Array([1, 2, 3]).buffer)")
            await wait_js(page, "window.events.some(e => e[0] === 'binary')")
            assert ["binary", [3, 2, 1]] in await page.evaluate("window.events")
            server.emit("ack", "to everyone")
            await wait_js(page, "window.events.some(e => e[1] === 'to everyone')")
        assert log == [{"answer": 3}]

    run(main, timeout=60)


def test_page_survives_a_server_restart_and_flushes_its_queue() -> None:
    log: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=make_app(log))
        port = server.port
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(server.url)
            await wait_js(page, "window.conn && window.conn.status === 'open'")
            server.stop()
            await wait_js(page, "window.conn.status === 'reconnecting'")
            await page.evaluate("for (const n of [1, 2, 3]) conn.send('vote', n)")
            assert await page.evaluate("conn.queue.length") == 3
            nbws.start_server(port=port, app=make_app(log))
            await wait_js(page, "window.conn.status === 'open'")
            await wait_js(page, "window.events.filter(e => e[0] === 'ack').length === 3")
            statuses = [e[1] for e in await page.evaluate("window.events") if e[0] == "status"]
            assert statuses[:3] == ["open", "reconnecting", "open"]
            await page.evaluate("conn.close()")
            await wait_js(page, "window.conn.status === 'closed'")
        assert log == [1, 2, 3]

    run(main, timeout=60)


def test_foreign_origin_is_rejected() -> None:
    async def main() -> None:
        target = nbws.start_server(app=make_app([]))
        other = nbws.start_server(app={"call": lambda req: nbws.Response(200, "<title>other</title>",
                                                                          content_type="text/html")})
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(other.url)  # a page from another origin (another port)
            outcome = await page.evaluate("""url => new Promise(resolve => {
                const ws = new WebSocket(url);
                ws.onopen = () => resolve("open");
                ws.onclose = (ev) => resolve("closed " + ev.code);
            })""", target.ws_url + "_nbws/ws")
            assert outcome == "closed 1006"  # the handshake got 403: the browser never opens it
            same = await browser.new_page()
            await same.goto(target.url)
            await wait_js(same, "window.conn && window.conn.status === 'open'")

    run(main, timeout=60)


def test_classic_script_defines_global_nbws() -> None:
    page_html = """<!doctype html><script src="/_nbws/nbws.global.js"></script>
<script>window.conn = nbws.connect(); window.conn.on("ack", d => { window.acked = d; });</script>"""
    app = make_app([])
    app.route("/classic")(lambda req: nbws.Response(200, page_html, content_type="text/html"))

    async def main() -> None:
        server = nbws.start_server(app=app)
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(server.url + "classic")
            await wait_js(page, "window.conn && window.conn.status === 'open'")
            await page.evaluate("conn.send('vote', 'classic')")
            await wait_js(page, "window.acked !== undefined")
            assert await page.evaluate("window.acked") == {"got": "classic"}

    run(main, timeout=60)


def test_demo_page_echoes_through_the_helper() -> None:
    from nbws.__main__ import demo_app

    async def main() -> None:
        server = nbws.start_server(app=demo_app())
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(server.url)
            await wait_js(page, "document.getElementById('status').textContent === 'open'")
            await page.fill("#text", "typed in chromium")
            await page.click("button")
            await wait_js(page, "document.getElementById('log').textContent.includes('echo: typed in chromium')")
            shot = await page.screenshot()
            assert len(shot) > 1000

    run(main, timeout=60)


@pytest.mark.parametrize("path", ["/_nbws/nbws.d.ts"])
def test_type_declarations_are_served(path: str) -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "x"})
        status, _, body = await http_request(server.port, path=path)
        assert status == 200 and b"export function connect" in body

    run(main)
