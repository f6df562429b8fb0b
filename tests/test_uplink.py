"""A kernel dialing out to ``nbws relay`` (``backplane="nbws+ws://..."``), with
no Redis anywhere: real processes on loopback — the kernel (a plain
publisher process, tests/relay_kernel.py) and ``python -m nbws relay`` — and
pages speaking nbws.js's session protocol (tests/relay_pages.py).

Pages on the relay get the kernel's emits, broadcasts, a plot's frames and
history, a channel's values (a late page the latest); their answers reach the
kernel's handler exactly once; a wrong or missing secret is refused and
publishes nothing; a restarted relay is dialed again by the kernel and
delivery resumes, losing what the README says; a killed kernel's pages are
closed (1012) and resume on the next kernel."""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import nbws
from nbws.backplane.link import REFUSED, THROTTLED, UPLINK_PATH, kernel_proof
from nbws.relay import relay_stats, start_relay
from tests.conftest import http_request, run
from tests.relay_pages import Kernel, Page, Relay
from tests.test_relay_processes import command, open_pages, stats_until, until, xs

PAGES = 50
APP = "up" + secrets.token_hex(4)


def dial(relay: Relay) -> str:
    return f"nbws+ws://127.0.0.1:{relay.port}/"


async def served(relay: Relay, path: str) -> bytes:
    """``path``'s body once the relay serves it (the kernel's announcement arrived; bounded)."""
    for _ in range(300):
        status, _, body = await http_request(relay.port, path=path)
        if status == 200:
            return body
        await asyncio.sleep(0.05)
    raise AssertionError(f"the relay never served {path}")


@pytest.fixture(scope="module")
def dialed() -> Iterator[tuple[Kernel, Relay]]:
    """A relay without Redis and a kernel dialing out to it."""
    relay = Relay(APP, "memory")
    try:
        kernel = Kernel(APP, dial(relay))
    except BaseException:
        relay.stop()
        raise
    try:
        yield kernel, relay
    finally:
        kernel.stop()
        relay.stop()


def test_pages_on_the_relay_get_emits_and_broadcasts_and_their_answers_reach_the_kernel_once(
        dialed: tuple[Kernel, Relay]) -> None:
    kernel, relay = dialed

    async def main() -> None:
        pages = await open_pages([relay.url], PAGES)
        try:
            await command(kernel, "emit 20 a")
            await command(kernel, "broadcast hello-all")
            await until(lambda: all(len(p.topic("m")) >= 20 and "hello-all" in p.plain for p in pages), "the emits",
                        pages=pages)
            for p in pages:
                assert [d["i"] for d in p.topic("m") if d["p"] == "a"] == list(range(20))
                assert p.plain.count("hello-all") == 1 and p.repeats == 0 and p.resyncs == []
            for k, p in enumerate(pages):
                await p.send("answer", {"id": f"a-{k}"})
            await until(lambda: all(p.plain_topic("thanks") for p in pages), "the kernel's thanks", pages=pages)
            stats = await stats_until(kernel, lambda s: s["answers"] >= PAGES, "the answers")
            assert stats["answers"] == stats["unique"] == PAGES, stats
            assert stats["stats"]["kind"] == "uplink" and stats["stats"]["dropped"] == 0
        finally:
            await asyncio.gather(*(p.close() for p in pages))

    run(main, 120)


def test_a_plot_and_a_channel_reach_pages_on_the_relay_and_late_pages_get_history_and_latest(
        dialed: tuple[Kernel, Relay]) -> None:
    kernel, relay = dialed

    async def main() -> None:
        await command(kernel, "plot 1 10")
        await command(kernel, "channel first")
        assert b"liveplot" in await served(relay, "/live/loss/")
        base = relay.url.replace("http", "ws")
        async with connect(base + "live/loss/ws", max_size=None) as plot, \
                connect(base + "_nbws/channel/temp") as channel:
            assert '"meta"' in str(await asyncio.wait_for(plot.recv(), 10))
            assert xs(bytes(await asyncio.wait_for(plot.recv(), 10))) == [1.0]  # the kernel's history
            assert await asyncio.wait_for(channel.recv(), 10) == "first"  # the latest value, to a late page
            await command(kernel, "plot 2 20")
            await command(kernel, "channel second")
            assert xs(bytes(await asyncio.wait_for(plot.recv(), 10))) == [2.0]
            assert await asyncio.wait_for(channel.recv(), 10) == "second"

    run(main, 60)


