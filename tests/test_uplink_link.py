"""The uplink's link in one process: a relay (``nbws.relay.start_relay``,
no Redis), a kernel dialing out to it (``backplane="nbws+ws://..."``), and
pages on the relay; a TCP proxy between kernel and relay (the Proxy of
tests/test_resume_browser.py) cuts the uplink while the relay stays up.

What the kernel sends to one relay is numbered apart from what it publishes,
so the app's other relays count no loss; a cut uplink is dialed again and the
kernel sends again from the last number the relay has (every broadcast and
emit once, in order); what a relay that died had taken unacknowledged is
counted in ``backplane_stats().unconfirmed``."""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

import nbws
from nbws.relay import relay_stats, start_relay
from nbws.relay.wire import EMIT_LOG
from tests.conftest import run
from tests.relay_pages import Page
from tests.test_relay_processes import until
from tests.test_resume_browser import Proxy

SECRET = "k"


class Cutter:
    """The Proxy (tests/test_resume_browser.py) between a kernel and its relay, on its own thread and
    loop: ``nbws.start_server`` holds the test's loop while the kernel dials through it. Every call
    returns once the proxy did it."""

    def __init__(self, target: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="test-proxy", daemon=True)
        self.thread.start()
        self.proxy = Proxy(target)
        self._run(self.proxy.start())
        self.port = self.proxy.port

    def _run(self, coro: Coroutine[Any, Any, None]) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(10)

    def _do(self, action: Callable[[], None]) -> None:
        async def act() -> None:
            action()
        self._run(act())

    def freeze(self) -> None:
        """The uplink goes silent both ways (bytes on their way are swallowed); new connections wait."""
        self._do(self.proxy.freeze)

    def cut(self) -> None:
        """Close the frozen connections (both ends see it); new ones go through."""
        self._do(self.proxy.thaw_new)
        self._do(self.proxy.drop)

    def stop(self) -> None:
        self._run(self.proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def kernel(app_name: str, port: int, app: nbws.App | None = None) -> nbws.Server:
    """A kernel dialing out to the relay (or the proxy) on ``port``."""
    return nbws.start_server(app=app or nbws.App(), app_name=app_name, backplane=f"nbws+ws://127.0.0.1:{port}/",
                             relay_secret=SECRET, ping_interval=None)


async def read_until(ws: ClientConnection, want: str, got: list[Any]) -> None:
    """Read a plain page's socket into ``got`` until ``want`` arrives (bounded)."""
    async with asyncio.timeout(20):
        while want not in got:
            got.append(await ws.recv())


def test_messages_to_one_relay_are_not_counted_missed_by_the_apps_other_relays() -> None:
    """The kernel's replies to a page on relay A go to A alone; relay B, in the same app, hears the
    kernel's broadcasts and counts no gap (each relay counts only its own losses)."""
    async def main() -> None:
        name = "uplinkdirect" + secrets.token_hex(3)
        app = nbws.App()
        app.on("answer")(lambda ws, data: ws.emit("thanks", data["id"]))
        relay_a = start_relay(name, "memory", ping_interval=None, relay_secret=SECRET)
        relay_b = start_relay(name, "memory", ping_interval=None)  # this process: the same in-memory app
        server = kernel(name, relay_a.port, app)
        page = Page()
        try:
            got: list[Any] = []
            async with connect(relay_b.ws_url + "_nbws/ws") as ws:
                server.broadcast("before")  # relay B hears the kernel
                await read_until(ws, "before", got)
                await page.open(relay_a.local_url)
                for k in range(5):
                    await page.send("answer", {"id": k})
                await until(lambda: len(page.plain_topic("thanks")) == 5, "the kernel's replies to the page")
                server.broadcast("after")
                await read_until(ws, "after", got)
            assert sorted(page.plain_topic("thanks")) == list(range(5))
            for stats in (relay_b.backplane_stats(), relay_a.backplane_stats(), server.backplane_stats()):
                assert stats.missed == 0, stats
            assert relay_b.backplane_stats().received > 0
        finally:
            await page.close()
            server.stop()
            relay_b.stop()
            relay_a.stop()

    run(main, 60)


def test_a_cut_uplink_is_dialed_again_and_sends_from_the_last_number_the_relay_has() -> None:
    async def main() -> None:
        name = "uplinkcut" + secrets.token_hex(3)
        relay = start_relay(name, "memory", ping_interval=None, relay_secret=SECRET)
        proxy = Cutter(relay.port)
        server = kernel(name, proxy.port)
        page = Page()
        try:
            await page.open(relay.local_url)
            for i in range(5):
                server.broadcast(f"a{i}")
                server.emit("m", f"a{i}")
            await until(lambda: "a4" in page.plain and page.topic("m")[-1:] == ["a4"], "the first messages")
            await until(lambda: server.backplane_stats().buffered == 0, "the relay to acknowledge them")
            before = server.backplane_stats().published
            proxy.freeze()  # the uplink goes silent both ways: what the kernel writes now is lost on the way
            for i in range(5):
                server.broadcast(f"b{i}")
                server.emit("m", f"b{i}")
            await until(lambda: server.backplane_stats().published >= before + 5, "the broadcasts to be written")
            assert "b0" not in page.plain
            proxy.cut()  # both ends see the socket close; the relay stays up
            await until(lambda: server.backplane_stats().reconnects == 1 and server.backplane_stats().connected,
                        "the kernel to dial again")
            server.broadcast("c0")
            server.emit("m", "c0")
            await until(lambda: "c0" in page.plain and page.topic("m")[-1:] == ["c0"], "the messages after the cut")
            expected = [f"a{i}" for i in range(5)] + [f"b{i}" for i in range(5)] + ["c0"]
            assert [m for m in page.plain if isinstance(m, str) and m[:1] in "abc"] == expected  # once, in order
            assert page.topic("m") == expected and page.repeats == 0 and page.resyncs == []
            assert page.ws is not None, "the page stayed connected"
            await until(lambda: server.backplane_stats().buffered == 0, "the relay to acknowledge the rest")
            stats = server.backplane_stats()
            assert (stats.dropped, stats.unconfirmed, stats.missed) == (0, 0, 0), stats
        finally:
            await page.close()
            server.stop()
            proxy.stop()
            relay.stop()

    run(main, 60)


def test_what_a_dead_relay_took_unacknowledged_is_counted_unconfirmed() -> None:
    async def main() -> None:
        name = "uplinkdead" + secrets.token_hex(3)
        relay = start_relay(name, "memory", ping_interval=None, relay_secret=SECRET)
        port = relay.port
        proxy = Cutter(port)
        server = kernel(name, proxy.port)
        try:
            async with connect(relay.ws_url + "_nbws/ws") as ws:
                server.broadcast("ready")
                await read_until(ws, "ready", [])
            await until(lambda: server.backplane_stats().buffered == 0, "the relay to acknowledge it")
            before = server.backplane_stats().published
            proxy.freeze()
            for i in range(3):
                server.broadcast(f"lost{i}")
            await until(lambda: server.backplane_stats().published >= before + 3, "the broadcasts to be written")
            relay.stop()  # the relay dies with the three written to it and not acknowledged
            relay = start_relay(name, "memory", port=port, ping_interval=None, relay_secret=SECRET)
            proxy.cut()
            await until(lambda: server.backplane_stats().reconnects == 1 and server.backplane_stats().connected,
                        "the kernel to dial the new relay")
            await until(lambda: server.backplane_stats().buffered == 0, "the buffer to empty")
            stats = server.backplane_stats()
            assert (stats.unconfirmed, stats.dropped) == (3, 0), stats
            other = nbws.start_server(app=nbws.App())
            try:
                assert other.backplane_stats().unconfirmed == 0  # the field, on a backplane without an uplink
            finally:
                other.stop()
        finally:
            server.stop()
            proxy.stop()
            relay.stop()

    run(main, 60)


def test_the_kernel_learns_the_relays_log_epoch_over_the_uplink() -> None:
    """``append_with_epoch`` and ``read`` over the uplink carry the relay's log epoch (the one the relay
    numbers its pages' sessions with), so the kernel announces a new log to relays as over Redis."""
    async def main() -> None:
        name = "uplinkepoch" + secrets.token_hex(3)
        relay = start_relay(name, "memory", ping_interval=None, relay_secret=SECRET)
        server = kernel(name, relay.port)
        try:
            io, uplink = server._endpoint.io, server._endpoint.router.backplane  # type: ignore[union-attr]
            first, epoch = io.run(uplink.append_with_epoch("uplink-test", b"x"), 10)
            found = io.run(uplink.read("uplink-test", "0-0", 10), 10)
            assert first == "0-1" and len(epoch) >= 12 and found.epoch == epoch
            assert [e.payload for e in found.entries] == [b"x"]
            emit_log = io.run(uplink.read(EMIT_LOG, "0-0", 10), 10)
            assert emit_log.epoch == relay_stats(relay)["epoch"], "the relay's sessions carry the same epoch"
        finally:
            server.stop()
            relay.stop()

    run(main, 60)
