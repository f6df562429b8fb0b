"""The debiased exponential moving average of a series (TensorBoard's
smoothing), the same maths as chart.js's ``ema``. Pure.

For each finite y, in order: ``last = last * w + (1 - w) * y``, ``count += 1``,
and the smoothed value is ``last / (1 - w ** count)`` (``last`` when w is 0);
a non-finite y passes through and moves nothing.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable
from typing import Any

try:
    import numpy as np

    from .blocks import Blocks
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]
    Blocks = None  # type: ignore[assignment,misc]

from .store import Column, Series

__all__ = ["ema", "ema_python", "Smoothed", "SLICE"]

SLICE = 65_536
"""Points a view query smooths per turn of the I/O thread's loop (1 to 3 ms
with numpy), so that other sockets are served while a new weight is applied
to millions of points."""


def ema_python(ys: Iterable[float], weight: float, last: float = 0.0,
               count: float = 0.0) -> tuple[array[float], float, float]:
    """The smoothed ``ys`` continuing from the state (``last``, ``count``),
    and the state after them: chart.js's loop, one point at a time. Pure."""
    out = array("d")
    isfinite = math.isfinite
    for y in ys:
        if not isfinite(y):
            out.append(y)
            continue
        last = last * weight + (1 - weight) * y
        count += 1
        out.append(last / (1 if weight == 0 else 1 - weight ** count))
    return out, last, count


SPAN = 60 * math.log(2)
"""Blocks of the vectorised EMA span at most this many e-folds of the weight
(w ** -L <= 2 ** 60), so no power over- or underflows."""


HUGE = 2.0 ** 900
"""Past this |y| (or state) the vectorised EMA scales its block by a power of
two first, so ``y * w ** -i`` (up to 2 ** 60 times y) cannot overflow."""


def ema(ys: Any, weight: float, last: float = 0.0, count: float = 0.0) -> tuple[Any, float, float]:
    """:func:`ema_python`, vectorised with numpy when it is installed (the
    same values to about 1e-11 relative for w up to 1 - 1e-6; up to about
    1e-8 for w closer to 1, 1 - 1e-9 to 1 - 1e-12, measured against the
    loop; |y| past :data:`HUGE` scaled first, so finite for any finite y): the recursion's closed form in
    blocks of L points, ``last[j] = (1 - w) * w ** j * cumsum(y[i] * w ** -i)``
    plus the carry from the block before, which after L points has shrunk by
    ``w ** L <= 2 ** -60`` (so three blocks back are exact to 2 ** -180).
    Pure; O(n) with a few passes."""
    if np is None:
        return ema_python(ys, weight, last, count)
    y = np.asarray(ys, dtype=np.float64)
    out = y.copy()
    finite = np.isfinite(y)
    every = bool(finite.all())
    v = y if every else y[finite]
    m = v.size
    if not m:
        return out, last, count
    w = float(weight)
    if w == 0:
        lasts = v.copy()  # last * 0 + 1 * y, exactly y
    else:
        big = max(float(np.abs(v).max()), abs(last))
        if big > HUGE:  # y * w ** -i would overflow: work on y scaled by a power of two (exact), then scale back
            scale = math.ldexp(1.0, -math.frexp(big)[1])
            lasts = _ema_lasts(v * scale, w, last * scale) / scale
        else:
            lasts = _ema_lasts(v, w, last)
    counts_at = count + np.arange(1, m + 1, dtype=np.float64)
    smoothed = lasts
    if w != 0:
        debiased = int(min(m, SPAN / -math.log(w) + 2)) if w < 1 else m  # beyond: 1 - w ** count is 1
        smoothed = lasts.copy()
        smoothed[:debiased] = lasts[:debiased] / (1 - w ** counts_at[:debiased])
    if every:
        out = smoothed
    else:
        out[finite] = smoothed
    return out, float(lasts[-1]), count + m


def _ema_lasts(v: Any, w: float, last: float) -> Any:
    """The EMA's undebiased state after each of ``v`` (all finite), from ``last``."""
    m = v.size
    span = max(1, min(m, int(SPAN / -math.log(w))))
    blocks = -(-m // span)
    padded = np.zeros(blocks * span)
    padded[:m] = v
    grid = padded.reshape(blocks, span)
    steps = np.arange(span, dtype=np.float64)
    local = np.cumsum(grid * w ** -steps, axis=1)
    local *= (1 - w) * w ** steps  # the block's own points, from a zero state
    ends = local[:, -1]
    q = w ** span
    carry = np.zeros(blocks)  # the state before each block
    carry[0] = last
    if blocks > 1:
        carry[1:] = ends[:-1]
        carry[2:] += q * ends[:-2]
        carry[3:] += q * q * ends[:-3]
        for b in range(1, min(4, blocks)):
            carry[b] += q ** b * last
    local += carry[:, None] * w ** (steps + 1)
    return local.reshape(-1)[:m]


class Smoothed:
    """One series' EMA for one weight, from the first point kept when it was
    made, extended as points come and trimmed as they go (8 bytes a point),
    with the block summaries of those values (numpy only). Runs on the I/O
    thread."""

    __slots__ = ("_first", "blocks", "count", "last", "values", "weight")

    def __init__(self, weight: float, numpy: bool = True) -> None:
        self.weight = weight
        self.values = Column(numpy)
        self.blocks = Blocks() if self.values._np else None
        """The summaries of ``values`` (index 0: the series' first point kept), up to date after :meth:`update`."""
        self._first = -1  # the absolute index of values[0] (-1: nothing yet)
        self.last = 0.0
        self.count = 0.0

    def update(self, series: Series) -> Any:
        """The smoothed ys of ``series``' points kept (a view, valid until the
        next update), computing only the points that came since the last call."""
        self.advance(series)
        return self.values.view()

    def advance(self, series: Series, limit: int | None = None) -> bool:
        """Smooth at most ``limit`` more of ``series``' points kept (all of
        them when None), oldest first; True when every point kept is smoothed
        (then :attr:`values`, :attr:`last`, :attr:`count` and :attr:`blocks`
        describe the whole series)."""
        if self._first < 0 or series.dropped > self._first + len(self.values):  # new, or fell behind: start again
            self.values = Column(self.values._np)
            self.blocks = Blocks() if self.values._np else None
            self._first, self.last, self.count = series.dropped, 0.0, 0.0
        if series.dropped > self._first:
            self.values.drop(series.dropped - self._first)
            self._first = series.dropped
        done = self._first + len(self.values) - series.dropped
        end = len(series) if limit is None else min(len(series), done + max(1, limit))
        if end < len(series):  # in slices: room for them all now, so no slice copies the values
            self.values.reserve(len(series) - done)
        if done < end:
            new, self.last, self.count = ema(series.y.view()[done:end], self.weight, self.last, self.count)
            self.values.append(new)
        if self.blocks is not None:
            self.blocks.update(self.values.view(), self._first)
        return end == len(series)
