"""M4 for a view (nbws/live/zoom.py) against a brute-force reference, on
random data with NaN, infinities, ties and x that goes back; numpy (both
paths for sorted x) and plain Python."""

from __future__ import annotations

import math
import random

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbws.live import zoom
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


@settings(max_examples=200, deadline=None)
@given(case=views())
def test_m4_of_a_view_matches_the_definition(case: tuple[list[float], list[float], float, float, int, bool]) -> None:
    xs, ys, x0, x1, width, sorted_x = case
    expected = reference_view(xs, ys, x0, x1, width)
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
