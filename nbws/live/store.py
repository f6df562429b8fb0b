"""A plot's points at full resolution, kept in the kernel process.

Each series is two :class:`Column` s (x and y, float64: 16 bytes a point,
plus spare buffer: see :mod:`.column`)
and knows whether its x is non-decreasing, so views can binary-search it.
With numpy it also keeps :class:`~.blocks.Blocks` of its y (per-block
minimum and maximum, about 1.1 bytes a point), so M4 of a wide view reads
summaries instead of every point. A column (:mod:`.column`) appends in
O(batch) (never copying all its values at once) and drops its oldest values in O(1).

Everything here runs on the I/O thread (the plot's points change only there).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import pairwise
from typing import Any

from .column import MIN_CAPACITY, Column

try:
    import numpy as np

    from .blocks import Blocks
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]
    Blocks = None  # type: ignore[assignment,misc]

__all__ = ["Column", "Series", "Store", "MIN_CAPACITY", "MAX_RUNS"]


MAX_RUNS = 16
"""The most sorted runs a series' views search one by one; past that, x that
goes back takes the general path (every point looked at)."""


class Series:
    """One series' x and y columns, and where its x goes back: the points
    kept split into sorted runs (x non-decreasing within each), tracked as
    points come and go, never by a scan."""

    __slots__ = ("_break", "_breaks", "_lost", "blocks", "dropped", "x", "y")

    def __init__(self, numpy: bool = True) -> None:
        self.x = Column(numpy, lead=2)  # x moves to a new buffer first, y once x is done
        self.y = Column(numpy)
        self.dropped = 0
        """Points dropped so far: the absolute index of the oldest one kept."""
        self.blocks = Blocks() if self.x._np else None
        """The block summaries of y (numpy only), up to date with the points kept."""
        self._break = 0  # the highest absolute index i whose x is not >= x[i - 1] (0: none)
        self._breaks: list[int] = []  # such indexes, increasing (those past _lost, at most MAX_RUNS - 1)
        self._lost = 0  # breaks before this absolute index were too many to list

    def __len__(self) -> int:
        return len(self.x)

    @property
    def sorted_x(self) -> bool:
        """True when the x of the points kept never decreases (and is not NaN
        but perhaps at the oldest point)."""
        return self._break <= self.dropped

    def runs(self) -> list[tuple[int, int]] | None:
        """The points kept as sorted runs, [start, stop) indexes into
        :meth:`views` in order (one run when x is sorted), or None when there
        are more than :data:`MAX_RUNS` (or some were too many to list)."""
        if self._lost > self.dropped:
            return None
        cuts = [b - self.dropped for b in self._breaks if b > self.dropped]
        if len(cuts) >= MAX_RUNS:
            return None
        bounds = [0, *cuts, len(self.x)]
        return list(pairwise(bounds))

    def append(self, xs: Any, ys: Any) -> None:
        """Append points (same lengths; float64 arrays or sequences)."""
        n = len(xs)
        if n != len(ys):
            raise ValueError("xs and ys must have the same length")
        if not n:
            return
        base = self.dropped + len(self.x)  # the absolute index of xs[0]
        found = [base] if len(self.x) and not xs[0] >= self.x.last() else []
        listed = True  # every break of this batch is in found
        if n > 1:
            if self.x._np:
                a = np.asarray(xs, dtype=np.float64)
                bad = np.flatnonzero(~(a[1:] >= a[:-1]))
                if bad.size:
                    listed = bad.size < MAX_RUNS
                    found.extend((bad[-MAX_RUNS:] + (base + 1)).tolist())
            else:  # the plain-Python path lists none (its views take the general path)
                for i in range(n - 1, 0, -1):
                    if not xs[i] >= xs[i - 1]:
                        found.append(base + i)
                        listed = False
                        break
        if found:
            self._break = found[-1]
            self._breaks = [b for b in self._breaks if b > self.dropped] + found
            if not listed or len(self._breaks) >= MAX_RUNS:  # too many: the general path until they are dropped
                self._lost, self._breaks = self._break + 1, []
        self.x.append(xs)
        self.y.append(ys)
        if self.blocks is not None:
            self.blocks.update(self.y.view(), self.dropped)

    def drop(self, n: int) -> None:
        """Forget the ``n`` oldest points."""
        n = min(n, len(self.x))
        self.x.drop(n)
        self.y.drop(n)
        self.dropped += n
        if self.blocks is not None:
            self.blocks.update(self.y.view(), self.dropped)

    def views(self) -> tuple[Any, Any]:
        """(xs, ys) of the points kept, without a copy."""
        return self.x.view(), self.y.view()

    def copy(self) -> tuple[array[float], array[float]]:
        """(xs, ys) of the points kept, as new ``array('d')`` s."""
        xs, ys = array("d"), array("d")
        xs.frombytes(self.x.view().tobytes())
        ys.frombytes(self.y.view().tobytes())
        return xs, ys


class Store:
    """The series of one plot, bounded by ``max_points`` in all (the oldest
    points go first, from every series in proportion to its size)."""

    __slots__ = ("fixed", "max_points", "numpy", "series")

    def __init__(self, count: int, max_points: int, numpy: bool = True) -> None:
        self.numpy = numpy
        self.max_points = max_points
        self.series = [Series(numpy) for _ in range(count)]
        self.fixed: set[int] = set()
        """Indexes of the overlays (:meth:`add`): kept whole, outside ``max_points``."""

    def add(self, xs: Iterable[float] = (), ys: Iterable[float] = ()) -> Series:
        """A new series (an overlay), holding the given points. An overlay
        is not trimmed and does not count towards ``max_points`` (it does
        not grow: an older run, added whole)."""
        series = Series(self.numpy)
        series.append(_floats(xs), _floats(ys))
        self.fixed.add(len(self.series))
        self.series.append(series)
        return series

    @property
    def points(self) -> int:
        """Points kept, all series."""
        return sum(len(s) for s in self.series)

    def trim(self) -> None:
        """Drop the oldest points until at most ``max_points`` are kept in
        the series pushed to (the overlays are kept whole)."""
        live = [s for i, s in enumerate(self.series) if i not in self.fixed]
        total = sum(len(s) for s in live)
        if total <= self.max_points:
            return
        excess = total - self.max_points
        for s in live:  # evenly across series
            s.drop(min(len(s), -(-excess * len(s) // total)))


def _floats(values: Iterable[float]) -> Sequence[float]:
    if isinstance(values, array) or (np is not None and isinstance(values, np.ndarray)):
        return values  # type: ignore[return-value]
    return array("d", values)
