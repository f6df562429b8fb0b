"""A plot's view queries on the I/O thread: each page's newest pending query,
answered as soon as the loop gets to it.

The plot's socket reports each page message here (``conn.listener``). A
valid query replaces the page's pending one (newest wins) and one answer is
computed per page at a time; an invalid message closes the socket with 1008.
A smoothed query whose weight is new first smooths the series in slices
(:data:`~.smooth.SLICE` points, a few ms), one per turn of the loop, so the
I/O thread keeps serving every other socket; a newer query from the page
meanwhile takes the old one's place (the work done is kept). Nothing here
waits for the handler loop, so pages zoom while a cell runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..boundary import on_io_thread
from ..io.routes import close_reason
from .view import BadQuery, Smoother, ViewData, ViewQuery, answer_view, parse_view

try:
    from .segments import Runs, answer_runs
except ImportError:  # pragma: no cover - numpy is optional
    Runs = list  # type: ignore[misc]
    answer_runs = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection

__all__ = ["Queries"]

log = logging.getLogger("nbws")


class Queries:
    """The view queries of one plot's pages. Runs on the I/O thread.

    Args:
        loop: the I/O thread's loop.
        data: the plot's series now (full resolution, with their block
            summaries), indexed as the plot's.
        smoother: a series' smoothed ys and final EMA state, for a weight.
        smoothing: smooth one more slice of a series for a weight; True when
            all of it is smoothed.
        runs: a series' sorted runs when its x goes back a few times (then
            views search them one by one: :mod:`.segments`), else None.
    """

    __slots__ = ("_data", "_loop", "_pending", "_runs", "_smoother", "_smoothing", "answered", "by_runs")

    def __init__(self, loop: asyncio.AbstractEventLoop, data: Callable[[], Sequence[ViewData]],
                 smoother: Smoother, smoothing: Callable[[int, float], bool],
                 runs: Callable[[int], Runs | None] = lambda index: None) -> None:
        self._loop = loop
        self._data = data
        self._smoother = smoother
        self._smoothing = smoothing
        self._runs = runs
        self._pending: dict[WsConnection, ViewQuery] = {}
        self.answered = 0
        """Queries answered so far."""
        self.by_runs = 0
        """Of those, the answers that searched a series' sorted runs one by
        one (its x goes back a few times) instead of every point."""

    @on_io_thread
    def message(self, conn: WsConnection, message: str | bytes) -> None:
        """A page's message: a view query, or the end of that page's socket."""
        try:
            query = parse_view(message, len(self._data()))
        except (BadQuery, OverflowError, RecursionError) as exc:  # a huge integer, or JSON nested too deep
            if not isinstance(exc, BadQuery):
                exc = BadQuery("view.x0 and view.x1 must be floats" if isinstance(exc, OverflowError)
                               else "a view query is JSON nested a few levels deep")
            log.debug("nbws: %s: bad view query (%s); closing with 1008", conn.peer_address[0], exc)
            self._pending.pop(conn, None)
            conn.start_close(1008, close_reason(str(exc)))
            return
        if conn not in self._pending:  # none queued: answer once the loop gets here
            self._loop.call_soon(self._answer, conn)
        self._pending[conn] = query  # a newer query replaces a queued one

    @on_io_thread
    def lost(self, conn: WsConnection) -> None:
        """A page's socket is gone: its queued query goes too."""
        self._pending.pop(conn, None)

    @on_io_thread
    def _answer(self, conn: WsConnection) -> None:
        query = self._pending.get(conn)
        if query is None or conn.lost:
            self._pending.pop(conn, None)
            return
        if query.smooth > 0:
            wanted = query.series if query.series is not None else range(len(self._data()))
            if not all(self._smoothing(s, query.smooth) for s in wanted):  # one slice at most
                self._loop.call_soon(self._answer, conn)  # the loop serves other sockets, then the next slice
                return
        del self._pending[conn]
        data = self._data()
        wanted = query.series if query.series is not None else range(len(data))
        split = {s: runs for s in wanted if not data[s][2] and (runs := self._runs(s)) is not None}
        if split:
            conn.send_message(answer_runs(query, data, self._smoother, split))
            self.by_runs += 1
        else:
            conn.send_message(answer_view(query, data, self._smoother))
        self.answered += 1
