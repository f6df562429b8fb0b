"""A relay's mirror of one live plot: its meta, a history from the kernel,
and the frames since, so a page that joins the relay late draws what a page
on the kernel would.

The relay asks the kernel for the plot's meta and (M4-decimated) history
once it learns of the plot, and again whenever the frames kept since the
last history pass :data:`MIRROR_BYTES`; the answer replaces the history and
the frames before it (it includes them: the kernel sends frames and answers
in order, and the backplane keeps one sender's order). Pages that join
before the first answer wait for it (at most :data:`ANSWER_WAIT` seconds,
then get the meta and the frames seen so far). Runs on the I/O thread.
"""

from __future__ import annotations

import json
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..boundary import on_io_thread

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection

__all__ = ["PlotMirror", "MIRROR_BYTES", "ANSWER_WAIT"]

MIRROR_BYTES = 8 * 1024 * 1024
"""Bytes of frames kept since the last history before asking for a new one."""
ANSWER_WAIT = 3.0
"""Seconds a joining page waits for the kernel's first history."""
CLIENT_BUFFER = 4 * 1024 * 1024
"""Unsent bytes a page may have before it skips frames (as ``LivePlot.client_buffer``)."""


class PlotMirror:
    """One plot on a relay. I/O thread."""

    def __init__(self, name: str, meta: str, ask: Callable[[], None], later: Callable[[float, Callable[[], None]], object]
                 ) -> None:
        self.name = name
        self.meta = meta
        self._ask = ask
        self._later = later
        self.history: bytes | None = None
        self.frames: deque[bytes] = deque()
        self.frames_bytes = 0
        self.asking = False
        self.waiting: list[WsConnection] = []
        self.subscribers: set[WsConnection] = set()
        self.skipped = 0
        self.ask()

    def ask(self) -> None:
        """Ask the kernel for the meta and history (once at a time)."""
        if not self.asking:
            self.asking = True
            self._ask()
            if self.history is None:
                self._later(ANSWER_WAIT, self._gave_up)

    def _gave_up(self) -> None:
        if self.history is None and self.waiting:
            waiting, self.waiting = self.waiting, []
            for conn in waiting:
                self._serve(conn)

    @on_io_thread
    def answer(self, data: str | bytes) -> None:
        """The kernel's meta and history: replaces what was kept."""
        if isinstance(data, str) or len(data) < 4:
            return
        (size,) = struct.unpack_from("<I", data)
        try:
            meta = data[4:4 + size].decode("utf-8")  # (json.loads would take UTF-16 and UTF-32 bytes too)
            json.loads(meta)
        except (ValueError, RecursionError):
            return
        self.meta = meta
        self.history = bytes(data[4 + size:])
        self.frames.clear()
        self.frames_bytes = 0
        self.asking = False
        waiting, self.waiting = self.waiting, []
        for conn in waiting:
            self._serve(conn)

    @on_io_thread
    def frame(self, data: str | bytes) -> None:
        """A frame the kernel published: kept, and sent to this relay's pages."""
        if isinstance(data, str):
            return
        self.frames.append(data)
        self.frames_bytes += len(data)
        if self.frames_bytes > MIRROR_BYTES:
            self.ask()
            while self.frames_bytes > 2 * MIRROR_BYTES and len(self.frames) > 1:  # the kernel does not answer
                self.frames_bytes -= len(self.frames.popleft())
        for conn in list(self.subscribers):
            if conn.lost:
                self.subscribers.discard(conn)
                continue
            waiting = conn.pending_out()
            if waiting and waiting + len(data) > CLIENT_BUFFER:
                self.skipped += 1
                continue
            conn.send_message(data)

    @on_io_thread
    def subscribe(self, conn: WsConnection) -> None:
        """A page opened the plot's socket on this relay."""
        if self.history is None and self.asking:
            self.waiting.append(conn)
        else:
            self._serve(conn)

    def _serve(self, conn: WsConnection) -> None:
        if conn.lost:
            return
        conn.send_message(self.meta)
        if self.history:
            conn.send_message(self.history)
        for frame in self.frames:
            conn.send_message(frame)
        self.subscribers.add(conn)
