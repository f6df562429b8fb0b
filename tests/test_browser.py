"""The browser helper end to end: real headless Chromium, real nbws servers."""

from __future__ import annotations

import asyncio
import re
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
conn.topic("ack", (d) => window.events.push(["ack", d]));
conn.on("binary", (b) => window.events.push(["binary", Array.from(new Uint8Array(b))]));
</script>"""

LIFECYCLE_PAGE = """<!doctype html><meta charset="utf-8"><title>lifecycle</title>
<script type="module">
import { connect, LIFECYCLE_EVENTS } from "./_nbws/nbws.js";
window.lifecycle = [];
window.topics = [];
window.legacy = [];
const conn = connect();
window.conn = conn;
for (const name of LIFECYCLE_EVENTS) {
  conn.on(name, (arg) => window.lifecycle.push([name, typeof arg === "string" ? arg : typeof arg]));
  conn.topic(name, (data) => window.topics.push([name, data]));
}
conn.topic("done", (data) => window.topics.push(["done", data]));
conn.on("legacy", (data) => window.legacy.push(data));   // the deprecated spelling of topic()
</script>"""

QUEUE_PAGE = """<!doctype html><meta charset="utf-8"><title>queue</title>
<script type="module">
import { connect, NbwsError } from "./_nbws/nbws.js";
window.outcomes = [];
window.track = (label, promise) => {  // returns nothing, so page.evaluate does not wait for the call
  promise.then(
    (value) => window.outcomes.push([label, "resolved", value]),
    (err) => window.outcomes.push([label, err.name, err.message, err instanceof NbwsError, err.call]));
};
window.conn = connect({ queueLimit: 2, backoffBase: 50, backoffMax: 200 });
window.closes = 0;
window.conn.on("close", () => { window.closes += 1; });
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

    @app.rpc("record")
    def record(data: Any) -> Any:
        log.append(["record", data])
        return data

    @app.on("binary")
    def binary(ws: nbws.WebSocket, data: bytes) -> None:
        ws.send(bytes(reversed(data)))

    app.route("/lifecycle")(lambda req: nbws.Response(200, LIFECYCLE_PAGE, content_type="text/html"))
    app.route("/queue")(lambda req: nbws.Response(200, QUEUE_PAGE, content_type="text/html"))
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
        assert b"LiveChart" not in body  # the connection module does not carry the chart
        status, headers, body = await http_request(server.port, path="/_nbws/chart.js")
        assert status == 200 and headers["content-type"].startswith("text/javascript")
        assert b"export function liveplot" in body and b'import { connect } from "./nbws.js";' in body
        status, _, body = await http_request(server.port, path="/_nbws/nbws.global.js")
        assert status == 200 and b"globalThis.nbws" in body and b"export " not in body
        assert b"liveplot" in body.split(b"globalThis.nbws = {")[1]  # classic pages get both

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


def test_classic_script_shows_a_live_plot() -> None:
    page_html = """<!doctype html><div id="plot" style="height:300px"></div>
<script src="/_nbws/nbws.global.js"></script>
<script>window.chart = nbws.liveplot(document.getElementById("plot"), {path: "live/classic/ws"});</script>"""
    app = nbws.App()
    app.route("/")(lambda req: nbws.Response(200, page_html, content_type="text/html"))

    async def main() -> None:
        server = nbws.start_server(app=app)
        plot = nbws.LivePlot("classic", series=["y"], server=server)
        plot.push_many(list(range(50)), [x * x for x in range(50)])
        assert plot.flush(10)
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(server.url)
            await wait_js(page, "window.chart && window.chart.count() === 50")
            assert await page.evaluate("window.chart.data(0).y.slice(0, 4)") == [0, 1, 4, 9]
            assert await page.evaluate("window.chart.names") == ["y"]  # the "meta" topic arrived

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
            await page.click("#send")
            await wait_js(page, "document.getElementById('log').textContent.includes('echo: typed in chromium')")
            shot = await page.screenshot()
            assert len(shot) > 1000

    run(main, timeout=60)


@pytest.mark.parametrize(("path", "declares"), [("/_nbws/nbws.d.ts", b"export function connect("),
                                                 ("/_nbws/chart.d.ts", b"export function liveplot(")])
def test_type_declarations_are_served(path: str, declares: bytes) -> None:
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "x"})
        status, _, body = await http_request(server.port, path=path)
        assert status == 200 and declares in body

    run(main)