def test_a_wrong_or_missing_secret_is_refused_and_publishes_nothing(dialed: tuple[Kernel, Relay]) -> None:
    kernel, relay = dialed

    async def main() -> None:
        page = Page()
        await page.open(relay.url)
        try:
            uplink = relay.url.replace("http", "ws").rstrip("/") + UPLINK_PATH
            async with connect(uplink) as ws:
                challenge = json.loads(await asyncio.wait_for(ws.recv(), 10))
                proof = kernel_proof("not-the-secret", challenge["app"], "intruder", challenge["challenge"])
                await ws.send(json.dumps({"app": challenge["app"], "node": "intruder", "nonce": "n", "proof": proof}))
                await ws.send(b"P" + b"NBBP1" + json.dumps(["intruder", 1, "b", "", 1]).encode() + b"\nspoofed")
                with pytest.raises(ConnectionClosed):
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                assert ws.close_code == REFUSED and "wrong publisher secret" in (ws.close_reason or "")
            async with connect(uplink) as ws:  # no answer at all, only a frame
                await ws.recv()
                await ws.send(b"P" + b"NBBP1" + json.dumps(["intruder", 2, "b", "", 1]).encode() + b"\nspoofed")
                with pytest.raises(ConnectionClosed):
                    while True:
                        await asyncio.wait_for(ws.recv(), 10)
                assert ws.close_code == REFUSED
            await command(kernel, "broadcast still-here")
            await until(lambda: "still-here" in page.plain, "the real kernel's broadcast")
            assert "spoofed" not in page.plain
            # a kernel with another secret does not start; one with none is told what to pass
            with pytest.raises(nbws.BackplaneUnavailableError, match="wrong publisher secret"):
                nbws.start_server(app=nbws.App(), app_name=APP, backplane=dial(relay),
                                  relay_secret="not-the-secret")
            with pytest.raises(ValueError, match="relay_secret"):
                nbws.start_server(app=nbws.App(), app_name="x", backplane=dial(relay))
        finally:
            await page.close()

    run(main, 60)


def test_failed_attempts_are_throttled_and_a_relay_without_a_secret_accepts_none() -> None:
    async def main() -> None:
        relay = start_relay("nosecret" + secrets.token_hex(3), "memory", ping_interval=None)
        guarded = start_relay("guarded" + secrets.token_hex(3), "memory", ping_interval=None, relay_secret="k")
        try:
            async with connect(relay.ws_url + UPLINK_PATH[1:]) as ws:
                with pytest.raises(ConnectionClosed):
                    await asyncio.wait_for(ws.recv(), 10)
                assert ws.close_code == REFUSED and "no publisher secret" in (ws.close_reason or "")
            codes = []
            for _ in range(7):
                async with connect(guarded.ws_url + UPLINK_PATH[1:]) as ws:
                    try:
                        await asyncio.wait_for(ws.recv(), 10)
                        await ws.send(json.dumps({"app": "a", "node": "n", "nonce": "n", "proof": "0" * 64}))
                        await asyncio.wait_for(ws.recv(), 10)
                    except ConnectionClosed:
                        pass
                    codes.append(ws.close_code)
            assert codes == [REFUSED] * 5 + [THROTTLED] * 2
            assert relay_stats(guarded)["uplinks_refused"] == 7 and not relay_stats(guarded)["uplink"]
        finally:
            relay.stop()
            guarded.stop()

    run(main, 60)


def test_a_restarted_relay_is_dialed_again_and_delivery_resumes() -> None:
    app = "uprestart" + secrets.token_hex(4)
    relay = Relay(app, "memory")
    port = relay.port
    kernel = Kernel(app, dial(relay))
    try:
        async def main() -> None:
            nonlocal relay
            pages = await open_pages([relay.url], 20)
            try:
                await command(kernel, "emit 10 before")
                await until(lambda: all(len(p.topic("m")) == 10 for p in pages), "the first emits", pages=pages)
                relay.kill()
                await until(lambda: all(p.ws is None for p in pages), "the pages to notice", pages=pages)
                await command(kernel, "emit 5 down")  # waits in the kernel (backplane_buffer_messages)
                for k, p in enumerate(pages):
                    await p.send("answer", {"id": f"down-{k}"})  # waits in the pages (unacknowledged)
                relay = Relay(app, "memory", port=port)
                await asyncio.gather(*(p.reopen(relay.url) for p in pages))
                await command(kernel, "emit 1 after")
                await until(lambda: all("after" in [d["p"] for d in p.topic("m")] for p in pages), "the recovery",
                            pages=pages)
                for p in pages:
                    # what the kernel emitted while the relay was down arrives, once, in order; the relay's log
                    # restarted with it, and the page was told so once
                    assert [d["i"] for d in p.topic("m") if d["p"] == "down"] == list(range(5))
                    assert p.resyncs == [("unknown", None)]
                stats = await stats_until(kernel, lambda s: s["answers"] >= 20, "the answers sent while down")
                assert stats["answers"] == stats["unique"] == 20, stats
                assert stats["stats"]["reconnects"] >= 1 and stats["stats"]["connected"]
                assert stats["stats"]["dropped"] == 0
            finally:
                await asyncio.gather(*(p.close() for p in pages))

        run(main, 120)
    finally:
        kernel.stop()
        relay.stop()


