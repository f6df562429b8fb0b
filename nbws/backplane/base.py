"""The backplane interface: what every broker gives a server, and its numbers.

A backplane connects the servers ("nodes") of one app — kernels and, later,
``nbws relay`` processes — so that what one node sends reaches the browsers
of every node. It offers three things, all on the I/O thread (asyncio):

* **Fan-out** (:meth:`Backplane.publish`): a message to every *other* node of
  the app, at most once each, in the order published; never blocks, never
  raises (what happens while the broker is down is the implementation's
  documented buffer policy). Received messages go to ``on_message``.
  :meth:`Backplane.send_to` is the same to one node (its :attr:`node` id).
* **Logs** (:meth:`append`, :meth:`read`): a bounded log per key, for replay
  to a page that reconnects to a different node. Entries have consecutive
  ids in the order appended (``0-1``, ``0-2`` ...: Redis Streams ids), so a
  reader learns whether it missed trimmed entries (:attr:`LogSlice.missed`).
  Each log has an *epoch* (Centrifugo's offset + epoch): a random id made
  when the log is first read or appended to, and made anew when the log is
  lost (a Redis restarted without persistence) and starts again, so a reader
  who kept a position (``0-57``) can tell whether it still means anything
  (:meth:`append_with_epoch`, :attr:`LogSlice.epoch`).
* **Values** (:meth:`put`, :meth:`get`): one record per key, for what a
  node that starts later must find (a kernel's announcement to relays).
* **Queues** (:meth:`enqueue`, :meth:`take`, :meth:`ack`, :meth:`pending`,
  :meth:`claim`): consumer groups, for messages from browsers to the app's
  handlers. An entry goes to one consumer of a group and stays pending until
  acknowledged; after a consumer dies its pending entries are claimed by
  another. Exactly once to the handler = acknowledge after handing the entry
  over, and skip an entry whose idempotency key (the page's session and
  sequence number) was seen before — a claim after a crash can repeat the
  last few.

The awaitable methods raise :class:`~nbws.BackplaneUnavailableError` while the
broker cannot be reached; the caller decides (retry, or tell the page).
"""

from __future__ import annotations

import abc
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from .wire import Envelope, Numbering, decode

__all__ = ["Backplane", "BackplaneStats", "Entry", "LogSlice", "gap", "new_node_id", "key_prefix", "parse_id"]


def new_node_id() -> str:
    """A random id for one node (one server). Pure."""
    return secrets.token_urlsafe(9)


def key_prefix(app: str) -> str:
    """Every broker key and channel of an app starts with this (``nbws:{app}:``). Pure."""
    return f"nbws:{app}:"


def parse_id(entry_id: str) -> tuple[int, int]:
    """An entry id ("<ms>-<n>", or "<ms>") as a pair that sorts like the
    entries; ValueError for anything else. Pure."""
    first, _, second = entry_id.partition("-")
    if not first.isdigit() or (second and not second.isdigit()) or len(entry_id) > 41:
        raise ValueError(f"not a log entry id: {entry_id!r}")
    return int(first), int(second or 0)


