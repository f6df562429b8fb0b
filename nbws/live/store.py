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
from typing import Any

from .column import MIN_CAPACITY, Column

try:
    import numpy as np

    from .blocks import Blocks
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]
    Blocks = None  # type: ignore[assignment,misc]

__all__ = ["Column", "Series", "Store", "MIN_CAPACITY"]


class Series:
    """One series' x and y columns, and whether x is non-decreasing over the
    points kept (tracked as points come and go, never by a scan)."""

    __slots__ = ("_break", "blocks", "dropped", "x", "y")

    def __init__(self, numpy: bool = True) -> None:
        self.x = Column(numpy, lead=2)  # x moves to a new buffer first, y once x is done
        self.y = Column(numpy)
        self.dropped = 0
        """Points dropped so far: the absolute index of the oldest one kept."""
        self.blocks = Blocks() if self.x._np else None
        """The block summaries of y (numpy only), up to date with the points kept."""
        self._break = 0  # the highest absolute index i whose x is not >= x[i - 1] (0: none)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def sorted_x(self) -> bool:
        """True when the x of the points kept never decreases (and is not NaN
        but perhaps at the oldest point)."""
        return self._break <= self.dropped

    def append(self, xs: Any, ys: Any) -> None:
        """Append points (same lengths; float64 arrays or sequences)."""
        n = len(xs)
        if n != len(ys):
            raise ValueError("xs and ys must have the same length")
        if not n:
            return
        base = self.dropped + len(self.x)  # the absolute index of xs[0]
        if len(self.x) and not xs[0] >= self.x.last():
            self._break = base
        if n > 1:
            if self.x._np:
                a = np.asarray(xs, dtype=np.float64)
                bad = np.flatnonzero(~(a[1:] >= a[:-1]))
                if bad.size:
                    self._break = base + int(bad[-1]) + 1
            else:
                for i in range(n - 1, 0, -1):
                    if not xs[i] >= xs[i - 1]:
                        self._break = base + i
                        break
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

    __slots__ = ("max_points", "numpy", "series")

    def __init__(self, count: int, max_points: int, numpy: bool = True) -> None:
        self.numpy = numpy
        self.max_points = max_points
        self.series = [Series(numpy) for _ in range(count)]

    def add(self, xs: Iterable[float] = (), ys: Iterable[float] = ()) -> Series:
        """A new series (an overlay), holding the given points."""
        series = Series(self.numpy)
        series.append(_floats(xs), _floats(ys))
        self.series.append(series)
        return series

    @property
    def points(self) -> int:
        """Points kept, all series."""
        return sum(len(s) for s in self.series)

    def trim(self) -> None:
        """Drop the oldest points until at most ``max_points`` are kept."""
        total = self.points
        if total <= self.max_points:
            return
        excess = total - self.max_points
        for s in self.series:  # evenly across series
            s.drop(min(len(s), -(-excess * len(s) // total)))


def _floats(values: Iterable[float]) -> Sequence[float]:
    if isinstance(values, array) or (np is not None and isinstance(values, np.ndarray)):
        return values  # type: ignore[return-value]
    return array("d", values)
