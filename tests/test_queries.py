"""A plot's view queries on the I/O thread (nbws/live/queries.py): smoothing
ten million points with a new weight is done in slices, so the I/O thread
answers other sockets meanwhile, and a newer query takes the place of one
still being smoothed."""

from __future__ import annotations

import asyncio
import json
import time

import numpy
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

import nbws
from nbws.live.frames import VIEW_HEADER, VIEW_SMOOTHED, decode_chunks
from nbws.live.smooth import ema
from tests.conftest import run

N = 10_000_000


def ten_million(server: nbws.Server, name: str) -> tuple[nbws.LivePlot, numpy.ndarray]:
    ys = numpy.random.default_rng(18).standard_normal(N)
    plot = nbws.LivePlot(name, server=server, max_points=N)
    plot.push_many(numpy.arange(N, dtype=numpy.float64), ys)
    assert plot.flush(120)
    return plot, ys


async def answers(ws: object, count: int, seconds: float) -> list[list[object]]:
    """The next ``count`` view answers on ``ws`` (live frames skipped; bounded)."""
    found: list[list[object]] = []
    deadline = time.monotonic() + seconds
    while len(found) < count:
        message = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))  # type: ignore[attr-defined]
        if isinstance(message, bytes):
            chunks = decode_chunks(message)
            if chunks[0][0] == VIEW_HEADER:
                found.append(chunks)
    return found


def test_smoothing_ten_million_points_leaves_other_sockets_answered() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            _, ys = ten_million(server, "stall")
            async with ws_connect(server.ws_url + "live/stall/ws", max_size=None) as page, \
                    ws_connect(server.ws_url + "live/stall/ws", max_size=None) as other:
                for ws in (page, other):  # both sockets open and served (the first pong comes late)
                    await asyncio.wait_for(await ws.ping(), 30)
                await page.send(json.dumps({"view": {"id": 1, "x0": 0, "x1": N - 1, "width": 1000, "smooth": 0.9}}))
                t0 = time.monotonic()
                answer = asyncio.ensure_future(answers(page, 1, 60))
                waits = []  # the other socket's pings, answered by the I/O thread, while the page waits
                while not answer.done() and time.monotonic() - t0 < 60:
                    t1 = time.monotonic()
                    await asyncio.wait_for(await other.ping(), 10)
                    waits.append(time.monotonic() - t1)
                (chunks,) = await answer
                took = time.monotonic() - t0
            _, last, count = ema(ys, 0.9)
            assert chunks[0][2][4:] == [0.0, float(N), pytest.approx(last, rel=1e-9), count]
            assert [kind for kind, _, _, _ in chunks[1:]] == [1, VIEW_SMOOTHED]
            # answered many times over while the smoothing ran, never held up for long
            assert len(waits) >= 5, (waits, took)
            assert max(waits) < max(0.1, took / 4), (max(waits), took)
        finally:
            server.stop()

    run(main, 120)


def test_a_newer_query_takes_the_place_of_one_being_smoothed() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            ten_million(server, "newer")
            async with ws_connect(server.ws_url + "live/newer/ws", max_size=None) as page:
                await page.send(json.dumps({"view": {"id": 1, "x0": 0, "x1": N - 1, "width": 500, "smooth": 0.5}}))
                await asyncio.wait_for(await page.ping(), 30)  # the first query is read: being smoothed
                await page.send(json.dumps({"view": {"id": 2, "x0": 5, "x1": 9, "width": 500, "smooth": 0.5}}))
                (chunks,) = await answers(page, 1, 60)
                assert chunks[0][2][0] == 2.0  # the first was never answered
                assert chunks[2][2] == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
                await page.send(json.dumps({"view": {"id": 3, "x0": 5, "x1": 9, "width": 500, "smooth": 0.5}}))
                (chunks,) = await answers(page, 1, 60)
                assert chunks[0][2][0] == 3.0
        finally:
            server.stop()

    run(main, 120)


@pytest.mark.parametrize("message", [
    '{"view": {"id": 1, "x0": 1' + "0" * 400 + ', "x1": 2, "width": 10}}',  # an integer no float holds
    "[" * 1000,  # nested past the JSON parser's recursion limit
])
def test_a_query_too_big_for_floats_or_too_deep_closes_with_1008_and_no_traceback(
        message: str, caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            nbws.LivePlot("deep", server=server)
            async with ws_connect(server.ws_url + "live/deep/ws") as ws:
                await ws.send(message)
                with pytest.raises(ConnectionClosed) as closed:
                    for _ in range(10):
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
                assert closed.value.rcvd.reason
        finally:
            server.stop()

    run(main, 60)
    assert "Traceback" not in caplog.text
