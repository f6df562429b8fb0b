"""A relay's I/O-thread side: serve what the kernel announced, forward the
pages' traffic to the kernel's queue, and fan the kernel's out to the pages.

:class:`RelaySide` runs on the endpoint of an ``nbws relay`` (a server with
no user code). It reads the announcement (``relay:announce``) when it starts
and whenever a kernel says it changed, and serves its pages from memory, its
WebSocket paths (each socket a :class:`~nbws.relay.pages.RelayPage`), the
helper's ``/_nbws/ws`` and, per live plot, a :class:`PlotMirror`.

Every record for the kernel (opens, messages, closes) goes through one
ordered outbox written to the queue one entry at a time (a page's messages
stay in order; a message is acknowledged to its page once it is in the
queue). While the broker is down the outbox waits, up to
``backplane_buffer_messages``; a page whose message would pass that bound is
closed with 1013 (it comes back later and sends again what was not
acknowledged). Emits from the kernel carry their number in the app's log and
go to the session pages in one shared frame, and unnumbered to the others.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import random
import re
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ..app import ENVELOPE_PATH
from ..backplane import CHANNEL, EMIT, PLOT, parse_id
from ..boundary import on_io_thread
from ..boundary.replay import sequenced
from ..errors import BackplaneUnavailableError
from ..live.channel import Feed
from .pages import LOG_RESTARTED, READ_BATCH, RelayPage
from .plots import PlotMirror
from .wire import (
    ALIVE,
    ALIVE_EVERY,
    ANNOUNCE_KEY,
    ANNOUNCED,
    CHANNEL_ASK,
    CLOSE,
    EMIT_LOG,
    EPOCH,
    HISTORY,
    HISTORY_ASK,
    INBOX,
    MANY,
    SEND,
    Announcement,
    Inbound,
    decode_announcement,
    decode_many,
    encode_inbound,
    sequenced_number,
    unsequenced,
)

if TYPE_CHECKING:
    from ..io.endpoint import Endpoint
    from ..io.routes import SocketOpened
    from ..io.wsconn import WsConnection

__all__ = ["RelaySide"]

log = logging.getLogger("nbws")
READS = 8
"""Most log reads a relay makes at once (each page that resumes makes one or more)."""


class RelaySide:
    """One relay's pages and its link to the app's kernel. I/O thread."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.ep = endpoint
        self.io = endpoint.io
        self.bp = endpoint.router.backplane
        self.node = self.bp.node
        self.pages: dict[str, RelayPage] = {}
        self.offset = 0
        """The number (in the app's emit log) of the last emit relayed."""
        self.epoch = ""
        """The emit log's epoch, as far as this relay knows ("": not yet)."""
        self.kernel = ""
        self.patterns: list[re.Pattern[str]] = []
        self.relayed: frozenset[str] = frozenset()
        """Paths of the kernel's I/O-thread sockets served here too (the classroom's)."""
        self.mirrors: dict[str, PlotMirror] = {}
        self.channels: dict[str, Feed] = {}
        """The kernel's channels, served here (``/_nbws/channel/<name>``) with their policy."""
        self.door: Any = None
        """The kernel's uplink door (``nbws.relay.uplink``), on a relay without Redis."""
        self.announced: Announcement | None = None
        self.forwarded = 0
        self.refused = 0
        self.restarts = 0
        self._out: deque[tuple[bytes, Callable[[], None] | None]] = deque()
        self._wake = asyncio.Event()
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._beat: asyncio.TimerHandle | None = None
        self._stopping = False
        self._heard = 0
        self.reads = asyncio.Semaphore(READS)
        """Log reads at once (pages resuming)."""

    async def start(self) -> None:
        """Serve ``/_nbws/ws`` and what the kernel announced; start the outbox and the heartbeat."""
        router, routes = self.ep.router, self.ep.routes
        router.listen(ANNOUNCED, "", lambda _: self.spawn(self.load()))
        router.listen(EMIT, "", self._emit)
        router.listen(MANY, "", self._many)
        router.listen(EPOCH, "", self._new_epoch)
        routes.add_socket(ENVELOPE_PATH, lambda conn: self._opened(conn, True))
        routes.socket_fallback = self._match
        self.spawn(self._sender())
        self._alive()
        await self.load()
        await self.catch_up()  # the log's epoch before any page is numbered (and the log's end)

    async def stop(self) -> None:
        """Tell the kernel the pages are gone (for at most a second), then stop."""
        self._stopping = True
        if self._beat is not None:
            self._beat.cancel()
        for page in list(self.pages.values()):
            page.gone = True
            self.left(page, Inbound("close", self.node, page.id, code=1001, reason="relay stopping"))
        self._wake.set()
        deadline = self.io.loop.time() + 1.0
        while self._out and self.io.loop.time() < deadline:
            await asyncio.sleep(0.01)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` on the I/O loop (cancelled at stop)."""
        task = self.io.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _alive(self) -> None:
        self.bp.publish(ALIVE, "", self.node)
        # (reconnects, not numbering.missed: a gap shows only when the sender's next message comes)
        heard = self.bp.reconnects
        if heard != self._heard:  # the subscription was down: what the kernel emitted meanwhile is in the log
            self._heard = heard
            self.spawn(self.catch_up())
        if not self._stopping:
            self._beat = self.io.loop.call_later(ALIVE_EVERY, self._alive)

    # -- what the kernel announced --

    async def load(self) -> None:
        """Read the announcement and serve it."""
        try:
            raw = await self.bp.get(ANNOUNCE_KEY)
        except BackplaneUnavailableError as exc:
            log.warning("nbws relay: cannot read the app's announcement yet (%s)", exc)
            return
        if raw is None:
            return
        found = decode_announcement(raw, self.ep.settings.relay_secret)
        if found is None:
            log.warning("nbws relay: ignoring an announcement that is malformed or not signed with relay_secret")
            return
        self.apply(found)

    @on_io_thread
    def apply(self, a: Announcement) -> None:
        """Serve ``a``'s pages, sockets and plots (pages no longer announced go)."""
        routes = self.ep.routes
        if self.announced is not None:
            for path in self.announced.pages:
                if path not in a.pages:
                    routes.pages.pop(path, None)
        for path, (ctype, body) in a.pages.items():
            routes.add_page(path, body, ctype)
        self.patterns = [re.compile(p) for p in a.sockets]
        self.relayed = frozenset(a.relayed)
        self.kernel = a.node
        for name, meta in a.plots.items():
            if name not in self.mirrors:
                mirror = PlotMirror(name, meta, functools.partial(self._ask, name), self.io.loop.call_later)
                self.mirrors[name] = mirror
                routes.add_socket(f"/live/{name}/ws", mirror.subscribe)
                self.ep.router.listen(PLOT, name, mirror.frame)
                self.ep.router.listen(HISTORY, name, mirror.answer)
            elif self.announced is None or self.announced.node != a.node:
                self.mirrors[name].ask()  # a new kernel: its history
        for name, policy in a.channels.items():
            if name not in self.channels and re.fullmatch(r"[A-Za-z0-9_.-]+", name):
                feed = self.channels[name] = Feed(policy, self.io.loop)
                routes.add_socket(f"/_nbws/channel/{name}", feed.subscribe)
                self.ep.router.listen(CHANNEL, name, feed.publish)
                self.ask_channel(name)
            elif name in self.channels and (self.announced is None or self.announced.node != a.node):
                self.ask_channel(name)  # a new kernel: its latest value
        self.announced = a

    def ask_channel(self, name: str) -> None:
        """Ask the kernel for a channel's latest value (a page joining here gets it under ``latest``)."""
        if self.kernel and self.channels[name].policy == "latest":
            self.bp.send_to(self.kernel, CHANNEL_ASK, "", json.dumps([self.node, name]))

    def _ask(self, name: str) -> None:
        if self.kernel:
            self.bp.send_to(self.kernel, HISTORY_ASK, "", json.dumps([self.node, name]))

    def _match(self, path: str) -> SocketOpened | None:
        if path in self.relayed:
            return lambda conn: self._opened(conn, False)
        for pattern in self.patterns:
            if pattern.fullmatch(path):
                return lambda conn: self._opened(conn, False)
        return None

    # -- pages --

    def _opened(self, conn: WsConnection, envelope: bool) -> None:
        conn_id = str(next(self._ids))
        page = RelayPage(self, conn, conn_id, envelope)
        conn.listener = page
        self.pages[conn_id] = page
        self.ep.router.listen(SEND, conn_id, lambda data: page.to_page(SEND, data))
        self.ep.router.listen(CLOSE, conn_id, lambda data: page.to_page(CLOSE, data))
        self.forward(page, page.opened(), None)

    def _many(self, data: str | bytes) -> None:
        """One message from the kernel for several of this relay's sockets."""
        found = decode_many(data)
        if found is None:
            return
        conns, message = found
        for conn_id in conns:
            page = self.pages.get(conn_id)
            if page is not None:
                page.to_page(SEND, message)

    def left(self, page: RelayPage, record: Inbound) -> None:
        """A page's socket is gone."""
        self.pages.pop(page.id, None)
        self.ep.router.forget(SEND, page.id)
        self.ep.router.forget(CLOSE, page.id)
        self.forward(page, record, None, force=True)

    def forward(self, page: RelayPage, record: Inbound, done: Callable[[], None] | None, force: bool = False) -> None:
        """Queue ``record`` for the kernel; ``done()`` runs once it is in the queue."""
        if len(self._out) >= self.ep.settings.backplane_buffer_messages and not force:
            self.refused += 1
            page.conn.start_close(1013, "the relay cannot reach the app's queue: try again later")
            return
        self._out.append((encode_inbound(record), done))
        self._wake.set()

    async def _sender(self) -> None:
        delay = 0.05
        while True:
            if not self._out:
                self._wake.clear()
                await self._wake.wait()
                continue
            raw, done = self._out[0]
            try:
                await self.bp.enqueue(INBOX, raw)
            except BackplaneUnavailableError:
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(2.0, delay * 2)
                continue
            delay = 0.05
            self._out.popleft()
            self.forwarded += 1
            if done is not None:
                done()

    # -- emits --

    @on_io_thread
    def _emit(self, data: str | bytes) -> None:
        """An emit from the kernel, numbered by the app's log."""
        if not isinstance(data, str):
            return
        n = sequenced_number(data)
        if n is None:
            return
        if n <= self.offset:  # the log started again (Redis lost it): session pages must hear of it
            self._restarted(n)
        self.offset = n
        plain = unsequenced(data)
        numbered, others = [], []
        for page in self.pages.values():
            if page.mode == "plain":
                others.append(page.conn)
            elif page.mode != "closing" and page.emitted(n, data, plain):
                numbered.append(page.conn)
        if numbered:
            self.ep.broadcast(data, numbered)
        if others:
            self.ep.broadcast(plain, others)

    def _new_epoch(self, data: str | bytes) -> None:
        """The kernel's first emit in a new epoch of the log comes next (numbered ``n``)."""
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        epoch, _, n = text.partition(" ")
        if self.epoch and epoch != self.epoch and n.isdigit():
            self._restarted(int(n) - 1)  # the log was lost: session pages come back and are told
        self.epoch = epoch

    async def catch_up(self) -> None:
        """Relay what the app's log has after :attr:`offset` (emits published while this relay's
        subscription was down); a log that restarted (Redis lost it: another epoch, or fewer
        entries) closes the session pages, who come back and are told."""
        try:
            async with self.reads:
                found = await self.bp.read(EMIT_LOG, f"0-{self.offset}", READ_BATCH)
                other = bool(self.epoch) and bool(found.epoch) and found.epoch != self.epoch
                if found.epoch:
                    self.epoch = found.epoch
                if other or (found.missed and not found.entries and self.offset > 0):
                    newest = (await self.bp.read(EMIT_LOG, "0-0", READ_BATCH)).entries
                    self._restarted(parse_id(newest[-1].id)[1] if newest else 0)
                    return
        except BackplaneUnavailableError:
            self._heard = -1  # try again at the next heartbeat
            return
        for entry in found.entries:
            n = parse_id(entry.id)[1]
            if n > self.offset:  # (live ones may have come meanwhile)
                self._emit(sequenced(n, entry.payload.decode("utf-8", "replace")))

    def _restarted(self, offset: int) -> None:
        """The log started again: session pages come back (and are told); numbering goes on from ``offset``."""
        self.restarts += 1
        for page in self.pages.values():
            if page.mode in ("live", "replaying"):
                page.conn.start_close(LOG_RESTARTED, "the app's message log restarted")
                page.mode = "closing"
        self.offset = offset

    def stats(self) -> dict[str, Any]:
        """Counters, for tests and the command's status."""
        return {"pages": len(self.pages), "forwarded": self.forwarded, "waiting": len(self._out),
                "refused": self.refused, "offset": self.offset, "epoch": self.epoch, "restarts": self.restarts,
                "plots": sorted(self.mirrors), "channels": sorted(self.channels), "kernel": self.kernel,
                **(self.door.stats() if self.door is not None else {})}
