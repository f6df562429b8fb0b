"""Per-block minimum and maximum of a column, kept as its values arrive, so
that M4 over millions of points reads thousands of summaries. numpy only.

Level 1 summarises blocks of ``fanout`` values (16), level 2 blocks of
``fanout`` level-1 blocks (256 values), and so on while a block fits in the
values seen. Blocks are aligned on absolute indexes (index 0 is the first
value ever appended), so dropping the oldest values only drops the summaries
of blocks that reach before the oldest value kept. Each block keeps its
minimum and (negated, so that one ``argmin`` finds both) maximum over the
*finite* values (+inf / -inf when it has none) and, per level, which child holds the first minimum and the first maximum
(one byte each): 18 bytes per 16 values, about 1.1 bytes a value in all.

:func:`columns_m4` answers M4 for pixel columns of contiguous indexes: each
column ``[a, b)`` splits into at most ``fanout - 1`` raw values on each side,
at most ``fanout - 1`` blocks of each level on each side and at most
``fanout - 1`` blocks of the top level in the middle, so a column of any
length costs O(fanout * levels); the winning block of each column is followed
down to its value through the per-level child bytes. The same indexes as
looking at every value (``tests/test_zoom.py`` checks it). Everything here
runs on the I/O thread (the plot's points change only there).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .column import Column

__all__ = ["Blocks", "columns_m4", "FANOUT"]

FANOUT = 16
"""Values per level-1 block, and blocks per block of the level above."""


class _Level:
    """One level's blocks from absolute block index ``base`` on."""

    __slots__ = ("amax", "amin", "base", "mins", "negmaxs")

    def __init__(self, base: int) -> None:
        self.base = base
        self.mins = Column()
        self.negmaxs = Column()  # minus the maximum: one argmin finds both
        self.amin = Column(typecode="B")  # the child (0 .. fanout - 1) with the first minimum
        self.amax = Column(typecode="B")

    def __len__(self) -> int:
        return len(self.mins)

    def drop_to(self, base: int) -> None:
        """Forget the blocks before absolute block ``base``."""
        n = base - self.base
        if n > 0:
            for column in (self.mins, self.negmaxs, self.amin, self.amax):
                column.drop(n)
            self.base = base


