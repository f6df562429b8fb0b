"""View queries on a plot's socket (docs: view18 protocol): answers from the
full-resolution points on the I/O thread, bad queries closed with 1008, and
only the newest pending query of a page answered."""

from __future__ import annotations

import asyncio
import bisect
import json
import math
import random
import time
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import Opcode

import nbws
from nbws.live.frames import POINTS, VIEW_HEADER, VIEW_POINTS, VIEW_SMOOTHED, decode_chunks
from tests.conftest import run
from tests.test_limits import RawWebSocket


def reference_view(xs: list[float], ys: list[float], x0: float, x1: float, width: int,
                   logx: bool = False) -> list[int]:
    """The indexes a view shows, by the protocol's definition, point by point
    (columns equal in log10 units with ``logx``)."""
    if logx:
        l0, l1 = math.log10(x0), math.log10(x1)
        step = l1 / width - l0 / width
        left_edges = [x0] + [min(max(10.0 ** (l0 + k * step), x0), x1) for k in range(1, width)]
    else:
        step = x1 / width - x0 / width  # not (x1 - x0) / width: that overflows for the widest ranges
        left_edges = [x0] + [min(x0 + k * step, x1) for k in range(1, width)]
    inside = [i for i, x in enumerate(xs) if x0 <= x <= x1]
    keep: set[int] = set()
    if len(inside) <= 4 * width:
        keep.update(inside)
    else:
        columns: dict[int, list[int]] = {}
        for i in inside:
            if math.isfinite(ys[i]):
                columns.setdefault(bisect.bisect_right(left_edges, xs[i]) - 1, []).append(i)
        for members in columns.values():
            values = [ys[i] for i in members]
            keep |= {members[0], members[-1], members[values.index(min(values))],
                     members[values.index(max(values))]}
    finite = [i for i in range(len(xs)) if math.isfinite(ys[i])]
    below = [i for i in finite if xs[i] < x0]
    above = [i for i in finite if xs[i] > x1]
    if below:
        best = max(xs[i] for i in below)
        keep.add(max(i for i in below if xs[i] == best))
    if above:
        best = min(xs[i] for i in above)
        keep.add(min(i for i in above if xs[i] == best))
    return sorted(keep)


def reference_ema(ys: list[float], weight: float) -> tuple[list[float], float, float]:
    """chart.js's ``ema``, line by line."""
    last, count, out = 0.0, 0.0, []
    for y in ys:
        if not math.isfinite(y):
            out.append(y)
            continue
        last = last * weight + (1 - weight) * y
        count += 1
        out.append(last / (1 if weight == 0 else 1 - weight ** count))
    return out, last, count


async def view(ws: ClientConnection, query: dict[str, Any], seconds: float = 20) -> list[Any]:
    """Send a view query and return the chunks of its answer (live frames skipped)."""
    await ws.send(json.dumps({"view": query}))
    deadline = time.monotonic() + seconds
    while True:
        message = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
        if isinstance(message, bytes):
            chunks = decode_chunks(message)
            if chunks[0][0] == VIEW_HEADER:
                return chunks


def test_a_view_answers_with_m4_of_the_full_resolution_points() -> None:
    rng = random.Random(18)
    xs = [float(i) for i in range(50_000)]
    ys = [rng.gauss(0, 1) for _ in xs]
    ys[31_337] = 50.0  # a one-point spike
    ys[1000] = math.nan
    bs = [rng.gauss(5, 1) for _ in xs]

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            plot = nbws.LivePlot("zoomed", series=["a", "b"], server=server, history_points=2_000)
            plot.push_many(xs, ys, series="a")
            plot.push_many(xs, bs, series="b")
            assert plot.flush()
            async with ws_connect(server.ws_url + "live/zoomed/ws", max_size=None) as ws:
                chunks = await view(ws, {"id": 7, "x0": 999.5, "x1": 40_000.25, "width": 300, "series": [0]})
                kind, count, header, _ = chunks[0]
                assert (kind, count) == (VIEW_HEADER, 1)
                assert header == [7.0, 999.5, 40_000.25, 300.0, 0.0, 39_001.0, 0.0, 0.0]
                assert [(k, s) for k, s, _, _ in chunks[1:]] == [(VIEW_POINTS, 0)]
                keep = reference_view(xs, ys, 999.5, 40_000.25, 300)
                assert chunks[1][2] == [xs[i] for i in keep]
                assert chunks[1][3] == pytest.approx([ys[i] for i in keep], nan_ok=True)
                assert 50.0 in chunks[1][3]

                # a narrow window: every point in it, and one more on each side
                chunks = await view(ws, {"id": 8, "x0": 31_000, "x1": 31_999, "width": 800})
                assert [s for _, s, _, _ in chunks[1:]] == [0, 1]
                assert chunks[1][2] == [float(i) for i in range(30_999, 32_001)]
                assert chunks[2][3] == bs[30_999:32_001]

                # a log x axis: columns equal in log10 units, the same count in range
                chunks = await view(ws, {"id": 9, "x0": 10, "x1": 40_000, "width": 300, "series": [0], "logx": True})
                assert chunks[0][2] == [9.0, 10.0, 40_000.0, 300.0, 0.0, 39_991.0, 0.0, 0.0]
                keep = reference_view(xs, ys, 10, 40_000, 300, logx=True)
                assert chunks[1][2] == [xs[i] for i in keep]
                assert sum(1 for i in keep if xs[i] < 100) >= 85  # the first decade (a fifth of the axis): near all (5 in data-unit columns)
        finally:
            server.stop()

    run(main)


