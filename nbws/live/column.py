"""A growable buffer of numbers whose oldest values can be dropped in O(1).

One contiguous buffer (a numpy array when numpy is installed, ``array``
otherwise) with a head offset: dropping the oldest values is O(1) (the head
moves) and a view of the live values is a slice, never a copy. When the
buffer runs short of room at its end it *moves*: a new buffer (a quarter
more than the live values and some room) is filled a slice at a time,
:data:`MOVE_RATE` values per value appended (at least :data:`MOVE_SLICE`),
while appends still go to the old one; once every live value is across,
the new buffer takes over. So no append copies all the values at once: an
append costs O(its own length), up to ``MOVE_RATE`` copies a value more
while a move is under way. A move starts early enough (when the room left
is under ``2 * lead / MOVE_RATE`` of the live values) to end before the old
buffer is full; only an append larger than that room makes the rest of a
move happen at once. A series' x column starts its moves earlier than its y
(``lead`` 2), so only one of them has two buffers at a time.

Memory: 8 bytes a value, the buffer up to a third larger than the live
values (a quarter, plus the room to start moves early); while a column
moves (about a tenth of the time once a plot at ``max_points`` drops as it
grows) its old and new buffer both exist. ``bench/append_bench.py``
measures it. Runs on the I/O thread (a plot's points change only there).
"""

from __future__ import annotations

from array import array
from typing import Any

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is optional
    np = None  # type: ignore[assignment]

__all__ = ["Column", "MIN_CAPACITY", "MOVE_RATE", "MOVE_SLICE"]

MIN_CAPACITY = 1024
"""The smallest buffer a column allocates, in values."""
MOVE_RATE = 64
"""Values a move copies per value appended while it is under way."""
MOVE_SLICE = 65_536
"""The fewest values a move copies per append (0.5 MB of float64)."""


class Column:
    """A growable buffer (float64, or another ``array`` typecode such as
    ``"B"``) whose oldest values can be dropped in O(1). ``numpy=False``
    forces ``array`` (the plain-Python fallback). ``lead`` 2 starts moves
    when twice the usual room is left, so that of two columns appended
    alike (a series' x and y) one has finished moving when the other starts:
    one extra buffer at a time."""

    __slots__ = ("_base", "_data", "_end", "_lead", "_moved", "_next", "_np", "_start", "_type", "copied", "moves")

    def __init__(self, numpy: bool = True, typecode: str = "d", lead: int = 1) -> None:
        self._np = numpy and np is not None
        self._lead = lead  # a move starts when the room left is under 2 * lead / MOVE_RATE of the values
        self._type = typecode
        self._data: Any = self._empty(0)
        self._start = 0
        self._end = 0
        self._next: Any = None  # the buffer a move fills, or None
        self._base = 0  # the index in _data of _next[0]
        self._moved = 0  # _data[_base:_moved] is in _next already
        self.moves = 0
        """Moves finished so far."""
        self.copied = 0
        """Values copied by moves so far."""

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def capacity(self) -> int:
        """Values the buffer holds before it must move."""
        return len(self._data)

    @property
    def moving(self) -> bool:
        """True while a move to a new buffer is under way."""
        return self._next is not None

    def view(self) -> Any:
        """The live values, oldest first, without a copy (a numpy array, or a
        memoryview of format 'd'); valid until the next append."""
        if self._np:
            return self._data[self._start:self._end]
        return memoryview(self._data)[self._start:self._end]

    def append(self, values: Any) -> None:
        """Append float64 values (``array('d')``, a numpy array, or a sequence):
        O(len(values)), a move included (see the module's docstring)."""
        n = len(values)
        if not n:
            return
        if self._next is None and self._end + n + 2 * self._lead * len(self) // MOVE_RATE > len(self._data):
            self._start_move(n)
        if self._next is not None:
            self._move(max(MOVE_SLICE, MOVE_RATE * n))
            if self._next is not None and self._end + n > len(self._data):  # no room left: end the move now
                self._move(self._end)
        if self._end + n > len(self._data):  # an append larger than the new buffer's room
            self._start_move(n)
            if self._next is not None:  # (none when every value was dropped: a new buffer at once)
                self._move(self._end)
        if self._np:
            self._data[self._end:self._end + n] = values
        else:
            self._data[self._end:self._end + n] = values if isinstance(values, array) else array(self._type, values)
        self._end += n

    def _empty(self, capacity: int) -> Any:
        if self._np:
            return np.empty(capacity, dtype=self._type)  # untouched pages cost no memory yet
        data = array(self._type)
        data.frombytes(bytes(data.itemsize * capacity))
        return data

    def _start_move(self, n: int) -> None:
        live = len(self)
        needed = live + n + 4 * live // MOVE_RATE  # the values, the append, room to start a move early
        capacity = max(MIN_CAPACITY, needed + needed // 4)
        if not live:  # nothing to copy: a new buffer (or the same one, from its front) at once
            if capacity > len(self._data):
                self._data = self._empty(capacity)
            self._start = self._end = 0
            return
        self._next = self._empty(capacity)
        self._base = self._moved = self._start

    def _move(self, count: int) -> None:
        """Copy up to ``count`` more live values into the new buffer; switch
        to it when every one is across."""
        start = max(self._moved, self._start)  # values dropped meanwhile need no copy
        stop = min(self._end, start + count)
        if stop > start:
            self._next[start - self._base:stop - self._base] = self._data[start:stop]
            self.copied += stop - start
        self._moved = stop
        if stop == self._end:
            self._data, self._next = self._next, None
            self._start, self._end = self._start - self._base, self._end - self._base
            self.moves += 1

    def reserve(self, n: int) -> None:
        """Make room for ``n`` more values now (ending a move under way), so
        appending them moves nothing."""
        if self._next is not None:
            self._move(self._end)
        if self._end + n > len(self._data):
            self._start_move(n)
            if self._next is not None:
                self._move(self._end)

    def drop(self, n: int) -> None:
        """Forget the ``n`` oldest values (all, if there are fewer)."""
        self._start = min(self._end, self._start + max(0, n))

    def last(self) -> float:
        """The newest value (the column must not be empty)."""
        return float(self._data[self._end - 1])