class Blocks:
    """The block summaries of one float64 column (a series' y, or its EMA).
    Call :meth:`update` with the column's values after they change. Runs on
    the I/O thread."""

    __slots__ = ("fanout", "first", "levels")

    def __init__(self, fanout: int = FANOUT) -> None:
        if not 2 <= fanout <= 256:
            raise ValueError("fanout must be in 2..256")
        self.fanout = fanout
        self.first = 0
        """The absolute index of the first value of the column last seen."""
        self.levels: list[_Level] = []

    def shifted(self, offset: int) -> Blocks:
        """These summaries, for the column's values from ``offset`` on (a
        slice of the column: its index 0 is at absolute index ``first +
        offset``); they share the levels, so use it before the next update."""
        part = Blocks(self.fanout)
        part.first, part.levels = self.first + offset, self.levels
        return part

    def update(self, values: Any, first: int) -> None:
        """Catch up with the column's values now (a numpy array; ``values[0]``
        is at absolute index ``first``, which never decreases): summarise the
        blocks completed since the last call, forget those dropped. O(new
        values) amortised; a few numpy calls when a block completes, none
        otherwise."""
        f = self.fanout
        if first == self.first and self.levels:  # the common case: a few points, no block completed
            level = self.levels[0]
            if (first + len(values)) // f <= level.base + len(level):
                return
        self.first = first
        lo, hi = first, first + len(values)  # the children's absolute range, level 0: the values
        for depth in range(64):
            start, stop = -(-lo // f), hi // f  # the blocks of this level the children cover whole
            if depth == len(self.levels):
                if stop <= start:
                    return
                self.levels.append(_Level(start))
            level = self.levels[depth]
            end = level.base + len(level)
            if end < start:  # everything kept is gone: start again
                level = self.levels[depth] = _Level(start)
                end = start
            level.drop_to(start)
            if stop > end:
                if depth == 0:
                    low = np.asarray(values[end * f - first:stop * f - first]).reshape(-1, f)
                    finite = np.isfinite(low)
                    if finite.all():
                        high = -low
                    else:
                        low, high = np.where(finite, low, np.inf), np.where(finite, -low, np.inf)
                else:
                    below = self.levels[depth - 1]
                    low = below.mins.view()[end * f - below.base:stop * f - below.base].reshape(-1, f)
                    high = below.negmaxs.view()[end * f - below.base:stop * f - below.base].reshape(-1, f)
                amin, amax = low.argmin(axis=1), high.argmin(axis=1)  # the first minimum, the first maximum
                level.mins.append(np.take_along_axis(low, amin[:, None], 1)[:, 0])
                level.negmaxs.append(np.take_along_axis(high, amax[:, None], 1)[:, 0])
                level.amin.append(amin.astype(np.uint8))
                level.amax.append(amax.astype(np.uint8))
            lo, hi = level.base, level.base + len(level)
        raise AssertionError("more than 64 levels")  # pragma: no cover


def columns_m4(y: Any, starts: Any, stop: int, blocks: Blocks) -> Any:
    """M4 of the columns ``[starts[k], starts[k + 1])`` of ``y`` (the last
    ends at ``stop``; ``starts`` non-decreasing, empty columns allowed): per
    column with a finite value, the indexes of its first and last finite value
    and of its first minimum and first maximum, as one int64 array (not
    sorted). ``blocks`` must be up to date with ``y``. Pure.

    Few numpy calls, each over all columns at once: beside a thread holding
    the GIL, every call that releases it may wait a switch interval (5 ms)
    to get it back, so the count of calls matters more than their size
    (splitting the columns into groups measured 5 times slower)."""
    first = blocks.first
    ends = np.r_[starts[1:], stop]
    full = ends > starts
    a = starts[full].astype(np.int64) + first  # absolute
    b = ends[full].astype(np.int64) + first
    if not a.size:
        return np.zeros(0, dtype=np.int64)
    with np.errstate(invalid="ignore", over="ignore"):  # a sum of inf and -inf, or of huge values
        return _part(y, a, b, blocks)


def _windows(a: Any, b: Any, f: int, top: int) -> list[tuple[int, Any, Any]]:
    """The columns [a, b) split into (level, first block, count) windows, in
    index order: raw values and blocks of each level up to ``top`` on the
    left, the top level's blocks, then each level down again on the right."""
    heads, tails = [], []
    for depth in range(top + 1):
        size = f ** depth
        lo, hi = -(-a // size), b // size
        if depth == top:
            heads.append((depth, lo, hi - lo))
            break
        up_lo, up_hi = -(-a // (size * f)), b // (size * f)
        head_end = np.minimum(up_lo * f, hi)
        tail_start = np.maximum(up_hi * f, head_end)
        heads.append((depth, lo, head_end - lo))
        tails.append((depth, tail_start, hi - tail_start))
    return heads + tails[::-1]


def _part(y: Any, a: Any, b: Any, blocks: Blocks) -> Any:
    """:func:`columns_m4` of the columns [a, b) (absolute, non-empty)."""
    f, first = blocks.fanout, blocks.first
    longest = int((b - a).max())
    top = 0  # the top level this view uses: no column holds a whole block above it
    while top < len(blocks.levels) and f ** (top + 1) <= longest:
        top += 1
    rows = np.arange(a.size)
    lows, highs, at_low, at_high, depths = [], [], [], [], []
    for depth, start, count in _windows(a, b, f, top):
        width = int(count.max())
        if width <= 0:
            continue
        # a slot past a column's count repeats its last block: it cannot come first
        index = start[:, None] + np.minimum(np.arange(width), np.maximum(count, 1)[:, None] - 1)
        if depth == 0:
            low = np.take(y, index - first, mode="clip")
            if not np.isfinite(low.sum()):  # NaN or inf among them (or an overflow): mask them
                finite = np.isfinite(low)
                low, high = np.where(finite, low, np.inf), np.where(finite, -low, np.inf)
            else:
                high = -low
        else:
            level = blocks.levels[depth - 1]
            low = np.take(level.mins.view(), index - level.base, mode="clip")
            high = np.take(level.negmaxs.view(), index - level.base, mode="clip")
        k_min, k_max = low.argmin(axis=1), high.argmin(axis=1)
        none = count <= 0
        lows.append(np.where(none, np.inf, low[rows, k_min]))
        highs.append(np.where(none, np.inf, high[rows, k_max]))
        at_low.append(start + k_min)
        at_high.append(start + k_max)
        depths.append(depth)
    low_v, high_v = np.stack(lows, axis=1), np.stack(highs, axis=1)
    w_min, w_max = low_v.argmin(axis=1), high_v.argmin(axis=1)  # the first window with the extreme
    has = low_v[rows, w_min] < np.inf
    levels = np.array(depths, dtype=np.int64)
    i_min = _descend(blocks, np.stack(at_low, axis=1)[rows, w_min], levels[w_min], True)
    i_max = _descend(blocks, np.stack(at_high, axis=1)[rows, w_max], levels[w_max], False)
    a, last = a[has] - first, b[has] - first - 1
    i_first, i_last = a.copy(), last.copy()
    for k in np.flatnonzero(~np.isfinite(y[a])).tolist():  # a column that starts or ends on NaN / inf
        i_first[k] = a[k] + int(np.flatnonzero(np.isfinite(y[a[k]:last[k] + 1]))[0])
    for k in np.flatnonzero(~np.isfinite(y[last])).tolist():
        i_last[k] = a[k] + int(np.flatnonzero(np.isfinite(y[a[k]:last[k] + 1]))[-1])
    return np.concatenate([i_first, i_last, i_min[has] - first, i_max[has] - first])


def _descend(blocks: Blocks, index: Any, depth: Any, lowest: bool) -> Any:
    """Follow each (block ``index`` at level ``depth``) down to the value
    holding its first minimum (``lowest``) or maximum: absolute indexes."""
    f = blocks.fanout
    for d in range(int(depth.max()) if depth.size else 0, 0, -1):
        at = np.flatnonzero(depth >= d)
        level = blocks.levels[d - 1]
        child = (level.amin if lowest else level.amax).view()[index[at] - level.base]
        index[at] = index[at] * f + child
    return index
