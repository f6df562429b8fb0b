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

Answers are bounded: a query's width times the series it answers is at
most :data:`MAX_ANSWER_COLUMNS` (the width is scaled down to fit; the
answer's header says the width used), and nothing is computed while the
page's send buffer is over its drain mark (a quarter of
``send_buffer_size``): the query waits, and is answered once the page has
read down to it (a newer query meanwhile takes its place; the plot skips
the page's live batches meanwhile, so a busy plot cannot starve it). An answer the
send-buffer policy still refuses (the server's total bound) closes the
socket with 1013 and a reason, so the page reconnects instead of waiting
for an answer that never comes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..boundary import on_io_thread
from ..errors import ConnectionClosedError, SendBufferFullError
from ..io.routes import close_reason
from .view import BadQuery, Smoother, ViewData, ViewQuery, answer_view, parse_view

try:
    from .segments import Runs, answer_runs
except ImportError:  # pragma: no cover - numpy is optional
    Runs = list  # type: ignore[misc]
    answer_runs = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection

__all__ = ["Queries", "MAX_ANSWER_COLUMNS", "bounded"]

log = logging.getLogger("nbws")

MAX_ANSWER_COLUMNS = 65_536
"""The most pixel columns an answer covers, over all the series it answers
(width x series): about 4 points a column (M4), 8 smoothed, 16 bytes each,
so an answer stays under about 8 MB whatever a 1 KiB query asks."""


def bounded(query: ViewQuery, series: int) -> ViewQuery:
    """``query`` with its width scaled down so that width x ``series`` is at
    most :data:`MAX_ANSWER_COLUMNS` (at least 1 column). Pure."""
    if query.width * max(1, series) <= MAX_ANSWER_COLUMNS:
        return query
    return dataclasses.replace(query, width=max(1, MAX_ANSWER_COLUMNS // series))


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

    __slots__ = ("_data", "_loop", "_pending", "_runs", "_smoother", "_smoothing", "_waiting", "answered", "by_runs",
                 "refused", "waited")

    def __init__(self, loop: asyncio.AbstractEventLoop, data: Callable[[], Sequence[ViewData]],
                 smoother: Smoother, smoothing: Callable[[int, float], bool],
                 runs: Callable[[int], Runs | None] = lambda index: None) -> None:
        self._loop = loop
        self._data = data
        self._smoother = smoother
        self._smoothing = smoothing
        self._runs = runs
        self._pending: dict[WsConnection, ViewQuery] = {}
        self._waiting: set[WsConnection] = set()  # pages whose query waits for their send buffer to drain
        self.waited = 0
        """Times a query waited for its page to read down its send buffer."""
        self.refused = 0
        """Answers the send-buffer policy refused (the page was closed, 1013)."""
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
        self._pending[conn] = query  # a newer query replaces a queued one (or one waiting for a drain)

    @on_io_thread
    def lost(self, conn: WsConnection) -> None:
        """A page's socket is gone: its queued query goes too."""
        self._pending.pop(conn, None)

    def waiting(self, conn: WsConnection) -> bool:
        """True while the page's query waits for its send buffer to drain
        (the plot then skips its live batches, so the answer comes first). I/O thread."""
        return conn in self._waiting

    @on_io_thread
    def _drained(self, conn: WsConnection, error: Exception | None) -> None:
        """The page read its send buffer down to the drain mark (``error``
        None), or its socket closed: answer its newest query, or forget it."""
        self._waiting.discard(conn)
        if error is not None:
            self._pending.pop(conn, None)
            return
        self._loop.call_soon(self._answer, conn)  # not here: the connection's lock may be held

    @on_io_thread
    def _answer(self, conn: WsConnection) -> None:
        query = self._pending.get(conn)
        if query is None or conn.lost:
            self._pending.pop(conn, None)
            return
        if conn in self._waiting:  # a drain waiter will call again
            return
        try:
            ready = conn.add_drain_waiter(lambda error: self._drained(conn, error))
        except ConnectionClosedError:
            self._pending.pop(conn, None)
            return
        if not ready:  # over its bound: compute nothing until the page reads
            self._waiting.add(conn)
            self.waited += 1
            return
        if query.smooth > 0:
            wanted = query.series if query.series is not None else range(len(self._data()))
            if not all(self._smoothing(s, query.smooth) for s in wanted):  # one slice at most
                self._loop.call_soon(self._answer, conn)  # the loop serves other sockets, then the next slice
                return
        del self._pending[conn]
        data = self._data()
        wanted = query.series if query.series is not None else range(len(data))
        query = bounded(query, len(wanted))
        split = {s: runs for s in wanted if not data[s][2] and (runs := self._runs(s)) is not None}
        answer = answer_runs(query, data, self._smoother, split) if split else answer_view(query, data, self._smoother)
        try:
            sent = conn.send_message(answer)
        except (SendBufferFullError, ConnectionClosedError):  # policy 'error', or the socket went meanwhile
            sent = False
        if not sent:  # refused: the page would wait for this answer forever
            self.refused += 1
            if not conn.lost:
                conn.start_close(1013, "view answer refused: server send buffers full; try again later")
            return
        if split:
            self.by_runs += 1
        self.answered += 1
