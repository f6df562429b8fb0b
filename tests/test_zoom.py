"""M4 for a view (nbws/live/zoom.py) against a brute-force reference, on
random data with NaN, infinities, ties and x that goes back; numpy (the
three paths for sorted x: whole-array passes, column by column, block
summaries) and plain Python."""

from __future__ import annotations

import math
import random

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbws.live import zoom
from nbws.live.blocks import Blocks
from nbws.live.zoom import select, select_python
from tests.test_view import reference_view

ys_values = st.one_of(st.integers(-3, 3).map(float), st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf,
                                                                                            -math.inf]))


@st.composite
def views(draw: st.DrawFn) -> tuple[list[float], list[float], float, float, int, bool]:
    n = draw(st.integers(0, 600))
    sorted_x = draw(st.booleans())
    xs = [float(v) for v in draw(st.lists(st.integers(-50, 650), min_size=n, max_size=n))]
    if sorted_x:
        xs.sort()
    else:
        for i in draw(st.lists(st.integers(0, max(0, n - 1)), max_size=5)) if n else []:
            xs[i] = math.nan
    ys = draw(st.lists(ys_values, min_size=n, max_size=n))
    x0 = draw(st.floats(-60, 600))
    x1 = x0 + draw(st.floats(0.5, 700))
    width = draw(st.integers(1, 8))
    return xs, ys, x0, x1, width, sorted_x


def summaries(ys: list[float], fanout: int, dropped: int, cut: int) -> Blocks:
    """Block summaries of ``ys`` as a series that dropped ``dropped`` points
    before them would keep, built in two updates (``cut`` points, then all)."""
    blocks = Blocks(fanout)
    values = numpy.array([0.0] * dropped + ys)
    blocks.update(values[:dropped + cut], 0)
    blocks.update(values[dropped:], dropped)
    return blocks


@settings(max_examples=200, deadline=None)
@given(case=views(), fanout=st.integers(2, 5), dropped=st.integers(0, 40), cut=st.integers(0, 600))
def test_m4_of_a_view_matches_the_definition(case: tuple[list[float], list[float], float, float, int, bool],
                                             fanout: int, dropped: int, cut: int) -> None:
    xs, ys, x0, x1, width, sorted_x = case
    expected = reference_view(xs, ys, x0, x1, width)
    if sorted_x:  # the block summaries' path, at any column size
        blocks = summaries(ys, fanout, dropped, min(cut, len(ys)))
        saved, zoom.BLOCKS_FROM = zoom.BLOCKS_FROM, 0
        try:
            assert select(numpy.array(xs), numpy.array(ys), x0, x1, width, True, blocks).tolist() == expected
        finally:
            zoom.BLOCKS_FROM = saved
    assert select(numpy.array(xs), numpy.array(ys), x0, x1, width, sorted_x).tolist() == expected
    if sorted_x:  # the column-by-column path too, at any size
        saved, zoom.LOOP_FROM = zoom.LOOP_FROM, 1
        try:
            assert select(numpy.array(xs), numpy.array(ys), x0, x1, width, True).tolist() == expected
        finally:
            zoom.LOOP_FROM = saved
    assert select(numpy.array(xs), numpy.array(ys), x0, x1, width, False).tolist() == expected
    assert select_python(xs, ys, x0, x1, width, sorted_x) == expected


@pytest.mark.parametrize("loop_from", [1, 10**9])
def test_both_sorted_paths_keep_every_spike_of_a_large_series(loop_from: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zoom, "LOOP_FROM", loop_from)
    rng = random.Random(4)
    n = 200_000
    xs = [i * 0.5 for i in range(n)]
    ys = [rng.random() for _ in range(n)]
    for i in range(1000, n, 7919):
        ys[i] = 10.0 + i  # one-point spikes
    ys[5000] = math.nan
    keep = select(numpy.array(xs), numpy.array(ys), 250.0, 90_000.0, 700, True).tolist()
    assert keep == reference_view(xs, ys, 250.0, 90_000.0, 700)
    assert {i for i in range(1000, n, 7919) if 250.0 <= xs[i] <= 90_000.0} <= set(keep)


def test_block_summaries_give_the_same_view_of_two_million_points() -> None:
    rng = numpy.random.default_rng(18)
    n = 2_000_000  # five levels of blocks (16 .. 1,048,576 points)
    x = numpy.arange(n, dtype=numpy.float64)
    y = rng.standard_normal(n)
    spikes = rng.choice(n, 50, replace=False)
    y[spikes] = 100.0 + numpy.arange(50)
    y[rng.choice(n, 1000, replace=False)] = math.nan
    blocks = Blocks()
    blocks.update(y, 0)
    for x0, x1, width in ((0.0, n - 1.0, 2000), (123_456.5, 1_654_321.0, 1500), (10.0, 10_000.0, 33)):
        with_blocks = select(x, y, x0, x1, width, True, blocks)
        assert with_blocks.tolist() == select(x, y, x0, x1, width, True).tolist()
    assert set(spikes.tolist()) <= set(select(x, y, 0.0, n - 1.0, 2000, True, blocks).tolist())
