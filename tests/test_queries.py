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


def test_an_answer_covers_at_most_65536_columns_over_the_series_it_answers() -> None:
    names = [f"s{i}" for i in range(60)]
    n = 20_000

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            plot = nbws.LivePlot("wide", series=names, server=server, history_points=100)
            rng = numpy.random.default_rng(4)
            for name in names:
                plot.push_many(numpy.arange(n, dtype=numpy.float64), rng.standard_normal(n), series=name)
            assert plot.flush(60)
            async with ws_connect(server.ws_url + "live/wide/ws", max_size=None) as ws:
                await ws.send(json.dumps({"view": {"id": 1, "x0": 0, "x1": n, "width": 8192}}))
                (chunks,) = await answers(ws, 1, 30)
            width = 65_536 // 60  # scaled down: 60 series x 8192 columns would be 491,520
            assert chunks[0][2][:4] == [1.0, 0.0, float(n), float(width)]
            points = [len(xs) for kind, _, xs, _ in chunks[1:]]
            assert len(points) == 60 and max(points) <= 4 * width + 2
        finally:
            server.stop()

    run(main, 120)


def page_that_stops_reading(policy: str) -> None:
    """A page asks for a big view, stops reading while it asks for more,
    then reads: it gets the first answer and then its newest query's, and
    nothing was computed meanwhile (no traceback, not stuck)."""
    from tests.test_limits import RawWebSocket

    n = 200_000

    async def main() -> None:
        server = nbws.start_server(app=nbws.App(), send_buffer_size=256 * 1024, send_buffer_policy=policy)
        try:
            names = [f"s{i}" for i in range(8)]
            plot = nbws.LivePlot("slow", series=names, server=server, history_points=100)
            rng = numpy.random.default_rng(6)
            for name in names:
                plot.push_many(numpy.arange(n, dtype=numpy.float64), rng.standard_normal(n), series=name)
            assert plot.flush(60)
            raw = await asyncio.to_thread(RawWebSocket, server.port, "/live/slow/ws", 4096)
            try:
                for i in range(1, 11):  # each answer ~4 MB (8 x 8192 columns); the page reads none of them yet
                    raw.proto.send_text(json.dumps({"view": {"id": i, "x0": 0, "x1": n, "width": 8192}}).encode())
                    await asyncio.to_thread(raw._flush)
                    for _ in range(500):  # bounded: the server has answered the first, or made the others wait
                        if plot._queries.answered and (i == 1 or plot._queries.waited or plot._queries.answered > 2):
                            break
                        await asyncio.sleep(0.01)
                answered = plot._queries.answered
                assert plot._queries.waited and answered <= 2 and not plot._queries.refused  # then it waited
                ids = await asyncio.to_thread(read_answers, raw, 10, 30.0)
                assert ids[:answered] == list(range(1, answered + 1)) and ids[answered:] == [10]  # then the newest
                assert plot._queries.answered == answered + 1
            finally:
                raw.sock.close()
        finally:
            server.stop()

    run(main, 120)


def read_answers(raw: object, last: int, seconds: float) -> list[int]:
    """Read a raw page's socket until the view answer ``last`` came; the ids answered."""
    from websockets.frames import Opcode

    ids: list[int] = []
    deadline = time.monotonic() + seconds
    while last not in ids and time.monotonic() < deadline:
        data = raw.sock.recv(1 << 20)  # type: ignore[attr-defined]
        if not data:
            break
        raw.proto.receive_data(data)  # type: ignore[attr-defined]
        for event in raw.proto.events_received():  # type: ignore[attr-defined]
            if getattr(event, "opcode", None) == Opcode.BINARY:
                chunks = decode_chunks(bytes(event.data))
                if chunks[0][0] == VIEW_HEADER:
                    ids.append(int(chunks[0][2][0]))
    return ids


@pytest.mark.parametrize("policy", ["error", "drop", "close"])
def test_a_page_that_stops_reading_gets_its_newest_answer_when_it_reads(
        policy: str, caplog: pytest.LogCaptureFixture) -> None:
    page_that_stops_reading(policy)
    assert "Traceback" not in caplog.text and "Exception in callback" not in caplog.text