def test_a_smoothed_view_is_the_ema_of_the_whole_series() -> None:
    rng = random.Random(5)
    xs = [float(i) for i in range(20_000)]
    ys = [rng.gauss(0, 1) + i / 1000 for i in range(20_000)]
    ys[7] = math.inf

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            plot = nbws.LivePlot("smoothed", server=server)
            plot.push_many(xs, ys)
            assert plot.flush()
            async with ws_connect(server.ws_url + "live/smoothed/ws", max_size=None) as ws:
                chunks = await view(ws, {"id": 1, "x0": 10_000, "x1": 10_500, "width": 1000, "smooth": 0.9})
                smoothed, last, count = reference_ema(ys, 0.9)
                assert chunks[0][2][4:] == [0.0, 501.0, pytest.approx(last, rel=1e-9), count]
                assert [(k, s) for k, s, _, _ in chunks[1:]] == [(VIEW_POINTS, 0), (VIEW_SMOOTHED, 0)]
                assert chunks[2][2] == xs[9_999:10_502]
                assert chunks[2][3] == pytest.approx(smoothed[9_999:10_502], rel=1e-9)
        finally:
            server.stop()

    run(main)


def test_smoothing_is_the_same_at_every_zoom_level() -> None:
    rng = random.Random(9)
    xs = [float(i) for i in range(300_000)]
    ys = [rng.gauss(0, 1) for _ in xs]

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            plot = nbws.LivePlot("levels", server=server)
            plot.push_many(xs, ys)
            assert plot.flush()
            async with ws_connect(server.ws_url + "live/levels/ws", max_size=None) as ws:
                seen: list[dict[float, float]] = []
                for i, (x0, x1) in enumerate([(0, 299_999), (100_000, 200_000), (150_000, 150_600)], start=1):
                    chunks = await view(ws, {"id": i, "x0": x0, "x1": x1, "width": 400, "smooth": 0.99})
                    kind, _, sx, sy = chunks[2]
                    assert kind == VIEW_SMOOTHED
                    seen.append(dict(zip(sx, sy, strict=True)))
                expected = reference_ema(ys, 0.99)[0]
                for values in seen:
                    assert values == {x: pytest.approx(expected[int(x)], rel=1e-9) for x in values}
                assert set(seen[0]) & set(seen[1]) and set(seen[1]) & set(seen[2])
        finally:
            server.stop()

    run(main)


@pytest.mark.parametrize("message", [
    "not json",
    '{"view": {"id": 1, "x0": 0, "x1": 1}}',
    '{"view": {"id": 0, "x0": 0, "x1": 1, "width": 10}}',
    '{"view": {"id": 1, "x0": 1, "x1": 1, "width": 10}}',
    '{"view": {"id": 1, "x0": 0, "x1": NaN, "width": 10}}',
    '{"view": {"id": 1, "x0": 0, "x1": 1, "width": 8193}}',
    '{"view": {"id": 1, "x0": 0, "x1": 1, "width": true}}',
    '{"view": {"id": 1, "x0": 0, "x1": 1, "width": 10, "series": [1]}}',
    '{"view": {"id": 1, "x0": 0, "x1": 1, "width": 10, "smooth": 1}}',
    '{"view": {"id": 1, "x0": 1, "x1": 2, "width": 10, "logx": 1}}',
    '{"view": {"id": 1, "x0": 0, "x1": 2, "width": 10, "logx": true}}',
    '{"view": {"id": 1, "x0": 0, "x1": 1, "width": 10, "pad": "' + "x" * 1024 + '"}}',
    '["view"]',
    b"binary",
])
def test_a_bad_view_query_closes_the_socket_with_1008(message: str | bytes,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            nbws.LivePlot("strict", server=server)
            async with ws_connect(server.ws_url + "live/strict/ws") as ws:
                await ws.send(message)
                with pytest.raises(ConnectionClosed) as closed:
                    for _ in range(10):
                        await asyncio.wait_for(ws.recv(), 10)
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
                assert closed.value.rcvd.reason
        finally:
            server.stop()

    run(main)
    assert "Traceback" not in caplog.text


def test_only_the_newest_pending_query_is_answered() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            plot = nbws.LivePlot("busy", server=server)
            plot.push_many(range(100_000), [i % 7 for i in range(100_000)])
            assert plot.flush()
            raw = await asyncio.to_thread(RawWebSocket, server.port, "/live/busy/ws")
            try:
                # ten queries in one write: the I/O thread reads them together
                data = b""
                for i in range(1, 11):
                    raw.proto.send_text(json.dumps({"view": {"id": i, "x0": 0, "x1": 1e5, "width": 500}}).encode())
                    data += b"".join(raw.proto.data_to_send())
                raw.sock.sendall(data)
                answered = await asyncio.to_thread(read_answers, raw, 10)
            finally:
                raw.close()
            assert answered[-1] == 10 and answered == sorted(answered) and len(answered) < 10
        finally:
            server.stop()

    run(main)


def read_answers(raw: RawWebSocket, last: int, seconds: float = 10) -> list[int]:
    """The ids of the view answers read until the one with id ``last`` (blocking, bounded)."""
    ids: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and last not in ids:
        data = raw.sock.recv(1 << 20)
        if not data:
            break
        raw.proto.receive_data(data)
        for event in raw.proto.events_received():
            if event.opcode is Opcode.BINARY:
                chunks = decode_chunks(event.data)
                if chunks and chunks[0][0] == VIEW_HEADER:
                    ids.append(int(chunks[0][2][0]))
                else:
                    assert all(kind == POINTS for kind, _, _, _ in chunks)
    return ids