def test_every_module_and_declaration_a_served_one_imports_is_served_too() -> None:
    """The chart's parts (./chart-math.js ...) and their declarations, followed
    from what pages import, each answered at its relative address."""
    async def main() -> None:
        server = nbws.start_server(app={"call": lambda req: "x"})
        seen: dict[str, bytes] = {}
        todo = ["nbws.js", "chart.js", "nbws.d.ts", "chart.d.ts"]
        while todo and len(seen) < 50:
            name = todo.pop()
            if name in seen:
                continue
            status, headers, body = await http_request(server.port, path="/_nbws/" + name)
            kind = "text/plain" if name.endswith(".d.ts") else "text/javascript"  # not the app's catch-all answer
            assert status == 200 and headers["content-type"].startswith(kind) and b"export " in body, name
            seen[name] = body
            for target in re.findall(rb'from "\./([\w.-]+)\.js"|import\("\./([\w.-]+)\.js"\)', body):
                stem = (target[0] or target[1]).decode()
                todo.append(stem + (".d.ts" if name.endswith(".d.ts") else ".js"))
        assert {"chart-math.js", "chart-view.js", "chart-draw.js", "chart-controls.js", "chart-touch.js",
                "chart-live.js", "chart-live.d.ts", "chart-math.d.ts"} <= set(seen)
        assert b"export class LiveChart" in seen["chart-live.js"]

    run(main)


def test_python_topics_named_like_lifecycle_events_reach_only_topic_handlers() -> None:
    async def main() -> None:
        server = nbws.start_server(app=make_app([]))
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(server.url + "lifecycle")
            await wait_js(page, "window.conn && window.conn.status === 'open'")
            assert await page.evaluate("window.lifecycle") == [["status", "open"], ["open", "undefined"]]
            for topic in ("status", "close", "open", "error", "message", "binary"):
                server.emit(topic, {"from": "python", "topic": topic})
            server.emit("legacy", 1)
            server.emit("done", True)
            await wait_js(page, "window.topics.some(t => t[0] === 'done')")
            assert await page.evaluate("window.topics") == [
                [t, {"from": "python", "topic": t}] for t in ("status", "close", "open", "error", "message", "binary")
            ] + [["done", True]]
            # no lifecycle listener fired, and the helper still thinks it is open
            assert await page.evaluate("window.lifecycle") == [["status", "open"], ["open", "undefined"]]
            assert await page.evaluate("conn.status") == "open"
            assert await page.evaluate("window.legacy") == [1]  # conn.on(topic) of older pages still works

    run(main, timeout=60)


def test_calls_dropped_from_the_offline_queue_or_closed_reject_with_named_errors() -> None:
    log: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=make_app(log))
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(server.url + "queue")
            await wait_js(page, "window.conn && window.conn.status === 'open'")
            server.stop()
            await wait_js(page, "window.conn.status === 'reconnecting'")
            # queueLimit 2: the third entry pushes out "a", the fourth "b"
            await page.evaluate("""for (const label of ["a", "b", "c"]) track(label, conn.call("record", label));
                                   conn.send("vote", "d")""")
            await wait_js(page, "window.outcomes.length === 2")
            full = "was dropped: the offline queue is full (queueLimit 2) while the connection is down"
            assert await page.evaluate("window.outcomes") == [
                ["a", "NbwsQueueFull", f"call record {full}; raise queueLimit or wait for status \"open\"", True, "record"],
                ["b", "NbwsQueueFull", f"call record {full}; raise queueLimit or wait for status \"open\"", True, "record"],
            ]
            assert await page.evaluate("[conn.dropped, conn.queue.length]") == [2, 2]
            await page.evaluate("conn.close(); track('late', conn.call('record', 'late'))")
            await wait_js(page, "window.outcomes.length === 4")
            closed = "was not sent: the connection is closed for good (conn.close() or reconnect: false)"
            assert (await page.evaluate("window.outcomes"))[2:] == [
                ["c", "NbwsClosed", f"call record {closed}", True, "record"],
                ["late", "NbwsClosed", f"call record {closed}", True, "record"],
            ]
            assert await page.evaluate("[conn.status, conn.queue.length]") == ["closed", 0]
        assert log == []

    run(main, timeout=60)


def test_queued_calls_survive_failed_reconnects_and_one_that_timed_out_is_never_sent() -> None:
    log: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=make_app(log))
        port = server.port
        async with chromium() as browser:
            page = await browser.new_page()
            await page.goto(server.url + "queue")
            await wait_js(page, "window.conn && window.conn.status === 'open'")
            server.stop()
            await wait_js(page, "window.conn.status === 'reconnecting'")
            await page.evaluate("track('early', conn.call('record', 'early', {timeout: 50}))")
            await wait_js(page, "window.outcomes.length === 1")
            assert await page.evaluate("window.outcomes") == [
                ["early", "NbwsTimeout", "call record timed out after 50 ms", True, "record"]]
            closes = await page.evaluate("track('after', conn.call('record', 'after')); window.closes")
            await wait_js(page, f"window.closes >= {closes + 2}")  # reconnect attempts failed meanwhile
            nbws.start_server(port=port, app=make_app(log))
            await wait_js(page, "window.outcomes.length === 2")
            outcomes = await page.evaluate("window.outcomes")
            assert outcomes[1] == ["after", "resolved", "after"], outcomes
            await page.evaluate("conn.close()")
        # handlers run in order on one loop: had "early" been sent, it would be logged first
        assert log == [["record", "after"]]

    run(main, timeout=60)
