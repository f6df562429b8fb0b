"""A kernel's announcement to the relays (``nbws.relay.wire.Announcement``):
what it serves, written to the backplane value ``relay:announce`` (a relay
started later reads it) with a notice whenever it changes (debounced by
50 ms). One writer at a time, so the newest state is what is stored last;
each write carries the app's name and a version that grows (signed with
``relay_secret``). Runs on the I/O thread.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from ..backplane import PLOT
from ..errors import BackplaneUnavailableError
from .tasks import Backoff
from .wire import ANNOUNCE_KEY, ANNOUNCED, Announcement, encode_announcement

if TYPE_CHECKING:
    from ..io.endpoint import Endpoint

__all__ = ["Announcer", "DEBOUNCE"]

DEBOUNCE = 0.05
"""Seconds between a change and its announcement (changes meanwhile go in the same one)."""


class Announcer:
    """Announcing one endpoint's app. I/O thread."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.ep = endpoint
        self.bp = endpoint.router.backplane
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None
        self._dirty = False
        self._version = 0
        self._stopping = False

    def changed(self) -> None:
        """Pages, sockets, plots or channels changed: announce (debounced)."""
        self._dirty = True
        if self._timer is None and not self._stopping:
            self._timer = self.ep.io.loop.call_later(DEBOUNCE, self._soon)

    def _soon(self) -> None:
        self._timer = None
        if self._task is None or self._task.done():  # one writer: the newest state is written last
            self._task = self.ep.io.loop.create_task(self._announce())

    def announcement(self) -> Announcement:
        """What a relay needs to serve this server's app, now."""
        ep = self.ep
        pages = {path: (ctype, body) for path, (body, ctype) in ep.routes.pages.items()
                 if path not in ep.routes.private}
        for prefix, spec, _, _ in ep.spec.static.routes:
            if spec.text is not None:
                pages[prefix or "/"] = (spec.content_type or "text/html; charset=utf-8", spec.text)
        plots = {name: thing._meta() for (kind, name), thing in ep.live.items() if kind == PLOT}
        channels = {name: thing.policy for (kind, name), thing in ep.live.items() if kind != PLOT}
        return Announcement(self.bp.node, pages, ep.spec.ws_patterns, plots, channels,
                            tuple(sorted(ep.routes.relayed)))

    async def _announce(self) -> None:
        """Write the announcement, built when it is written (a change during a retry is in the next
        attempt), until what is stored is the newest; then tell the relays. The only writer (a change
        after an unexpected error starts another). I/O thread."""
        retry = Backoff("announcing to the relays")
        while self._dirty and not self._stopping:
            self._dirty = False
            self._version = max(self._version + 1, time.time_ns() // 1000)
            raw = encode_announcement(self.announcement(), self.ep.settings.relay_secret, self.bp.app or "",
                                      self._version)
            try:
                await self.bp.put(ANNOUNCE_KEY, raw)
            except BackplaneUnavailableError as exc:
                self._dirty = True
                await retry.failed(exc)
                continue
            retry.ok()
            if not self._dirty:
                self.bp.publish(ANNOUNCED, "", self.bp.node)

    async def stop(self) -> None:
        """No more announcements (one being written is cancelled)."""
        self._stopping = True
        if self._timer is not None:
            self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
