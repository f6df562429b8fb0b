"""Pages that survive phones, in real headless Chromium against real nbws
servers: offline and back (CDP network emulation), frozen and resumed (CDP
page lifecycle), a server restarted on the same port, a silently dead socket
(a TCP proxy that stops forwarding), and a gap larger than the replay buffer.
Messages sent both ways meanwhile arrive exactly once and in order."""

from __future__ import annotations

import asyncio
from typing import Any

import nbws
from tests.browser import chromium
from tests.conftest import run, wait_for_condition

PAGE = """<!doctype html><meta charset="utf-8"><title>resume</title>
<script type="module">
import { connect } from "./_nbws/nbws.js";
const q = new URLSearchParams(location.search);
window.got = []; window.resyncs = []; window.closes = []; window.statuses = []; window.big = []; window.texts = [];
const conn = connect({ backoffBase: Number(q.get("base") || 50), backoffMax: Number(q.get("max") || 200),
  heartbeatInterval: Number(q.get("hb") || 15000), heartbeatTimeout: Number(q.get("hbt") || 10000) });
window.conn = conn;
conn.topic("n", (d) => window.got.push(d));
conn.topic("big", (d) => window.big.push(d[0]));
conn.on("message", (t) => window.texts.push(t));
conn.on("resync", (r) => window.resyncs.push(r));
conn.on("close", (ev) => window.closes.push([ev.code, ev.reason]));
conn.on("status", (s) => window.statuses.push(s));
window.sendRange = (a, b) => { for (let i = a; i < b; i++) conn.send("n", i); };
</script>"""

OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
ONLINE = {**OFFLINE, "offline": False}


def resume_app(got: list[Any]) -> nbws.App:
    app = nbws.App()
    app.route("/")(lambda req: nbws.Response(200, PAGE, content_type="text/html"))
    app.on("n")(lambda ws, data: got.append(data))
    return app


