"""A lock-free hand-off of items from producer threads to the I/O thread.

``LivePlot.push`` must cost well under a microsecond and never block, on any
thread: it appends to a ``collections.deque`` (whose ``append`` and
``popleft`` are atomic in CPython), and the I/O thread takes what is there at
its next tick. This is that crossing, named.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from .debug import on_io_thread

__all__ = ["Mailbox"]

T = TypeVar("T")


class Mailbox(Generic[T]):
    """Items put by any thread, taken in order by the I/O thread.

    ``put(item)`` and ``put_many(items)`` are thread-safe and never block
    (they are the deque's own bound methods, so a producer pays one C call);
    :meth:`take` runs on the I/O thread."""

    __slots__ = ("_items", "put", "put_many")

    def __init__(self) -> None:
        self._items: deque[T] = deque()
        self.put: Callable[[T], None] = self._items.append
        """Add one item. Thread-safe, never blocks."""
        self.put_many: Callable[[Iterable[T]], None] = self._items.extend
        """Add several items, in order. Thread-safe, never blocks."""

    def __len__(self) -> int:
        """Items waiting now (a moment's snapshot). Thread-safe."""
        return len(self._items)

    @on_io_thread
    def take(self, limit: int | None = None) -> list[T]:
        """The items waiting now, oldest first, at most ``limit`` of them;
        later puts (and those past the limit) wait for the next call. Runs on
        the I/O thread."""
        popleft = self._items.popleft
        n = len(self._items)
        return [popleft() for _ in range(n if limit is None else min(n, limit))]
