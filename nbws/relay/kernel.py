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
  usual handlers), and acknowledges an entry once the handler plane has
  taken its message (``ledger``: it takes no more while ``receive_buffer_size``
  bytes or 10,000 messages wait there; the rest waits in the queue). A message
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
  queue like the app's sockets' (once each: the same idempotency keys and
  ``max_remote_sockets``; a message is handled when it is taken, so the entry
  is acknowledged at once), what the service sends goes back grouped per
  relay (:class:`~nbws.relay.peers.Outgoing`).
* **Relays' liveness**: a relay silent for 10 s (while this kernel's own
  subscription was up: an outage of the broker itself does not count) is
  gone; its pages' sockets close here with 1006 (a service's peers hear they
  are lost), and should the relay come back it is told to close them (1012:
  the pages reconnect and open again). A record for a socket this kernel
  does not know (it restarted, or closed the socket that way) is counted as
  an orphan and the relay is told to close the page's socket (1012), so the
  page reconnects instead of talking to nobody.
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from ..backplane import CHANNEL, EMIT, PLOT, parse_id
from ..boundary import deliver, on_io_thread
from ..boundary.replay import sequenced
from ..errors import BackplaneUnavailableError
from ..io.routes import tell
from ..messages import Headers, Request
from ..websocket import WebSocket
from .announcer import Announcer
from .ledger import Keys, Ledger
from .peers import Outgoing, RemotePeer
from .remote import RemoteLink
from .tasks import Backoff, keep
from .wire import (
    ALIVE,
    ALIVE_EVERY,
    CHANNEL_ASK,
    CLOSE,
    EMIT_LOG,
    EPOCH,
    GROUP,
    HISTORY,
    HISTORY_ASK,
    INBOX,
    Inbound,
    decode_inbound,
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
"""Idempotency keys of closed sessions remembered (for ``session_timeout``; past this many the oldest go)."""
GONE = "1012 the app's kernel no longer knows this socket (it restarted, or lost the relay): reconnect"
"""The close the kernel asks a relay for when a page talks to a socket it does not have."""
MAX_DROPPED = 100_000
"""Sockets of relays gone silent remembered, to close them should the relay come back."""


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
        self.dropped: dict[str, list[str]] = {}
        """relay -> its sockets closed here when it went silent (it is told to close them if it comes back)."""
        self.keys = Keys(endpoint.settings.session_timeout, MAX_KEYS)
        """Idempotency keys of the messages handled."""
        self.ledger = Ledger(endpoint.settings.receive_buffer_size, BATCH)
        """Messages handed to the handler plane and not yet dequeued there (acknowledged once they are)."""
        self.refused = 0
        """Remote sockets refused at ``max_remote_sockets``."""
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
        self.announcer = Announcer(endpoint)
        self._reconnects = 0
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
        stopping = lambda: self._stopping
        self._tasks = [loop.create_task(keep("taking from the relays' queue", self._consume, stopping)),
                       loop.create_task(keep("writing emits to the app's log", self._emitter, stopping))]
        self._sweeper = loop.call_later(ALIVE_EVERY, self._sweep)
        self.changed()

    async def stop(self) -> None:
        """Stop consuming (what was taken and not acknowledged goes to another kernel, or to this one's
        next start); emits still waiting for the broker are dropped."""
        self._stopping = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        await self.announcer.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    def changed(self) -> None:
        """Pages, sockets, plots or channels changed: announce (debounced)."""
        self.announcer.changed()

    # -- relays --

    def _alive(self, data: str | bytes) -> None:
        relay = data if isinstance(data, str) else data.decode("utf-8", "replace")
        if relay not in self.relays:
            self.changed()  # a relay that started (or came back) hears the announcement again
            for conn in self.dropped.pop(relay, ()):  # it came back: its pages' sockets are gone here
                self.send(relay, CLOSE, conn, GONE)
        self.relays[relay] = time.monotonic()

    def _sweep(self) -> None:
        """Close the sockets of relays gone silent. While this kernel's own
        subscription is down it hears nobody: that time does not count."""
        now = time.monotonic()
        if not self.bp.connected:
            for relay in self.relays:
                self.relays[relay] = now
        elif self.bp.reconnects != self._reconnects:  # the broker may have lost the announcement (a restart)
            self._reconnects = self.bp.reconnects
            self.changed()
        remembered = sum(map(len, self.dropped.values()))
        for relay, heard in list(self.relays.items()):
            if now - heard > RELAY_TIMEOUT:
                del self.relays[relay]
                gone = self.dropped.setdefault(relay, [])
                for key in [k for k in self.sockets if k[0] == relay]:
                    user = self.sockets[key]
                    self._forget(key)
                    self._closed(user, 1006, "the page's relay stopped answering")
                    if remembered < MAX_DROPPED:
                        gone.append(key[1])
                        remembered += 1
                for key in [k for k in self.peers if k[0] == relay]:
                    self._forget_peer(key).gone()
                    if remembered < MAX_DROPPED:
                        gone.append(key[1])
                        remembered += 1
        self.keys.sweep()
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
        """Take the relays' records from the queue and hand them to the handler plane, in order;
        after a broker error, this consumer's own pending entries first; now and then, entries a
        silent consumer left. Runs on the I/O thread until :meth:`stop` (kept running by ``keep``)."""
        loop = asyncio.get_running_loop()
        node, recover, claim_at = self.bp.node, False, loop.time() + CLAIM_IDLE
        retry = Backoff("taking from the relays' queue")
        while not self._stopping:
            try:
                if recover:  # what this consumer took before a broker error, again (repeats are skipped)
                    entries = await self.bp.pending(INBOX, GROUP, node, BATCH)
                    recover = len(entries) == BATCH
                elif loop.time() >= claim_at:
                    entries = await self.bp.claim(INBOX, GROUP, node, CLAIM_IDLE, BATCH)
                    claim_at = loop.time() + CLAIM_IDLE / 2
                elif self.ledger.room() == 0:  # the handler plane is behind: the rest waits in the queue
                    await self.ledger.wait_room(1.0)
                    entries = []
                else:
                    entries = await self.bp.take(INBOX, GROUP, node, self.ledger.room(), 1.0)
                now: list[str] = []  # acknowledged at once; a message once the handler plane dequeued it
                for entry in entries:
                    if not self._take(entry.id, entry.payload):
                        now.append(entry.id)
                now += self.ledger.done()
                if now:
                    await self.bp.ack(INBOX, GROUP, now)
                retry.ok()
            except BackplaneUnavailableError as exc:
                recover = True
                await retry.failed(exc)

    def _take(self, entry_id: str, payload: bytes) -> bool:
        """One queue entry: True when it went to the handler plane as a message (acknowledged once
        dequeued there). A malformed entry, or one whose handling fails, is counted and skipped
        (acknowledged: it would fail again). I/O thread."""
        try:
            record = decode_inbound(payload)
            if record is not None:
                return self._handle(record, entry_id)
        except Exception:
            log.exception("nbws: a record from the relays' queue could not be handled; skipped")
        self.bp.bad += 1
        return False

    @on_io_thread
    def _handle(self, r: Inbound, entry_id: str = "") -> bool:
        """One record: handed to the handler plane (in order). True for a message handed over."""
        where = (r.relay, r.conn)
        self.relays.setdefault(r.relay, time.monotonic())
        if r.kind == "open":
            if r.path in self.ep.routes.relayed:
                if where not in self.peers:
                    self._open_peer(r)
            elif where not in self.sockets:
                self._open(r)
            return False
        user = self.sockets.get(where)
        peer = self.peers.get(where)
        if r.kind == "close":
            if user is not None:
                self._forget(where)
                self._closed(user, r.code, r.reason)
            if peer is not None:
                self._forget_peer(where).gone()
            return False
        if self.keys.repeat(r.key, r.n):
            self.repeats += 1
            return False
        if user is None and peer is None:  # not marked as seen: the page sends it again after it reconnects
            self.orphans += 1
            self.send(r.relay, CLOSE, r.conn, GONE)
            return False
        self.keys.mark(r.key, r.n, where)
        self.handled += 1
        if peer is not None:  # served on this thread now: nothing waits (the entry is acknowledged at once)
            if peer.listener is not None and not peer.lost:
                tell(peer.listener, peer.as_conn(), r.data)
            return False
        assert user is not None
        self.ledger.handed(where, entry_id, len(r.data))
        data = r.data
        deliver(self.ep.plane, lambda: user._deliver(data), now=True)
        return True

    def _forget(self, where: tuple[str, str]) -> None:
        """A remote socket is gone: out of the books (what it had waiting is released)."""
        del self.sockets[where]
        self.ledger.closed(where)
        self.keys.closed(where)

    def _forget_peer(self, where: tuple[str, str]) -> RemotePeer:
        """A socket served on this thread is gone: out of the books (its service is told by the caller)."""
        self.keys.closed(where)
        return self.peers.pop(where)

    def _dequeued(self, relay: str, conn: str) -> None:
        """The handler plane took one of the socket's messages (from ``RemoteLink.message_handled``)."""
        self.ledger.handled((relay, conn))

    def _open(self, r: Inbound) -> None:
        ep = self.ep
        request = Request("GET", r.path, r.query, Headers(r.headers), remote_addr=r.remote,
                          raw_path=r.path + (f"?{r.query}" if r.query else ""))
        if self._full(r):
            return
        user = WebSocket(RemoteLink(self.send, r.relay, r.conn, self._dequeued), ep.plane, request, None,
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

    def _full(self, r: Inbound) -> bool:
        """True (and the page's socket refused: 1013) at ``max_remote_sockets`` remote sockets."""
        if len(self.sockets) + len(self.peers) < self.ep.settings.max_remote_sockets:
            return False
        self.refused += 1
        self.send(r.relay, CLOSE, r.conn, "1013 the app's kernel has too many sockets: try again later")
        return True

    def _open_peer(self, r: Inbound) -> None:
        """A socket on a relay for a service on this I/O thread (a classroom's student or view)."""
        if self._full(r):
            return
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
        """Append each emit to the app's log, one at a time, in order, and publish it numbered by
        its id; while the broker refuses, wait and retry. Runs on the I/O thread until :meth:`stop`."""
        retry = Backoff("writing emits to the app's log")
        while not self._stopping:
            if not self._emits:
                self._wake.clear()
                await self._wake.wait()
                continue
            text = self._emits[0]
            try:
                entry, epoch = await self.bp.append_with_epoch(EMIT_LOG, text.encode())
            except BackplaneUnavailableError as exc:
                await retry.failed(exc)
                continue
            retry.ok()
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
                "relays": len(self.relays), "emits_waiting": len(self._emits), "emits_dropped": self.emits_dropped,
                "waiting": self.ledger.waiting, "waiting_bytes": self.ledger.waiting_bytes, "keys": len(self.keys.seen),
                "refused": self.refused}
