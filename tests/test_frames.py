"""M4 decimation (nbws/live/frames.py): numpy and plain Python against a
brute-force reference, and the history a late joiner gets."""

from __future__ import annotations

import math
import random
from array import array

import numpy
import pytest

from nbws.live.frames import _m4_numpy, _m4_python, decimate, downsample, m4


def reference(xs: list[float], ys: list[float], width: int, x0: float, x1: float) -> list[int]:
    """M4 by its definition: per pixel column, the lowest and highest index and
    the first index of the minimum and of the maximum of the finite points."""
    columns: dict[int, list[int]] = {}
    for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
        if math.isfinite(x) and math.isfinite(y):
            c = min(width, max(-1, math.floor((x - x0) * width / ((x1 - x0) or 1.0))))
            columns.setdefault(c, []).append(i)
    keep: set[int] = set()
    for members in columns.values():
        values = [ys[i] for i in members]
        keep |= {members[0], members[-1], members[values.index(min(values))], members[values.index(max(values))]}
    return sorted(keep)


def random_series(rng: random.Random, n: int, monotonic: bool) -> tuple[list[float], list[float]]:
    xs = sorted(rng.uniform(0, 100) for _ in range(n)) if monotonic else [rng.uniform(-10, 110) for _ in range(n)]
    ys = [rng.choice([rng.gauss(0, 1), float(rng.randint(0, 3))]) for _ in range(n)]  # ties too
    for _ in range(n // 20):
        ys[rng.randrange(n)] = math.nan
    for _ in range(n // 50):
        xs[rng.randrange(n)] = rng.choice([math.nan, math.inf])
    return xs, ys


@pytest.mark.parametrize("monotonic", [True, False])
@pytest.mark.parametrize("implementation", ["numpy", "python"])
def test_m4_equals_the_brute_force_reference_with_nan_ties_and_points_outside(monotonic: bool,
                                                                              implementation: str) -> None:
    rng = random.Random(14)
    for trial in range(60):
        xs, ys = random_series(rng, rng.randint(1, 400), monotonic)
        width = rng.randint(1, 50)
        x0, x1 = (10.0, 90.0) if trial % 2 else (0.0, 100.0)  # odd trials: points beyond both edges
        got = (_m4_numpy(numpy, xs, ys, width, x0, x1) if implementation == "numpy"
               else _m4_python(xs, ys, width, x0, x1))
        assert got == reference(xs, ys, width, x0, x1), (trial, width)


def test_m4_keeps_one_spike_among_a_million_points() -> None:
    n = 1_000_000
    xs = array("d", range(n))
    ys = array("d", bytes(8 * n))
    ys[654_321] = 1.0
    keep = m4(xs, ys, 800)
    assert 654_321 in keep and len(keep) <= 4 * 802
    dx, dy = decimate(xs, ys, 800)
    assert max(dy) == 1.0 and dx[list(dy).index(1.0)] == 654_321


def test_m4_default_range_is_the_data_and_numpy_arrays_work() -> None:
    xs = numpy.arange(10.0)
    assert m4(xs, xs * 0, 100) == list(range(10))  # fewer points than columns: all of them
    assert m4([], [], 10) == []
    with pytest.raises(ValueError, match="width"):
        m4([1.0], [1.0], 0)


def test_downsample_is_m4_with_the_newest_point_and_within_the_limit() -> None:
    xs = array("d", range(100_000))
    ys = array("d", ((i * 7919) % 1000 for i in range(100_000)))
    ys[54321] = 5000.0
    ys[54322] = -5000.0  # a dip right after the spike, in the same column
    dx, dy = downsample(xs, ys, 1000)
    assert len(dx) <= 1001 and max(dy) == 5000.0 and min(dy) == -5000.0 and dx[-1] == 99_999
    assert list(dx) == sorted(dx)
    short_x, short_y = downsample(array("d", [1, 2]), array("d", [3, 4]), 1000)
    assert list(short_x) == [1, 2] and list(short_y) == [3, 4]
