"""A kernel's side of ``nbws relay``: what it announces, what it takes from
the relays' queue, and how its emits are numbered for every page.

A server with user code whose backplane is shared (``app_name``) runs one
:class:`KernelSide` on its endpoint, on the I/O thread:

* **Announcing**: its in-memory pages, static texts, WebSocket route
  patterns, live plots and channels go into the backplane value
  ``relay:announce`` (a relay started later reads it) and a notice is
  published whenever they change (debounced by 50 ms).
* **Inbound**: one task takes the relays' records from the consumer-group
  queue ``relay-in``, hands each to the handler plane (the socket's open, its
  messages, its close: a :class:`nbws.WebSocket` per page, on the app's
  usual handlers) and acknowledges the batch once handed over. A message
  whose idempotency key and number were handled before is skipped, so a
  message a page sent again through another relay is handled once. After a
  broker error it reads its own pending entries again first; entries of a
  consumer silent for 30 s are claimed.
* **Emits**: ``server.emit`` goes to this server's pages at once, and to
  the log ``emit`` (one append at a time, in order); the log's id numbers it
  (``{"seq": n, ...}``) when it is published, so every relay numbers it the
  same and a page can resume on any of them. While the broker is down emits
  wait (at most ``backplane_buffer_messages``; past that the oldest are
  dropped and counted).
* **Sockets served on the I/O thread** (``Routes.add_socket(...,
  relayed=True)``: the classroom's): a relay's socket on such a path is a
  :class:`~nbws.relay.peers.RemotePeer` handed to the service's ``opened``
  (on the I/O thread, no handler plane); its messages and close come from the
  queue like the app's sockets', what the service sends goes back grouped per
  relay (:class:`~nbws.relay.peers.Outgoing`).
* **Relays' liveness**: a relay silent for 10 s is gone; its pages' sockets
  close here with 1006.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import struct
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any

from ..backplane import CHANNEL, EMIT, PLOT, parse_id
from ..boundary import deliver, on_io_thread
from ..boundary.replay import sequenced
from ..errors import BackplaneUnavailableError
from ..io.routes import tell
from ..messages import Headers, Request
from ..websocket import WebSocket
from .peers import Outgoing, RemotePeer
from .remote import RemoteLink
from .wire import (
    ALIVE,
    ALIVE_EVERY,
    ANNOUNCE_KEY,
    ANNOUNCED,
    CHANNEL_ASK,
    EMIT_LOG,
    EPOCH,
    GROUP,
    HISTORY,
    HISTORY_ASK,
    INBOX,
    Announcement,
    Inbound,
    decode_inbound,
    encode_announcement,
)

if TYPE_CHECKING:
    from ..io.endpoint import Endpoint

__all__ = ["KernelSide", "CLAIM_IDLE", "RELAY_TIMEOUT"]

log = logging.getLogger("nbws")
CLAIM_IDLE = 30.0
"""Seconds an entry may stay pending with a silent consumer before another kernel claims it."""
RELAY_TIMEOUT = 5 * ALIVE_EVERY
"""Seconds without a relay's heartbeat before its pages' sockets close (1006)."""
BATCH = 512
MAX_KEYS = 200_000
"""Idempotency keys remembered (the least recently used are forgotten)."""


class KernelSide:
    """Announcing, the inbound queue and numbered emits for one endpoint. I/O thread."""

    def __init__(self, endpoint: Endpoint) -> None:
        self.ep = endpoint
        self.bp = endpoint.router.backplane
        self.sockets: dict[tuple[str, str], WebSocket] = {}
        self.peers: dict[tuple[str, str], RemotePeer] = {}
        """Sockets on relays served by this node's I/O thread (``Routes.relayed``)."""
        self.out = Outgoing(self.send, endpoint.io.loop.call_soon)
        self.relays: dict[str, float] = {}
        self.seen: OrderedDict[str, int] = OrderedDict()
        self.handled = 0
        """Inbound messages handed to the handler plane."""
        self.repeats = 0
        """Inbound messages skipped as already handled (a page's resend through another relay)."""
        self.orphans = 0
        """Records for a socket this kernel does not know (its open went elsewhere, or was lost)."""
        self.emits_dropped = 0
        self.log_epoch = ""
        """The emit log's epoch of the last emit appended (relays hear when it changes)."""
        self._emits: deque[str] = deque()
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._announce_timer: asyncio.TimerHandle | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._stopping = False

    async def start(self) -> None:
        """Listen, announce, and start the queue's consumer and the emit log's writer."""
        router = self.ep.router
        router.listen(ALIVE, "", self._alive)
        router.listen(HISTORY_ASK, "", self._history_asked)
        router.listen(CHANNEL_ASK, "", self._channel_asked)
        self.ep.routes.changed = self.changed
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._consume()), loop.create_task(self._emitter())]
        self._sweeper = loop.call_later(ALIVE_EVERY, self._sweep)
        self.changed()

    async def stop(self) -> None:
        """Stop consuming (what was taken and not acknowledged goes to another kernel, or to this one's
        next start); emits still waiting for the broker are dropped."""
        self._stopping = True
        for timer in (self._announce_timer, self._sweeper):
            if timer is not None:
                timer.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # -- announcing --

    def changed(self) -> None:
        """Pages, sockets, plots or channels changed: announce (debounced)."""
        if self._announce_timer is None and not self._stopping:
            self._announce_timer = self.ep.io.loop.call_later(0.05, self._announce_soon)

    def _announce_soon(self) -> None:
        self._announce_timer = None
        self._tasks.append(self.ep.io.loop.create_task(self._announce()))
        self._tasks = [t for t in self._tasks if not t.done()]

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
        raw = encode_announcement(self.announcement(), self.ep.settings.relay_secret)
        delay = 0.05
        while not self._stopping:
            try:
                await self.bp.put(ANNOUNCE_KEY, raw)
                break
            except BackplaneUnavailableError:
                await asyncio.sleep(delay)
                delay = min(2.0, delay * 2)
        self.bp.publish(ANNOUNCED, "", self.bp.node)

    # -- relays --

    def _alive(self, data: str | bytes) -> None:
        relay = data if isinstance(data, str) else data.decode("utf-8", "replace")
        if relay not in self.relays:
            self.changed()  # a relay that started (or came back) hears the announcement again
        self.relays[relay] = time.monotonic()

    def _sweep(self) -> None:
        """Close the sockets of relays gone silent."""
        now = time.monotonic()
        for relay, heard in list(self.relays.items()):
            if now - heard > RELAY_TIMEOUT:
                del self.relays[relay]
                for key in [k for k in self.sockets if k[0] == relay]:
                    self._closed(self.sockets.pop(key), 1006, "the page's relay stopped answering")
                for key in [k for k in self.peers if k[0] == relay]:
                    self.peers.pop(key).gone()
        if not self._stopping:
            self._sweeper = self.ep.io.loop.call_later(ALIVE_EVERY, self._sweep)

    def _history_asked(self, data: str | bytes) -> None:
        """A relay asks for a plot's meta and history: answer it alone."""
        try:
            relay, name = json.loads(data)
            plot = self.ep.live.get((PLOT, str(name)))
        except (ValueError, TypeError):
            return
        if plot is None:
            return
        meta = plot._meta().encode()
        self.bp.send_to(str(relay), HISTORY, str(name), struct.pack("<I", len(meta)) + meta + plot._history_frame())

    def _channel_asked(self, data: str | bytes) -> None:
        """A relay asks for a channel's latest value: answer it alone (under ``latest``, when there is one)."""
        try:
            relay, name = json.loads(data)
            channel = self.ep.live.get((CHANNEL, str(name)))
        except (ValueError, TypeError):
            return
        latest = channel._feed.latest if channel is not None and channel.policy == "latest" else None
        if latest is not None:
            self.bp.send_to(str(relay), CHANNEL, str(name), latest)

    def send(self, relay: str, kind: str, conn: str, data: str | bytes) -> None:
        """To one relay (a page's message or close)."""
        self.bp.send_to(relay, kind, conn, data)

    # -- inbound --

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        node, recover, delay, claim_at = self.bp.node, False, 0.05, loop.time() + CLAIM_IDLE
        while not self._stopping:
            try:
                if recover:  # what this consumer took before a broker error, again (repeats are skipped)
                    entries = await self.bp.pending(INBOX, GROUP, node, BATCH)
                    recover = len(entries) == BATCH
                elif loop.time() >= claim_at:
                    entries = await self.bp.claim(INBOX, GROUP, node, CLAIM_IDLE, BATCH)
                    claim_at = loop.time() + CLAIM_IDLE / 2
                else:
                    entries = await self.bp.take(INBOX, GROUP, node, BATCH, 1.0)
                for entry in entries:
                    record = decode_inbound(entry.payload)
                    if record is None:
                        self.bp.bad += 1
                    else:
                        self._handle(record)
                if entries:
                    await self.bp.ack(INBOX, GROUP, [e.id for e in entries])
                delay = 0.05
            except BackplaneUnavailableError:
                recover = True
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(2.0, delay * 2)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("nbws: handling the relays' queue failed")
                await asyncio.sleep(0.5)

    @on_io_thread
    def _handle(self, r: Inbound) -> None:
        """One record: handed to the handler plane (in order)."""
        where = (r.relay, r.conn)
        self.relays.setdefault(r.relay, time.monotonic())
        if r.kind == "open":
            if r.path in self.ep.routes.relayed:
                if where not in self.peers:
                    self._open_peer(r)
            elif where not in self.sockets:
                self._open(r)
            return
        user = self.sockets.get(where)
        peer = self.peers.get(where)
        if r.kind == "close":
            if user is not None:
                del self.sockets[where]
                self._closed(user, r.code, r.reason)
            if peer is not None:
                del self.peers[where]
                peer.gone()
            return
        last = self.seen.get(r.key)
        if last is not None and r.n <= last:
            self.repeats += 1
            return
        self.seen[r.key] = r.n
        self.seen.move_to_end(r.key)
        if len(self.seen) > MAX_KEYS:
            self.seen.popitem(last=False)
        if peer is not None:
            self.handled += 1
            if peer.listener is not None and not peer.lost:
                tell(peer.listener, peer.as_conn(), r.data)
            return
        if user is None:
            self.orphans += 1
            return
        self.handled += 1
        data = r.data
        deliver(self.ep.plane, lambda: user._deliver(data), now=True)

    def _open(self, r: Inbound) -> None:
        ep = self.ep
        request = Request("GET", r.path, r.query, Headers(r.headers), remote_addr=r.remote,
                          raw_path=r.path + (f"?{r.query}" if r.query else ""))
        user = WebSocket(RemoteLink(self.send, r.relay, r.conn), ep.plane, request, None,
                         ep.settings.close_on_handler_error, r.remote)
        self.sockets[(r.relay, r.conn)] = user
        on_open = ep.spec.on_ws_open if ep.spec.accepts_websocket(r.path) else None
        if on_open is None:
            user.close(1008, "no WebSocket route for this path")

        def job() -> None:  # handler plane
            ep.opened(user)
            if on_open is not None:
                user._run_callback(on_open, user)

        deliver(ep.plane, job)

    def _open_peer(self, r: Inbound) -> None:
        """A socket on a relay for a service on this I/O thread (a classroom's student or view)."""
        opened = self.ep.routes.sockets.get(r.path)
        peer = RemotePeer(self.out, r.relay, r.conn, r.remote)
        self.peers[(r.relay, r.conn)] = peer
        if opened is None:
            peer.start_close(1008, "no WebSocket route for this path")
            return
        opened(peer.as_conn())

    def _closed(self, user: WebSocket, code: int, reason: str) -> None:
        ep = self.ep

        def job() -> None:  # handler plane
            ep.closed(user)
            user._finish(code, reason)

        deliver(ep.plane, job)

    # -- numbered emits --

    @on_io_thread
    def emit(self, text: str) -> None:
        """``server.emit``: this server's pages now; the app's log, then every other node, numbered."""
        self.ep.emit_text(text)
        self._emits.append(text)
        limit = self.ep.settings.backplane_buffer_messages
        while len(self._emits) > limit:
            self._emits.popleft()
            self.emits_dropped += 1
        self._wake.set()

    async def _emitter(self) -> None:
        delay = 0.05
        while not self._stopping:
            if not self._emits:
                self._wake.clear()
                await self._wake.wait()
                continue
            text = self._emits[0]
            try:
                entry, epoch = await self.bp.append_with_epoch(EMIT_LOG, text.encode())
            except BackplaneUnavailableError:
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(2.0, delay * 2)
                continue
            delay = 0.05
            if self._emits and self._emits[0] is text:
                self._emits.popleft()
            n = parse_id(entry)[1]
            if epoch and epoch != self.log_epoch:  # a new log (or the first): relays hear it before its emits
                self.log_epoch = epoch
                self.bp.publish(EPOCH, "", f"{epoch} {n}")
            self.bp.publish(EMIT, "", sequenced(n, text))

    def stats(self) -> dict[str, Any]:
        """Counters, for tests and the relay's status."""
        return {"handled": self.handled, "repeats": self.repeats, "orphans": self.orphans,
                "remote_sockets": len(self.sockets), "remote_peers": len(self.peers), "peer_messages": self.out.sent,
                "relays": len(self.relays), "emits_waiting": len(self._emits),
                "emits_dropped": self.emits_dropped}