def test_a_page_away_across_a_relay_restart_back_after_the_new_log_grew_past_its_number_is_told() -> None:
    """The relay's log restarts with the relay (its memory); the kernel learns the new log's epoch from
    its appends. A page away meanwhile (number 10) that returns once the new log has 30 entries must not
    take them as the old log's continuation: told (``resync`` "unknown"), given the new log from its start."""
    app = "upepoch" + secrets.token_hex(4)
    relay = Relay(app, "memory")
    port = relay.port
    kernel = Kernel(app, dial(relay))
    try:
        async def main() -> None:
            nonlocal relay
            pages = await open_pages([relay.url], 5)
            try:
                await command(kernel, "emit 10 old")
                await until(lambda: all(len(p.topic("m")) == 10 for p in pages), "the first emits", pages=pages)
                for p in pages:  # away (a closed laptop): each keeps its session and number (10)
                    await p.close()
                relay.kill()
                relay = Relay(app, "memory", port=port)
                await stats_until(kernel, lambda s: s["stats"]["reconnects"] >= 1 and s["stats"]["connected"],
                                  "the uplink to the new relay")
                await command(kernel, "emit 30 new")  # the new log grows to 30, past the pages' 10
                await stats_until(kernel, lambda s: s["kernel"]["emits_waiting"] == 0, "the new log's 30 emits")
                await asyncio.gather(*(p.reopen(relay.url) for p in pages))
                await until(lambda: all({"p": "new", "i": 29} in p.topic("m") for p in pages), "the new log's end",
                            pages=pages)
                for p in pages:
                    assert p.resyncs == [("unknown", None)], "told that the log it knew is gone"
                    assert [d["i"] for d in p.topic("m") if d["p"] == "new"] == list(range(30))
                    assert p.repeats == 0
            finally:
                await asyncio.gather(*(p.close() for p in pages))

        run(main, 120)
    finally:
        kernel.stop()
        relay.stop()


def test_a_killed_kernels_pages_are_closed_and_resume_on_the_next_kernel() -> None:
    app = "upkill" + secrets.token_hex(4)
    relay = Relay(app, "memory")
    kernel = Kernel(app, dial(relay))
    try:
        async def main() -> None:
            nonlocal kernel
            pages = await open_pages([relay.url], 10)
            await served(relay, "/live/loss/")
            plot = await connect(relay.url.replace("http", "ws") + "live/loss/ws", max_size=None)
            try:
                await command(kernel, "emit 3 first")
                await until(lambda: all(len(p.topic("m")) == 3 for p in pages), "the first emits", pages=pages)
                kernel.process.kill()
                kernel.process.wait(10)
                await until(lambda: all(p.ws is None for p in pages), "the pages to be closed", 30, pages)
                assert all(p.close_codes == [1012] for p in pages), [p.close_codes for p in pages]
                assert plot.close_code is None, "plot sockets stay open"
                kernel = Kernel(app, dial(relay))
                await asyncio.gather(*(p.reopen(relay.url) for p in pages))
                await command(kernel, "emit 2 second")
                for k, p in enumerate(pages):
                    await p.send("answer", {"id": f"k-{k}"})
                await until(lambda: all(len(p.topic("m")) == 5 for p in pages), "the next kernel's emits",
                            pages=pages)
                for p in pages:  # the relay's log outlived the kernel: resumed, nothing missed, none twice
                    assert [d["p"] for d in p.topic("m")] == ["first"] * 3 + ["second"] * 2
                    assert p.resyncs == [] and p.repeats == 0
                stats = await stats_until(kernel, lambda s: s["answers"] >= 10, "the answers")
                assert stats["answers"] == stats["unique"] == 10, stats
            finally:
                await plot.close()
                await asyncio.gather(*(p.close() for p in pages))

        run(main, 120)
    finally:
        kernel.stop()
        relay.stop()


def test_the_buffer_keeps_the_newest_while_the_relay_is_away_and_counts_the_rest() -> None:
    async def main() -> None:
        app = "upbuf" + secrets.token_hex(3)
        relay = start_relay(app, "memory", ping_interval=None, relay_secret="k")
        port = relay.port
        server = nbws.start_server(app=nbws.App(), app_name=app, backplane=f"nbws+ws://127.0.0.1:{port}/",
                                   relay_secret="k", ping_interval=None, backplane_buffer_messages=10)
        try:
            relay.stop()
            await until(lambda: not server.backplane_stats().connected, "the kernel to notice")
            for i in range(25):
                server.broadcast(f"b{i}")  # never blocks, never raises
            await until(lambda: server.backplane_stats().published == 25, "the broadcasts to reach the I/O thread")
            stats = server.backplane_stats()
            assert (stats.buffered, stats.dropped) == (10, 15)
            relay = start_relay(app, "memory", port=port, ping_interval=None, relay_secret="k")
            async with connect(relay.ws_url + "_nbws/ws") as ws:  # a plain page, back before the buffer is sent
                got: list[Any] = []
                while "b24" not in got:
                    got.append(await asyncio.wait_for(ws.recv(), 20))
            # the newest, in order (publishes made while the buffer waited for the pages push out the oldest
            # too); every broadcast missing is counted in dropped
            first = 25 - len(got)
            assert got == [f"b{i}" for i in range(first, 25)] and first >= 15
            await until(lambda: server.backplane_stats().buffered == 0, "the relay to acknowledge them")
            stats = server.backplane_stats()
            assert stats.connected and stats.reconnects == 1 and stats.dropped == first
        finally:
            server.stop()
            relay.stop()

    run(main, 60)
