"""Views of a series whose x goes back a few times (nbws/live/segments.py):
its sorted runs, searched one by one, give exactly the general path's
answer; a plot answers a zoom into a million points with one x that goes
back from its runs, fast."""

from __future__ import annotations

import asyncio
import json
import math
import time

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect as ws_connect

import nbws
from nbws.live import zoom
from nbws.live.frames import VIEW_HEADER, decode_chunks
from nbws.live.segments import select_runs
from nbws.live.store import MAX_RUNS, Series
from tests.conftest import run
from tests.test_view import reference_view
from tests.test_zoom import ys_values


@st.composite
def runs_cases(draw: st.DrawFn) -> tuple[list[list[float]], list[float], float, float, int, int]:
    """A few batches of sorted x (each may start below the last), NaN x now
    and then, ys with NaN / inf / ties, a view, and points to drop."""
    batches = []
    for _ in range(draw(st.integers(1, 5))):
        n = draw(st.integers(0, 150))
        xs = sorted(float(v) for v in draw(st.lists(st.integers(-20, 300), min_size=n, max_size=n)))
        if n and draw(st.booleans()):
            xs[draw(st.integers(0, n - 1))] = math.nan
        batches.append(xs)
    total = sum(len(b) for b in batches)
    ys = draw(st.lists(ys_values, min_size=total, max_size=total))
    x0 = draw(st.floats(-30, 300))
    return batches, ys, x0, x0 + draw(st.floats(0.5, 350)), draw(st.integers(1, 8)), draw(st.integers(0, total))


@settings(max_examples=300, deadline=None)
@given(case=runs_cases(), blocks_from=st.sampled_from([0, 32]), logx=st.booleans())
def test_a_view_over_sorted_runs_is_the_general_paths_view(
        case: tuple[list[list[float]], list[float], float, float, int, int], blocks_from: int, logx: bool) -> None:
    batches, ys, x0, x1, width, dropped = case
    if logx:  # a log x axis: x0 > 0
        x0, x1 = abs(x0) + 0.25, abs(x0) + 0.25 + (x1 - x0)
    series = Series()
    at = 0
    for xs in batches:
        series.append(numpy.array(xs), numpy.array(ys[at:at + len(xs)]))
        at += len(xs)
    series.drop(dropped)
    xs_kept, ys_kept = (v.tolist() for v in series.views())
    runs = series.runs()
    assert runs is not None and runs[0][0] == 0 and runs[-1][1] == len(xs_kept)
    for a, b in runs:  # each run sorted, and they cover the points kept in order
        assert all(xs_kept[i] >= xs_kept[i - 1] for i in range(a + 1, b))
    saved, zoom.BLOCKS_FROM = zoom.BLOCKS_FROM, blocks_from  # 0: every column from the block summaries
    try:
        count, keep = select_runs(*series.views(), runs, x0, x1, width, series.blocks, logx=logx)
    finally:
        zoom.BLOCKS_FROM = saved
    assert keep.tolist() == reference_view(xs_kept, ys_kept, x0, x1, width, logx)
    assert count == sum(1 for x in xs_kept if x0 <= x <= x1)


def test_a_series_with_x_going_back_often_has_no_runs_until_those_points_go() -> None:
    series = Series()
    series.append(numpy.arange(100.0), numpy.zeros(100))
    assert series.runs() == [(0, 100)]
    back = numpy.array([5.0, 4.0] * MAX_RUNS)  # x goes back MAX_RUNS times
    series.append(back, numpy.zeros(back.size))
    assert series.runs() is None and not series.sorted_x
    series.append(numpy.arange(200.0, 300.0), numpy.zeros(100))
    series.drop(100 + back.size)
    assert series.runs() == [(0, 100)] and series.sorted_x


N = 1_000_000


def test_a_zoom_into_a_million_points_with_one_x_going_back_searches_the_runs() -> None:
    xs = numpy.arange(N, dtype=numpy.float64)
    xs[N // 2] = 10.0  # one point pushed late, far back
    ys = numpy.random.default_rng(3).standard_normal(N)
    ys[700_123] = 40.0

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            plot = nbws.LivePlot("back", server=server)
            plot.push_many(xs, ys)
            assert plot.flush(60)
            async with ws_connect(server.ws_url + "live/back/ws", max_size=None) as ws:
                for view_id, (x0, x1, width, logx) in enumerate([(600_000.5, 601_000.5, 800, False),
                                                                 (0.0, N, 2000, False), (5.0, 700_200.0, 700, False),
                                                                 (2.0, 900_000.0, 600, True)], start=1):
                    started = time.monotonic()
                    await ws.send(json.dumps({"view": {"id": view_id, "x0": x0, "x1": x1, "width": width,
                                                       "logx": logx}}))
                    while True:
                        message = await asyncio.wait_for(ws.recv(), 30)
                        if isinstance(message, bytes) and decode_chunks(message)[0][0] == VIEW_HEADER:
                            break
                    took = time.monotonic() - started
                    chunks = decode_chunks(message)
                    keep = zoom.select(xs, ys, x0, x1, width, logx=logx)  # the general path, every point looked at
                    assert chunks[0][2][5] == numpy.count_nonzero((xs >= x0) & (xs <= x1))
                    assert chunks[1][2] == xs[keep].tolist() and chunks[1][3] == pytest.approx(ys[keep].tolist())
                    assert took < 5, took
            assert plot._queries.by_runs == 4 == plot._queries.answered
        finally:
            server.stop()

    run(main, 120)
