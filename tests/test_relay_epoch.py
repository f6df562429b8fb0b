"""The emit log's epoch (Centrifugo's offset + epoch), with a real Redis restart.

A page away while Redis restarts without persistence, that comes back only
after the new log has grown past its own number, must not take the new log's
entries as the continuation of the old one: its session's epoch is not the
log's, so it is told (``resync``, reason ``"unknown"``) and starts over with
the new log. Processes as tests/test_relay_processes.py: the app's kernel
(tests/relay_kernel.py), an ``nbws relay`` command, pages speaking nbws.js's
session protocol (tests/relay_pages.py)."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from tests.brokers import RedisServer, redis_available
from tests.conftest import run
from tests.relay_pages import Kernel, Relay
from tests.test_relay_processes import command, open_pages, stats_until, until

pytestmark = pytest.mark.skipif(not redis_available(), reason="needs redis-server and redis-py")


def test_a_page_back_after_the_new_log_grew_past_its_number_is_told() -> None:
    app = "epoch" + secrets.token_hex(4)
    with RedisServer() as redis:
        kernel = Kernel(app, redis.url)
        relays: list[Relay] = []
        try:
            relays = [Relay(app, redis.url)]

            async def main() -> None:
                pages = await open_pages([relays[0].url], 5)
                try:
                    await command(kernel, "emit 10 old")
                    await until(lambda: all(len(p.topic("m")) == 10 for p in pages), "the first emits", pages=pages)
                    for p in pages:  # away (a closed laptop): each keeps its session and number (10)
                        await p.close()
                    redis.stop()
                    await asyncio.to_thread(redis.start)
                    await command(kernel, "emit 30 new")  # the new log grows to 30, past the pages' 10
                    await stats_until(kernel, lambda s: s["kernel"]["emits_waiting"] == 0, "the new log's 30 emits")
                    await asyncio.gather(*(p.reopen(p.url) for p in pages))
                    await until(lambda: all({"p": "new", "i": 29} in p.topic("m") for p in pages), "the new log's end",
                                pages=pages)
                    for p in pages:
                        assert p.resyncs == [("unknown", None)], "told that the log it knew is gone"
                        # and given the new log from its start, in order, once (not from its old number on)
                        assert [d["i"] for d in p.topic("m") if d["p"] == "new"] == list(range(30))
                        assert p.repeats == 0
                finally:
                    await asyncio.gather(*(p.close() for p in pages))

            run(main, 120)
        finally:
            for relay in relays:
                relay.stop()
            kernel.stop()
