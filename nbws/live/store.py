"""A plot's points at full resolution, kept in the kernel process.

Each series is two :class:`Column` s (x and y, float64: 16 bytes a point)
and knows whether its x is non-decreasing, so views can binary-search it.
A column is one contiguous buffer (a numpy array when numpy is installed,
``array('d')`` otherwise) with a head offset: appending is amortised O(1)
(the buffer grows by a quarter, or its live part moves to the front once a
fifth of it is free), dropping the oldest points is O(1) (the head moves),
and a view of the live points is a slice, never a copy. The spare room is at
most a quarter of the live points plus the last batch.

Everything here runs on the I/O thread (the plot's points change only there).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import Any

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]

__all__ = ["Column", "Series", "Store", "MIN_CAPACITY"]

MIN_CAPACITY = 1024
"""The smallest buffer a column allocates, in points."""


class Column:
    """A growable float64 buffer whose oldest values can be dropped in O(1).
    ``numpy=False`` forces ``array('d')`` (the plain-Python fallback)."""

    __slots__ = ("_data", "_end", "_np", "_start")

    def __init__(self, numpy: bool = True) -> None:
        self._np = numpy and np is not None
        self._data: Any = np.empty(0) if self._np else array("d")
        self._start = 0
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def capacity(self) -> int:
        """Points the buffer holds before it must move or grow."""
        return len(self._data)

    def view(self) -> Any:
        """The live values, oldest first, without a copy (a numpy array, or a
        memoryview of format 'd'); valid until the next append."""
        if self._np:
            return self._data[self._start:self._end]
        return memoryview(self._data)[self._start:self._end]

    def append(self, values: Any) -> None:
        """Append float64 values (``array('d')``, a numpy array, or a sequence)."""
        n = len(values)
        if not n:
            return
        if self._end + n > len(self._data):
            self._make_room(n)
        if self._np:
            self._data[self._end:self._end + n] = values
        else:
            self._data[self._end:self._end + n] = values if isinstance(values, array) else array("d", values)
        self._end += n

    def _make_room(self, n: int) -> None:
        live = self._end - self._start
        needed = live + n
        capacity = len(self._data)
        if needed > capacity * 4 // 5:  # grow: amortised O(1) per point, at most 25 % spare
            capacity = max(MIN_CAPACITY, needed + needed // 4)
        if self._np:
            data: Any = np.empty(capacity)
            data[:live] = self._data[self._start:self._end]
        else:
            data = array("d")
            data.frombytes(bytes(8 * capacity))
            data[:live] = self._data[self._start:self._end]
        self._data, self._start, self._end = data, 0, live

    def drop(self, n: int) -> None:
        """Forget the ``n`` oldest values (all, if there are fewer)."""
        self._start = min(self._end, self._start + max(0, n))

    def last(self) -> float:
        """The newest value (the column must not be empty)."""
        return float(self._data[self._end - 1])


class Series:
    """One series' x and y columns, and whether x is non-decreasing over the
    points kept (tracked as points come and go, never by a scan)."""

    __slots__ = ("_break", "dropped", "x", "y")

    def __init__(self, numpy: bool = True) -> None:
        self.x = Column(numpy)
        self.y = Column(numpy)
        self.dropped = 0
        """Points dropped so far: the absolute index of the oldest one kept."""
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

    def drop(self, n: int) -> None:
        """Forget the ``n`` oldest points."""
        n = min(n, len(self.x))
        self.x.drop(n)
        self.y.drop(n)
        self.dropped += n

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