def gap(after: tuple[int, int], entries: list[Entry], newest: str | None) -> bool:
    """Whether a reader of a log (ids 0-1, 0-2 ...: consecutive) who had every
    entry up to ``after`` missed some: the first entry it gets is not the
    next one, or the log is older than ``after`` (it was lost and started
    again, e.g. Redis restarted without persistence). Pure."""
    if entries:
        return parse_id(entries[0].id) != (after[0], after[1] + 1) and after != (0, 0)
    return (newest is not None and parse_id(newest) < after) or (newest is None and after != (0, 0))


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a log or a queue: its id and payload."""

    id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class LogSlice:
    """What :meth:`Backplane.read` found after an id.

    Attributes:
        entries: the entries after the id, oldest first, at most ``limit``.
        missed: True when entries after the id were trimmed by the log's
            bound before this read (the reader has a gap: tell the page).
        epoch: the log's epoch when it was read (made by the first read or
            append; "" from a backplane that keeps no epochs). A position
            taken in another epoch belongs to a log that was lost.
    """

    entries: tuple[Entry, ...]
    missed: bool
    epoch: str = ""


@dataclass(frozen=True, slots=True)
class BackplaneStats:
    """A server's backplane counters since it started (``server.backplane_stats()``).

    Attributes:
        kind: ``"memory"`` or ``"redis"``.
        app: the app's name (None: the in-process default with no app; nothing is shared).
        node: this server's node id.
        connected: the broker is reachable now (always True in memory).
        published: messages handed to the broker.
        buffered, buffered_bytes: messages waiting for the broker now.
        dropped: messages dropped from the buffer, oldest first, while the
            broker was unreachable and the buffer was full (never published).
        received: messages from other nodes delivered here.
        duplicates: messages that arrived twice (a batch sent again after a
            broken write): skipped.
        missed: messages other nodes published, or sent to this node, that
            never arrived here (while this node's subscription was down;
            counted from the gap in the sender's numbering when its next
            message arrives: one numbering for what it publishes, one per
            destination for what it sends to one node, so a message sent to
            another node is never counted here).
        bad: broker entries that were not nbws envelopes: counted and skipped.
        unrouted: messages for a channel or plot this server does not have.
        reconnects: times the connection to the broker was re-established.
        unconfirmed: messages a kernel wrote to an ``nbws relay`` over its
            uplink that the relay died before acknowledging (they may have
            reached its pages; not sent to the relay that took its place).
            0 on every other backplane.
    """

    kind: str
    app: str | None
    node: str
    connected: bool
    published: int
    buffered: int
    buffered_bytes: int
    dropped: int
    received: int
    duplicates: int
    missed: int
    bad: int
    unrouted: int
    reconnects: int
    unconfirmed: int = 0


Receiver = Callable[[Envelope], None]
"""Called on the I/O thread with each message from another node."""


class Backplane(abc.ABC):
    """One node's connection to the app's broker. Every method runs on the I/O thread.

    Args:
        app: the app's name (keys are namespaced ``nbws:{app}:``).
        on_message: called with each message another node published.
    """

    kind = "abstract"

    def __init__(self, app: str | None, on_message: Receiver) -> None:
        self.app = app
        self.node = new_node_id()
        """This node's id: the origin of what it publishes."""
        self.on_message = on_message
        self.seq = 0
        self.published = 0
        self.dropped = 0
        self.received = 0
        self.bad = 0
        self.reconnects = 0
        self.numbering = Numbering()
        self._direct: dict[str, int] = {}  # destination -> the last number sent to it alone

    def next_seq(self) -> int:
        """The number of the next message this node publishes."""
        self.seq += 1
        return self.seq

    def next_direct(self, node: str) -> int:
        """The number of the next message this node sends to ``node`` alone (a numbering per
        destination: the other nodes never see these, so they must not read a gap in them).
        One counter per node ever sent to (nodes of one app: a few)."""
        n = self._direct[node] = self._direct.get(node, 0) + 1
        return n

    def receive(self, raw: object) -> None:
        """One message from the broker: decoded, this node's own and
        duplicates skipped, gaps counted, the rest handed to ``on_message``.
        A bad entry is counted and skipped; an error in ``on_message`` is the
        receiver's (it is logged there)."""
        envelope = decode(raw)
        if envelope is None:
            self.bad += 1
            return
        if envelope.origin == self.node or not self.numbering.accept(envelope.origin, envelope.seq, envelope.direct):
            return
        self.received += 1
        self.on_message(envelope)

    @property
    @abc.abstractmethod
    def connected(self) -> bool:
        """The broker is reachable now."""

    @property
    def buffered(self) -> tuple[int, int]:
        """(messages, bytes) waiting for the broker now."""
        return 0, 0

    @abc.abstractmethod
    async def start(self) -> None:
        """Connect and subscribe; returns once messages published from now on reach this node."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Send what is buffered (briefly), unsubscribe, disconnect."""

    @abc.abstractmethod
    def publish(self, kind: str, name: str, data: str | bytes) -> None:
        """Send to every other node of the app. Never blocks, never raises."""

    @abc.abstractmethod
    def send_to(self, node: str, kind: str, name: str, data: str | bytes) -> None:
        """Send to one node of the app (by :attr:`node` id). Never blocks, never raises."""

    @abc.abstractmethod
    async def append(self, key: str, payload: bytes) -> str:
        """Add to the log ``key`` (bounded: the oldest entries are trimmed); the new entry's id."""

    async def append_with_epoch(self, key: str, payload: bytes) -> tuple[str, str]:
        """:meth:`append`, and the log's epoch the entry belongs to ("" from a backplane
        that keeps no epochs)."""
        return await self.append(key, payload), ""

    @abc.abstractmethod
    async def read(self, key: str, after: str, limit: int) -> LogSlice:
        """The log ``key``'s entries after the id ``after`` ("0-0": from the start)."""

    @abc.abstractmethod
    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` under ``key`` (replacing what was there): a small
        record a node that starts later reads with :meth:`get` (what a kernel
        announces to relays). Not bounded by the log's length: one value per key."""

    @abc.abstractmethod
    async def get(self, key: str) -> bytes | None:
        """The value stored under ``key``, or None."""

    @abc.abstractmethod
    async def enqueue(self, queue: str, payload: bytes) -> str:
        """Add to the queue ``queue``; the entry's id."""

    @abc.abstractmethod
    async def take(self, queue: str, group: str, consumer: str, count: int, block: float) -> list[Entry]:
        """New entries for ``consumer`` of ``group`` (each goes to one consumer of
        the group), waiting up to ``block`` seconds for the first. They stay
        pending until :meth:`ack`."""

    @abc.abstractmethod
    async def ack(self, queue: str, group: str, ids: list[str]) -> int:
        """Done with these entries: they are never delivered again. How many were pending."""

    @abc.abstractmethod
    async def pending(self, queue: str, group: str, consumer: str, count: int) -> list[Entry]:
        """Entries ``consumer`` took and has not acknowledged (after its own restart)."""

    @abc.abstractmethod
    async def claim(self, queue: str, group: str, consumer: str, min_idle: float, count: int) -> list[Entry]:
        """Take over entries any consumer took more than ``min_idle`` seconds ago and
        did not acknowledge (it died)."""

    def stats(self, unrouted: int) -> BackplaneStats:
        """The counters (the router counts ``unrouted``)."""
        messages, size = self.buffered
        return BackplaneStats(self.kind, self.app, self.node, self.connected, self.published, messages, size,
                              self.dropped, self.received, self.numbering.duplicates, self.numbering.missed,
                              self.bad, unrouted, self.reconnects)