class Proxy:
    """A TCP proxy on 127.0.0.1 in front of a server: ``freeze()`` stops
    forwarding on the open connections (they stay open: a silently dead
    socket), ``drop()`` closes them, ``refuse`` closes new ones at once;
    ``rate`` (bytes per second) makes the link towards the page slow.
    Runs on the test's loop."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.frozen = False
        self.refuse = False
        self.rate: float | None = None
        self.pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self.flags: list[list[bool]] = []  # per connection: frozen for good
        self.tasks: set[asyncio.Task[None]] = set()
        self.server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.refuse:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        self.pairs.append((writer, up_writer))
        pair_frozen = [False]
        self.flags.append(pair_frozen)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            to_page = dst is writer
            try:
                while data := await src.read(16384 if to_page and self.rate else 65536):
                    if self.frozen or pair_frozen[0]:
                        pair_frozen[0] = True  # a frozen connection stays dead
                        continue
                    dst.write(data)
                    await dst.drain()
                    if to_page and self.rate:
                        await asyncio.sleep(len(data) / self.rate)  # the link's speed, not a synchronisation
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                if not pair_frozen[0]:
                    dst.close()

        for task in (pump(reader, up_writer), pump(up_reader, writer)):
            t = asyncio.ensure_future(task)
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    def freeze(self) -> None:
        """Stop forwarding on the connections open now, at once (bytes still
        on their way are swallowed too); new ones work after thaw_new()."""
        self.frozen = True
        for flag in self.flags:
            flag[0] = True

    def thaw_new(self) -> None:
        self.frozen = False

    def drop(self) -> None:
        for a, b in self.pairs:
            a.transport.abort()
            b.transport.abort()
        self.pairs.clear()

    async def stop(self) -> None:
        self.drop()
        if self.server is not None:
            self.server.close()
        for t in list(self.tasks):
            t.cancel()


async def open_page(browser: Any, url: str) -> Any:
    page = await browser.new_page()
    await page.goto(url)
    await page.wait_for_function("window.conn && conn.status === 'open'", timeout=10_000)
    return page


async def until(page: Any, expression: str, seconds: float = 10) -> None:
    await page.wait_for_function(expression, timeout=seconds * 1000)


def test_page_taken_offline_and_back_loses_nothing_and_gets_nothing_twice() -> None:
    """Chromium's offline emulation does not close an open WebSocket (checked
    with Chromium 156): it stalls it, both ways, like a phone whose radio
    went away. The page's heartbeat notices, gives the socket up and
    reconnects when the network is back; the session replays both ways."""
    got: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=resume_app(got))
        async with chromium() as browser:
            page = await open_page(browser, server.url + "?hb=300&hbt=500")
            await page.evaluate("sendRange(0, 50)")
            for i in range(50):
                server.emit("n", i)
            await until(page, "window.got.length === 50")
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("Network.enable")
            await cdp.send("Network.emulateNetworkConditions", OFFLINE)
            await page.evaluate("sendRange(50, 100)")
            for i in range(50, 100):
                server.emit("n", i)
            await until(page, "window.closes.some(c => c[1] === 'heartbeat timeout')")
            assert await page.evaluate("conn.status") == "reconnecting"
            await page.evaluate("sendRange(100, 150)")  # queued while away
            await cdp.send("Network.emulateNetworkConditions", ONLINE)
            await until(page, "conn.status === 'open' && window.got.length >= 100")
            await page.evaluate("sendRange(150, 200)")
            for i in range(100, 200):
                server.emit("n", i)
            await until(page, "window.got.length >= 200")
            await wait_for_condition(lambda: len(got) >= 200, timeout=10)
            assert await page.evaluate("window.got") == list(range(200))
            assert await page.evaluate("window.resyncs") == []
        assert got == list(range(200))

    run(main, timeout=90)


def test_page_frozen_and_resumed_loses_nothing_and_gets_nothing_twice() -> None:
    """CDP Page.setWebLifecycleState frozen, as a phone freezes a background
    tab; the socket is cut meanwhile (the proxy closes it), as a phone's OS
    does. On resume the page reconnects and both sides replay."""
    got: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=resume_app(got))
        proxy = Proxy(server.port)
        await proxy.start()
        try:
            async with chromium() as browser:
                page = await open_page(browser, f"http://127.0.0.1:{proxy.port}/")
                cdp = await page.context.new_cdp_session(page)
                await page.evaluate("sendRange(0, 50)")
                for i in range(50):
                    server.emit("n", i)
                await cdp.send("Page.setWebLifecycleState", {"state": "frozen"})
                proxy.drop()  # the socket dies while the page is frozen
                await wait_for_condition(lambda: server.sessions and not server.sessions[0].connected)
                for i in range(50, 100):
                    server.emit("n", i)  # kept for the replay
                await cdp.send("Page.setWebLifecycleState", {"state": "active"})
                await until(page, "conn.status === 'open' && window.statuses.includes('reconnecting')")
                await page.evaluate("sendRange(50, 100)")
                await until(page, "window.got.length >= 100")
                await wait_for_condition(lambda: len(got) >= 100, timeout=10)
                assert await page.evaluate("window.got") == list(range(100))
                assert await page.evaluate("window.resyncs") == []
                assert server.sessions[0].reconnects == 1
        finally:
            await proxy.stop()
        assert got == list(range(100))

    run(main, timeout=90)


def test_server_restarted_on_the_same_port_gets_the_page_messages_once() -> None:
    """A restarted server does not know the session: the page gets a
    "resync" ("unknown") and sends what the old server had not acknowledged
    (the old one acknowledged what it got before closing): each page message
    reaches one server, once, in order."""
    got_old: list[Any] = []
    got_new: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=resume_app(got_old))
        port = server.port
        async with chromium() as browser:
            page = await open_page(browser, server.url)
            for i in range(20):
                server.emit("n", i)
            await until(page, "window.got.length === 20")
            await page.evaluate("sendRange(0, 100)")
            await wait_for_condition(lambda: len(got_old) == 100)
            await page.evaluate("sendRange(100, 101)")
            await wait_for_condition(lambda: len(got_old) == 101)
            server.stop()  # before the periodic ack of the last one: the server acknowledges it as it closes
            await until(page, "conn.status === 'reconnecting'")
            await page.evaluate("sendRange(101, 150)")
            new = nbws.start_server(port=port, app=resume_app(got_new))
            await until(page, "conn.status === 'open'")
            await page.evaluate("sendRange(150, 200)")
            await wait_for_condition(lambda: len(got_old) + len(got_new) >= 200, timeout=10)
            for i in range(20, 40):
                new.emit("n", i)
            await until(page, "window.got.length >= 40")
            assert await page.evaluate("window.resyncs") == [{"reason": "unknown", "missed": None}]
            assert await page.evaluate("window.got") == list(range(40))
        assert got_old + got_new == list(range(200))
        assert got_new[-50:] == list(range(150, 200))

    run(main, timeout=90)


def test_heartbeat_gives_up_a_silently_dead_socket_and_the_session_resumes() -> None:
    """The proxy stops forwarding without closing (a NAT that forgot the
    connection, a sleeping Wi-Fi): TCP says nothing, so only the heartbeat
    can tell. The page gives the socket up within heartbeat interval +
    timeout and reconnects; what was sent meanwhile arrives once."""
    got: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=resume_app(got))
        proxy = Proxy(server.port)
        await proxy.start()
        try:
            async with chromium() as browser:
                page = await open_page(browser, f"http://127.0.0.1:{proxy.port}/?hb=200&hbt=400")
                await page.evaluate("sendRange(0, 20)")
                await wait_for_condition(lambda: len(got) == 20)
                proxy.freeze()
                loop = asyncio.get_running_loop()
                frozen_at = loop.time()
                await page.evaluate("sendRange(20, 40)")  # into the dead socket
                for i in range(20):
                    server.emit("n", i)
                proxy.thaw_new()  # new connections work; the frozen one stays dead
                await until(page, "window.closes.length === 1")
                detected = loop.time() - frozen_at
                assert await page.evaluate("window.closes") == [[1006, "heartbeat timeout"]]
                await until(page, "conn.status === 'open' && window.got.length >= 20")
                await wait_for_condition(lambda: len(got) >= 40, timeout=10)
                assert detected < 0.2 + 0.4 + 1.0
                assert await page.evaluate("window.got") == list(range(20))
        finally:
            await proxy.stop()
        assert got == list(range(40))

    run(main, timeout=90)


def test_resync_fires_when_the_page_missed_more_than_the_buffer() -> None:
    async def main() -> None:
        server = nbws.start_server(app=resume_app([]), session_buffer_messages=5)
        proxy = Proxy(server.port)
        await proxy.start()
        try:
            async with chromium() as browser:
                page = await open_page(browser, f"http://127.0.0.1:{proxy.port}/")
                server.emit("n", 0)
                await until(page, "window.got.length === 1")
                proxy.refuse = True  # the page stays away
                proxy.drop()
                await wait_for_condition(lambda: server.sessions and not server.sessions[0].connected)
                for i in range(1, 21):
                    server.emit("n", i)
                proxy.refuse = False
                await until(page, "conn.status === 'open' && window.got.length >= 6")
                assert await page.evaluate("window.resyncs") == [{"reason": "gap", "missed": 15}]
                assert await page.evaluate("window.got") == [0, 16, 17, 18, 19, 20]
        finally:
            await proxy.stop()

    run(main, timeout=60)


def test_coming_back_online_reconnects_at_once_despite_a_long_backoff() -> None:
    """With a 20 s backoff the next retry is 10-20 s away; the `online` event
    resets the backoff and reconnects now."""
    got: list[Any] = []

    async def main() -> None:
        server = nbws.start_server(app=resume_app(got))
        async with chromium() as browser:
            page = await open_page(browser, server.url + "?hb=200&hbt=300&base=20000&max=30000")
            cdp = await page.context.new_cdp_session(page)
            await cdp.send("Network.enable")
            await cdp.send("Network.emulateNetworkConditions", OFFLINE)
            await until(page, "conn.status === 'reconnecting'")
            await page.evaluate("sendRange(0, 10)")
            loop = asyncio.get_running_loop()
            back = loop.time()
            await cdp.send("Network.emulateNetworkConditions", ONLINE)
            await until(page, "conn.status === 'open'", seconds=8)
            assert loop.time() - back < 3.0
            await wait_for_condition(lambda: len(got) == 10)
        assert got == list(range(10))

    run(main, timeout=60)


def test_a_busy_socket_on_a_slow_link_is_not_taken_for_dead() -> None:
    """A large backlog crosses a slow link (the proxy forwards 500 kB/s
    towards the page): the heartbeat's answer waits behind it for longer
    than heartbeatTimeout, but every frame that arrives shows the socket is
    alive, so the page keeps it and gets everything without a reconnect."""
    async def main() -> None:
        server = nbws.start_server(app=resume_app([]))
        proxy = Proxy(server.port)
        await proxy.start()
        try:
            async with chromium() as browser:
                page = await open_page(browser, f"http://127.0.0.1:{proxy.port}/?hb=200&hbt=500")
                proxy.rate = 500_000
                blob = "x" * 10_000
                for i in range(150):  # 1.5 MB: 3 s on this link
                    server.emit("big", [i, blob])
                await until(page, "window.big.length === 150", seconds=30)
                assert await page.evaluate("window.big") == list(range(150))
                assert await page.evaluate("window.closes") == []
                assert "reconnecting" not in await page.evaluate("window.statuses")
        finally:
            await proxy.stop()

    run(main, timeout=90)


def test_an_apps_own_ack_text_goes_both_ways_on_a_session() -> None:
    """The session protocol's messages begin with {"nbws":; an app's own
    {"ack": 5} is the app's text, not an acknowledgement, in either direction."""
    got: list[Any] = []

    async def main() -> None:
        app = resume_app(got)
        app.on("message")(lambda ws, text: ws.send(text))  # echo the page's plain text
        server = nbws.start_server(app=app)
        async with chromium() as browser:
            page = await open_page(browser, server.url)
            await page.evaluate("""conn.sendText('{"ack":5}'); conn.sendText('{"hb":1,"ack":0}');
                                   conn.sendText('{"welcome":"x"}'); conn.send("n", 1)""")
            await until(page, "window.texts.length === 3")
            assert await page.evaluate("window.texts") == ['{"ack":5}', '{"hb":1,"ack":0}', '{"welcome":"x"}']
            await wait_for_condition(lambda: got == [1])
            assert await page.evaluate("conn.status") == "open"

    run(main, timeout=60)
