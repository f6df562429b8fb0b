"""M4 for a view (nbws/live/zoom.py) against a brute-force reference, on
random data with NaN, infinities, ties and x that goes back, on linear and
log x axes; numpy (the three paths for sorted x: whole-array passes, column
by column, block summaries) and plain Python."""

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


Case = tuple[list[float], list[float], float, float, int, bool, bool]


@st.composite
def views(draw: st.DrawFn) -> Case:
    n = draw(st.integers(0, 600))
    sorted_x = draw(st.booleans())
    logx = draw(st.booleans())
    xs = [float(v) for v in draw(st.lists(st.integers(-50, 650), min_size=n, max_size=n))]
    if logx:  # spread over decades, some at or below 0 (outside every log range)
        xs = [x if x <= 0 else 1.02 ** x for x in xs]
    if sorted_x:
        xs.sort()
        if n and draw(st.booleans()):
            xs[0] = math.nan  # a store's sorted series may have a NaN oldest x
    else:
        for i in draw(st.lists(st.integers(0, max(0, n - 1)), max_size=5)) if n else []:
            xs[i] = math.nan
    ys = draw(st.lists(ys_values, min_size=n, max_size=n))
    if logx:
        x0 = 1.02 ** draw(st.floats(-10, 600))
        x1 = x0 * draw(st.floats(1.001, 1e5))
    else:
        x0 = draw(st.floats(-60, 600))
        x1 = x0 + draw(st.floats(0.5, 700))
    width = draw(st.integers(1, 8))
    return xs, ys, x0, x1, width, sorted_x, logx


def summaries(ys: list[float], fanout: int, dropped: int, cut: int) -> Blocks:
    """Block summaries of ``ys`` as a series that dropped ``dropped`` points
    before them would keep, built in two updates (``cut`` points, then all)."""
    blocks = Blocks(fanout)
    values = numpy.array([0.0] * dropped + ys)
    blocks.update(values[:dropped + cut], 0)
    blocks.update(values[dropped:], dropped)
    return blocks


@settings(max_examples=300, deadline=None)
@given(case=views(), fanout=st.integers(2, 5), dropped=st.integers(0, 40), cut=st.integers(0, 600))
def test_m4_of_a_view_matches_the_definition(case: Case, fanout: int, dropped: int, cut: int) -> None:
    xs, ys, x0, x1, width, sorted_x, logx = case
    expected = reference_view(xs, ys, x0, x1, width, logx)
    if sorted_x:  # the block summaries' path, at any column size (log columns too)
        blocks = summaries(ys, fanout, dropped, min(cut, len(ys)))
        saved, zoom.BLOCKS_FROM = zoom.BLOCKS_FROM, 0
        try:
            got = select(numpy.array(xs), numpy.array(ys), x0, x1, width, True, logx=logx, blocks=blocks)
            assert got.tolist() == expected
        finally:
            zoom.BLOCKS_FROM = saved
    assert select(numpy.array(xs), numpy.array(ys), x0, x1, width, sorted_x, logx=logx).tolist() == expected
    if sorted_x:  # the column-by-column path too, at any size
        saved, zoom.LOOP_FROM = zoom.LOOP_FROM, 1
        try:
            assert select(numpy.array(xs), numpy.array(ys), x0, x1, width, True, logx=logx).tolist() == expected
        finally:
            zoom.LOOP_FROM = saved
        assert zoom.in_range(numpy.array(xs), x0, x1, True) == zoom.in_range(xs, x0, x1, False)
    assert select(numpy.array(xs), numpy.array(ys), x0, x1, width, False, logx=logx).tolist() == expected
    assert select_python(xs, ys, x0, x1, width, sorted_x, logx) == expected


def test_a_log_x_view_has_points_in_every_column_of_the_log_axis() -> None:
    """x = 1..2e6 shown on a log axis, [10, 1e6] on 800 px: the columns are
    equal on the page's log axis, so every column gets its points (with
    columns equal in data units, the left four decades got a few columns)."""
    n = 2_000_000
    x = numpy.arange(1, n + 1, dtype=numpy.float64)
    y = numpy.sin(numpy.log(x) * 40)
    keep = select(x, y, 10.0, 1e6, 800, True, logx=True)

    def columns(values: numpy.ndarray) -> set[int]:  # the page's: log10 10..1e6 on 800 px
        values = values[(values >= 10) & (values <= 1e6)]
        return set(numpy.floor((numpy.log10(values) - 1) / 5 * 800).astype(int).clip(0, 799).tolist())

    missing = columns(x) - columns(x[keep])
    assert len(missing) <= 2, f"{len(missing)} of the page's 800 columns hold points but get none"
    assert ((x[keep] >= 10) & (x[keep] < 1000)).sum() >= 300  # the left 2/5 of the axis (3 in data-unit columns)


def test_the_widest_ranges_and_a_nan_oldest_x() -> None:
    """A range as wide as the floats (a wheel zoomed far out) still has
    columns (x1 - x0 would overflow); a NaN x is never inside a range, on
    the numpy and plain paths alike."""
    xs = [float(i) for i in range(10_000)]
    ys = [math.sin(i) for i in range(10_000)]
    ys[5000] = 99.0
    for x0, x1 in ((-1e308, 1e308), (-1.7e308, 1.7e308)):
        assert all(math.isfinite(e) for e in zoom.edges(x0, x1, 100))
        expected = reference_view(xs, ys, x0, x1, 100)
        assert 5000 in expected and len(expected) == 4
        assert select(numpy.array(xs), numpy.array(ys), x0, x1, 100, True).tolist() == expected
        assert select_python(xs, ys, x0, x1, 100, True) == expected
    xs[0] = math.nan
    for x0, x1 in ((0.5, 3.5), (-5.0, 20_000.0), (-10.0, -5.0)):
        expected = reference_view(xs, ys, x0, x1, 50)
        assert 0 not in expected
        assert select(numpy.array(xs), numpy.array(ys), x0, x1, 50, True).tolist() == expected
        assert select_python(xs, ys, x0, x1, 50, True) == expected
        assert zoom.in_range(numpy.array(xs), x0, x1, True) == zoom.in_range(xs, x0, x1, False)


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
        with_blocks = select(x, y, x0, x1, width, True, blocks=blocks)
        assert with_blocks.tolist() == select(x, y, x0, x1, width, True).tolist()
    for x0, x1, width in ((1.0, n - 1.0, 2000), (3.5, 1_654_321.0, 800)):  # log columns: wide on the right only
        with_blocks = select(x, y, x0, x1, width, True, logx=True, blocks=blocks)
        assert with_blocks.tolist() == select(x, y, x0, x1, width, True, logx=True).tolist()
        assert with_blocks.tolist() != select(x, y, x0, x1, width, True, blocks=blocks).tolist()
    assert set(spikes.tolist()) <= set(select(x, y, 0.0, n - 1.0, 2000, True, blocks=blocks).tolist())
