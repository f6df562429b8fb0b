"""A growable buffer of numbers whose oldest values can be dropped in O(1).

One contiguous buffer (a numpy array when numpy is installed, ``array``
otherwise) with a head offset: appending is amortised O(1) (the buffer grows
by a quarter, or its live part moves to the front once a fifth of it is
free), dropping the oldest values is O(1) (the head moves), and a view of
the live values is a slice, never a copy. The spare room is at most a
quarter of the live values plus the last batch. Runs on the I/O thread (a
plot's points change only there).
"""

from __future__ import annotations

from array import array
from typing import Any

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]

__all__ = ["Column", "MIN_CAPACITY"]

MIN_CAPACITY = 1024
"""The smallest buffer a column allocates, in points."""


class Column:
    """A growable buffer (float64, or another ``array`` typecode such as
    ``"B"``) whose oldest values can be dropped in O(1). ``numpy=False``
    forces ``array`` (the plain-Python fallback)."""

    __slots__ = ("_data", "_end", "_np", "_start", "_type")

    def __init__(self, numpy: bool = True, typecode: str = "d") -> None:
        self._np = numpy and np is not None
        self._type = typecode
        self._data: Any = np.empty(0, dtype=typecode) if self._np else array(typecode)
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
            self._data[self._end:self._end + n] = values if isinstance(values, array) else array(self._type, values)
        self._end += n

    def _make_room(self, n: int) -> None:
        live = self._end - self._start
        needed = live + n
        capacity = len(self._data)
        if needed > capacity * 4 // 5:  # grow: amortised O(1) per point, at most 25 % spare
            capacity = max(MIN_CAPACITY, needed + needed // 4)
        if self._np:
            data: Any = np.empty(capacity, dtype=self._type)
            data[:live] = self._data[self._start:self._end]
        else:
            data = array(self._type)
            data.frombytes(bytes(data.itemsize * capacity))
            data[:live] = self._data[self._start:self._end]
        self._data, self._start, self._end = data, 0, live

    def reserve(self, n: int) -> None:
        """Make room for ``n`` more values now, so appending them moves nothing."""
        if self._end + n > len(self._data):
            self._make_room(n)

    def drop(self, n: int) -> None:
        """Forget the ``n`` oldest values (all, if there are fewer)."""
        self._start = min(self._end, self._start + max(0, n))

    def last(self) -> float:
        """The newest value (the column must not be empty)."""
        return float(self._data[self._end - 1])
