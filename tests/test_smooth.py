"""Smoothing on full resolution (nbws/live/smooth.py): the vectorised EMA
gives chart.js's ``ema`` values, and a plot's cached EMA follows its points."""

from __future__ import annotations

import math
import random

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbws.live.smooth import Smoothed, ema, ema_python
from nbws.live.store import Series
from tests.test_store import assert_blocks_summarise
from tests.test_view import reference_ema

WEIGHTS = [0.0, 1e-30, 0.05, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999]


@pytest.mark.parametrize("weight", WEIGHTS)
def test_the_vectorised_ema_is_chart_js_ema(weight: float) -> None:
    rng = random.Random(int(weight * 1e6))
    ys = [rng.gauss(10, 3) for _ in range(120_000)]
    for i in range(0, len(ys), 101):
        ys[i] = rng.choice([math.nan, math.inf, -math.inf])
    expected, last, count = reference_ema(ys, weight)
    got, got_last, got_count = ema(numpy.array(ys), weight)
    assert got_count == count and got_last == pytest.approx(last, rel=1e-9)
    for a, b in zip(got.tolist(), expected, strict=True):
        assert a == pytest.approx(b, rel=1e-9, nan_ok=True)


@settings(max_examples=150, deadline=None)
@given(ys=st.lists(st.one_of(st.floats(-1e3, 1e3), st.just(math.nan)), max_size=3000),
       weight=st.sampled_from(WEIGHTS), cut=st.integers(0, 3000))
def test_the_ema_continues_from_a_state_as_the_page_does(ys: list[float], weight: float, cut: int) -> None:
    expected, last, count = reference_ema(ys, weight)
    first, mid_last, mid_count = ema(numpy.array(ys[:cut]), weight)
    rest, end_last, end_count = ema(numpy.array(ys[cut:]), weight, mid_last, mid_count)
    got = first.tolist() + rest.tolist()
    scale = max([abs(y) for y in ys if math.isfinite(y)] + [1.0])
    assert end_count == count and end_last == pytest.approx(last, rel=1e-9, abs=1e-12 * scale)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12 * scale, nan_ok=True)
    assert ema_python(ys, weight)[0].tolist() == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize("use_numpy", [True, False])
def test_a_cached_ema_follows_points_as_they_come_and_go(use_numpy: bool) -> None:
    rng = random.Random(3)
    ys = [rng.gauss(1, 1) for _ in range(5000)]
    series = Series(use_numpy)
    smoothed = Smoothed(0.9, use_numpy)
    series.append(list(range(2000)), ys[:2000])
    smoothed.update(series)
    series.append(list(range(2000, 5000)), ys[2000:])
    series.drop(1500)
    values = list(smoothed.update(series))
    expected, last, count = reference_ema(ys, 0.9)
    assert values == pytest.approx(expected[1500:], rel=1e-9)
    assert (smoothed.last, smoothed.count) == (pytest.approx(last, rel=1e-9), count)
    if use_numpy:  # the smoothed line's block summaries follow it (views of it read them)
        assert smoothed.blocks is not None and smoothed.blocks.first == 1500
        assert_blocks_summarise(smoothed.blocks, values, 1500)


def test_smoothing_in_slices_gives_the_ema_of_the_whole_series() -> None:
    rng = random.Random(8)
    ys = [rng.gauss(0, 1) for _ in range(1000)]
    ys[10] = math.nan
    series = Series()
    series.append(list(range(1000)), ys)
    smoothed = Smoothed(0.8)
    steps = 0
    while not smoothed.advance(series, 64):
        steps += 1
        assert len(smoothed.values) == 64 * steps  # bounded work per slice
    expected, last, count = reference_ema(ys, 0.8)
    assert steps == 15 and list(smoothed.values.view()) == pytest.approx(expected, rel=1e-9, nan_ok=True)
    assert (smoothed.last, smoothed.count) == (pytest.approx(last, rel=1e-9), count)
    assert smoothed.blocks is not None
    assert_blocks_summarise(smoothed.blocks, list(smoothed.values.view()), 0)


@pytest.mark.parametrize("use_numpy", [True, False])
def test_an_ema_that_fell_behind_the_drops_starts_again_from_the_first_point_kept(use_numpy: bool) -> None:
    ys = [float((i * 7) % 11) for i in range(600)]
    series = Series(use_numpy)
    smoothed = Smoothed(0.8, use_numpy)
    series.append(list(range(100)), ys[:100])
    smoothed.update(series)  # smoothed up to point 100
    series.append(list(range(100, 600)), ys[100:])
    series.drop(300)  # past what it smoothed: nothing of it is kept
    values = list(smoothed.update(series))
    expected, last, count = reference_ema(ys[300:], 0.8)  # from a new state at the first point kept
    assert values == pytest.approx(expected, rel=1e-9)
    assert (smoothed.last, smoothed.count) == (pytest.approx(last, rel=1e-9), count)


@pytest.mark.parametrize("weight", [0.9, 0.999])
def test_the_ema_of_huge_values_is_finite_and_the_charts(weight: float) -> None:
    ys = numpy.random.default_rng(10).standard_normal(20_000) * 1e300
    got, last, count = ema(ys, weight)
    expected, expected_last, expected_count = ema_python(ys.tolist(), weight)  # chart.js's loop
    assert numpy.isfinite(got).all() and count == expected_count == 20_000
    assert list(got) == pytest.approx(list(expected), rel=1e-9, abs=1e-12 * 1e300)
    assert last == pytest.approx(expected_last, rel=1e-9, abs=1e-12 * 1e300)
