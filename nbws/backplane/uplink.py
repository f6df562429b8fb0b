"""The uplink backplane (``backplane="nbws+ws://relay-host:8000/"``): a kernel
behind NAT or a hub dials out to one ``nbws relay`` over one WebSocket.

The kernel opens the WebSocket (nbws's own client stack: :mod:`nbws.io.session`'s
stream and :class:`~nbws.io.wsconn.WsConnection`, on the I/O thread), proves
it has the publisher secret (``relay_secret``; :mod:`.link`), and then
everything a broker does for it travels over that socket: fan-out
(``publish`` / ``send_to``), and the relay's logs, queues and values (each
a call answered by the relay, which keeps them in memory for its app).

The failure policy (the README's "Dialing out"), like Redis's:

* ``publish`` / ``send_to`` never block and never raise: each message is
  kept until the relay acknowledges it (``A``), in a buffer of at most
  ``backplane_buffer_messages`` / ``backplane_buffer_bytes``; past either
  bound the oldest are dropped and counted (``dropped``).
* When the uplink drops, the kernel dials again with backoff (50 ms doubling
  to 5 s, with jitter) and sends again what the relay had not acknowledged
  (frames carry the link's own numbers, :mod:`.outbox`; the relay's welcome
  says the last one it has). So a relay that stays up loses nothing inside the bound; a
  relay that restarted gets what was buffered, its pages come back, and what
  its memory held (logs, queues, values) is gone, as with a Redis without
  persistence; what the dead relay had taken unacknowledged is counted
  (``unconfirmed``, in :meth:`stats`).
* Calls (logs, queues, values) raise :class:`~nbws.BackplaneUnavailableError`
  while the uplink is down, and when it drops before their answer.
* A newer uplink of the same app replaces this one (close code 4409): this
  kernel stops dialing and says so in the log.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
import random
import ssl as ssl_module
from typing import TYPE_CHECKING, Any

from websockets.http11 import Response as WsResponse
from websockets.uri import parse_uri

from ..boundary import HandlerPlane, io_thread
from ..errors import BackplaneUnavailableError
from ..io.session import Stream
from ..io.upgrade import client_protocol
from ..io.wsconn import WsConnection
from .base import Backplane, BackplaneStats, Entry, LogSlice, Receiver
from .link import (
    ACK,
    CALL,
    MESSAGE,
    PUBLISH,
    REFUSED,
    REPLACED,
    RESULT,
    SEND_TO,
    kernel_proof,
    new_nonce,
    pack,
    proof_matches,
    relay_proof,
    unpack,
    uplink_url,
)
from .outbox import Outbox
from .wire import encode

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["UplinkBackplane", "WINDOW"]

log = logging.getLogger("nbws")
WINDOW = 512 * 1024
"""Unsent bytes the uplink's socket may hold before the buffer waits for it to drain."""
START_TIMEOUT = 10.0
"""Seconds :meth:`UplinkBackplane.start` waits for the relay's welcome."""
CALL_SLACK = 10.0
"""Seconds a call may take beyond its own blocking time before it counts as lost."""


@dataclasses.dataclass
class _Dialer:
    io: Any
    settings: Settings


class UplinkBackplane(Backplane):
    """One kernel's uplink to its relay. Every method runs on the I/O thread."""

    kind = "uplink"

    def __init__(self, url: str, app: str, on_message: Receiver, *, secret: str | None, settings: Settings,
                 plane: HandlerPlane, buffer_messages: int = 10_000, buffer_bytes: int = 16 * 1024 * 1024) -> None:
        super().__init__(app, on_message)
        if not secret:
            raise ValueError("backplane='nbws+ws://...' needs relay_secret=... (the secret the relay was started "
                             "with: nbws relay --secret)")
        self.url = url
        self.ws_url = uplink_url(url)
        self.secret = secret
        self.settings = settings
        self.plane = plane
        self.buffer_messages = buffer_messages
        self.outbox = Outbox(buffer_messages, buffer_bytes)
        """What waits to be written, or for the relay's acknowledgement."""
        self._conn: WsConnection | None = None  # the socket, once the relay welcomed it
        self._trying: WsConnection | None = None  # the socket being authenticated
        self._nonce = ""
        self._calls: dict[int, asyncio.Future[tuple[Any, list[bytes]]]] = {}
        self._ids = itertools.count(1)
        self._ready: asyncio.Future[None] | None = None  # the current attempt's welcome (or its failure)
        self._down: asyncio.Event = asyncio.Event()
        self._waiting_drain = False
        self._stopping = False
        self.replaced = False
        """A newer uplink of the app took over: this kernel no longer dials."""
        self.refusal = ""
        """Why the relay last refused (empty: it did not)."""
        self.unconfirmed = 0
        """Messages written to a relay that died before acknowledging them (not sent to its successor)."""
        self._relay = ""  # the relay's node id (a new one: the relay restarted)
        self._task: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._conn is not None

    @property
    def buffered(self) -> tuple[int, int]:
        return len(self.outbox), self.outbox.bytes

    # -- connecting --

    async def start(self) -> None:
        """Dial, authenticate and wait for the welcome; BackplaneUnavailableError if the relay cannot be
        reached or refuses (a wrong secret: the reason says so)."""
        try:
            await asyncio.wait_for(self._attempt(), START_TIMEOUT)
        except (OSError, asyncio.TimeoutError, BackplaneUnavailableError, ConnectionError) as exc:
            self._abandon()
            await self.stop()
            why = self.refusal or str(exc) or type(exc).__name__
            raise BackplaneUnavailableError(self.url, why, "start the relay there (nbws relay --secret ...) "
                                            "or check backplane=, relay_secret= and the network") from None
        self._task = asyncio.get_running_loop().create_task(self._keep())

    async def stop(self) -> None:
        """Send what is buffered (for at most a second), then close the uplink."""
        self._stopping = True
        deadline = asyncio.get_running_loop().time() + 1.0
        while self._conn is not None and self.outbox and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for conn in (self._conn, self._trying):
            if conn is not None and not conn.lost:
                conn.start_close(1001, "the kernel's server stopped")
        self._fail_calls()

    async def _keep(self) -> None:
        """Dial again whenever the uplink drops (backoff with jitter), until stopped or replaced."""
        while not self._stopping and not self.replaced:
            await self._down.wait()
            delay = 0.05
            while not self._stopping and not self.replaced:
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                try:
                    await asyncio.wait_for(self._attempt(), START_TIMEOUT)
                except (OSError, asyncio.TimeoutError, BackplaneUnavailableError, ConnectionError):
                    self._abandon()
                    delay = min(5.0, delay * 2)
                    continue
                self.reconnects += 1
                log.info("nbws: the uplink to %s is back (%d message(s) to send again)", self.url, self.outbox.waiting)
                break

    def _abandon(self) -> None:
        """Close the socket of an attempt that failed or timed out."""
        conn, self._trying = self._trying, None
        if conn is not None and not conn.lost:
            conn.start_close(1001, "giving up on this attempt")

    async def _attempt(self) -> None:
        """One connection: TCP, the WebSocket handshake, the challenge; returns once welcomed."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        uri = parse_uri(self.ws_url)
        context = ssl_module.create_default_context() if uri.secure else None
        stream = Stream(_Dialer(io_thread(), self.settings))  # type: ignore[arg-type]
        proto = client_protocol(uri, self.settings, None, ())
        stream.proto = proto
        await loop.create_connection(lambda: stream, uri.host, uri.port, ssl=context,
                                     server_hostname=uri.host if context is not None else None)
        assert stream.transport is not None
        proto.send_request(proto.connect())
        for data in proto.data_to_send():
            stream.transport.write(data)
        try:
            events = await stream.handshake
        except BaseException:
            stream.transport.abort()
            raise
        if proto.handshake_exc is not None:
            stream.transport.abort()
            raise ConnectionError(f"the relay refused the WebSocket handshake ({proto.handshake_exc})")
        stream.leftover[:0] = [e for e in events if not isinstance(e, WsResponse)]  # frames that came with the 101
        conn = WsConnection(stream.transport, proto, self.settings, io_thread(), self.plane, self._lost)
        conn.listener = self
        stream.ws = conn
        self._trying = conn
        conn.start(None)  # type: ignore[arg-type]  # no handler-plane user: the listener (self) gets the messages
        conn.take_over(stream.leftover)
        stream.leftover = []
        if stream.lost:
            conn.connection_lost()
        await self._ready

    # -- the socket (Listener) --

    def message(self, conn: WsConnection, message: str | bytes) -> None:
        """One message from the relay (I/O thread)."""
        if conn is self._trying:
            self._authenticate(conn, message)
        elif conn is self._conn and isinstance(message, bytes) and message:
            tag = message[:1]
            if tag == MESSAGE:
                self.receive(message[1:])
            elif tag == ACK:
                self._acknowledged(message[1:])
            elif tag == RESULT:
                self._answered(message)
            else:
                self.bad += 1

    def lost(self, conn: WsConnection) -> None:
        """The socket is gone (see :meth:`_lost`, which has the close code)."""

    def _lost(self, conn: WsConnection, code: int, reason: str) -> None:
        if conn is self._trying:
            self._trying = None
            if code >= 4400:
                self.refusal = f"the relay refused the uplink ({code}: {reason})"
            self._settle(ConnectionError(self.refusal or f"the uplink closed ({code} {reason})"))
        if conn is not self._conn:
            return
        self._conn = None
        self._fail_calls()
        if code == REPLACED:
            self.replaced = True
            log.warning("nbws: a newer uplink of app %r took over at %s; this kernel stops publishing there "
                        "(%s)", self.app, self.url, reason)
        elif not self._stopping:
            log.warning("nbws: the uplink to %s dropped (%d %s); dialing again, buffering up to %d messages",
                        self.url, code, reason, self.buffer_messages)
        self._down.set()

    def _settle(self, error: BaseException | None) -> None:
        ready = self._ready
        if ready is not None and not ready.done():
            if error is None:
                ready.set_result(None)
            else:
                ready.set_exception(error)

    def _authenticate(self, conn: WsConnection, message: str | bytes) -> None:
        """The challenge, then the welcome."""
        try:
            value = json.loads(message)
            if not isinstance(value, dict):
                raise ValueError(value)
        except ValueError:
            conn.start_close(REFUSED, "not an nbws relay")
            return
        if "challenge" in value:
            self._nonce = new_nonce()
            proof = kernel_proof(self.secret, str(self.app), self.node, str(value["challenge"]))
            conn.send_message(json.dumps({"app": self.app, "node": self.node, "nonce": self._nonce,
                                          "proof": proof}))
            return
        if not proof_matches(value.get("proof"), relay_proof(self.secret, str(self.app), self._nonce)):
            self.refusal = "the relay does not have the same relay_secret"
            conn.start_close(REFUSED, "the relay did not prove it has the secret")
            return
        last, wait, relay = value.get("last"), value.get("wait"), value.get("relay")
        self._trying, self._conn, self.refusal = None, conn, ""
        self._down.clear()
        self.outbox.acknowledged(last if type(last) is int else 0)
        if relay != self._relay and self._relay:  # a restarted relay: what the old one took unacknowledged
            self.unconfirmed += self.outbox.forget_written()  # may have reached its pages; stale for the new one
        else:
            self.outbox.rewind()
        self._relay = relay if isinstance(relay, str) else ""
        if isinstance(wait, (int, float)) and 0 < wait <= 60:  # a relay that just started: its pages come back first
            self._waiting_drain = True
            asyncio.get_running_loop().call_later(wait, self._drained, None)
        else:
            self._pump()
        self._settle(None)

    # -- fan-out --

    def publish(self, kind: str, name: str, data: str | bytes) -> None:
        self._queue(PUBLISH, encode(self.node, self.next_seq(), kind, name, data))

    def send_to(self, node: str, kind: str, name: str, data: str | bytes) -> None:
        envelope = encode(self.node, self.next_direct(node), kind, name, data, direct=True)
        self._queue(SEND_TO, node.encode() + b"\n" + envelope)

    def _queue(self, tag: bytes, body: bytes) -> None:
        self.published += 1
        self.dropped += self.outbox.add(tag, body)
        self._pump()

    def _pump(self) -> None:
        """Write what waits, while the socket takes it (then wait for it to drain)."""
        conn = self._conn
        if conn is None or self._waiting_drain:
            return
        while self.outbox.waiting and conn.pending_out() < WINDOW:
            frame = self.outbox.take()
            assert frame is not None
            conn.send_message(frame)
        if self.outbox.waiting:
            self._waiting_drain = True
            try:
                if conn.add_drain_waiter(self._drained):
                    asyncio.get_running_loop().call_soon(self._drained, None)
            except ConnectionError:
                self._waiting_drain = False

    def _drained(self, error: Exception | None) -> None:
        self._waiting_drain = False
        if error is None:
            self._pump()

    def _acknowledged(self, body: bytes) -> None:
        try:
            self.outbox.acknowledged(int(body))
        except ValueError:
            self.bad += 1

    def stats(self, unrouted: int) -> BackplaneStats:
        """The counters, with :attr:`unconfirmed`."""
        return dataclasses.replace(super().stats(unrouted), unconfirmed=self.unconfirmed)

    # -- calls --

    async def _call(self, op: str, args: list[Any], blobs: tuple[bytes, ...] = (), wait: float = 0.0
                    ) -> tuple[Any, list[bytes]]:
        conn = self._conn
        if conn is None:
            raise BackplaneUnavailableError(self.url, "the uplink is down", "it is dialing again")
        call = next(self._ids)
        future: asyncio.Future[tuple[Any, list[bytes]]] = asyncio.get_running_loop().create_future()
        self._calls[call] = future
        conn.send_message(pack(CALL, [call, op, args], blobs))
        try:
            return await asyncio.wait_for(future, wait + CALL_SLACK)
        except asyncio.TimeoutError:
            raise BackplaneUnavailableError(self.url, f"no answer to {op} within {wait + CALL_SLACK:g} s",
                                            "the relay is slow or gone") from None
        finally:
            self._calls.pop(call, None)

    def _answered(self, frame: bytes) -> None:
        found = unpack(frame)
        if found is None or not isinstance(found[0], list) or len(found[0]) != 3:
            self.bad += 1
            return
        (call, ok, value), blobs = found
        future = self._calls.get(call) if type(call) is int else None
        if future is None or future.done():
            return
        if ok:
            future.set_result((value, blobs))
        else:
            future.set_exception(BackplaneUnavailableError(self.url, f"the relay failed the call: {value}",
                                                           "see the relay's log"))

    def _fail_calls(self) -> None:
        calls, self._calls = self._calls, {}
        for future in calls.values():
            if not future.done():
                future.set_exception(BackplaneUnavailableError(self.url, "the uplink dropped", "it is dialing again"))

    @staticmethod
    def _entries(value: Any, blobs: list[bytes]) -> list[Entry]:
        ids = value if isinstance(value, list) else []
        return [Entry(str(i), b) for i, b in zip(ids, blobs, strict=False)]

    async def append(self, key: str, payload: bytes) -> str:
        return (await self.append_with_epoch(key, payload))[0]

    async def append_with_epoch(self, key: str, payload: bytes) -> tuple[str, str]:
        """:meth:`append`, and the epoch of the relay's log (made anew when the relay restarts)."""
        value, _ = await self._call("append", [key], (payload,))
        entry, epoch = value if isinstance(value, list) and len(value) == 2 else (value, "")
        return str(entry), str(epoch)

    async def read(self, key: str, after: str, limit: int) -> LogSlice:
        value, blobs = await self._call("read", [key, after, limit])
        ids, missed, epoch = value if isinstance(value, list) and len(value) == 3 else ([], False, "")
        return LogSlice(tuple(self._entries(ids, blobs)), bool(missed), str(epoch))

    async def put(self, key: str, value: bytes) -> None:
        await self._call("put", [key], (value,))

    async def get(self, key: str) -> bytes | None:
        value, blobs = await self._call("get", [key])
        return blobs[0] if value and blobs else None

    async def enqueue(self, queue: str, payload: bytes) -> str:
        value, _ = await self._call("enqueue", [queue], (payload,))
        return str(value)

    async def take(self, queue: str, group: str, consumer: str, count: int, block: float) -> list[Entry]:
        wait = min(max(block, 0.0), 5.0)
        value, blobs = await self._call("take", [queue, group, consumer, count, wait], wait=wait)
        return self._entries(value, blobs)

    async def ack(self, queue: str, group: str, ids: list[str]) -> int:
        value, _ = await self._call("ack", [queue, group, ids])
        return int(value) if type(value) is int else 0

    async def pending(self, queue: str, group: str, consumer: str, count: int) -> list[Entry]:
        value, blobs = await self._call("pending", [queue, group, consumer, count])
        return self._entries(value, blobs)

    async def claim(self, queue: str, group: str, consumer: str, min_idle: float, count: int) -> list[Entry]:
        value, blobs = await self._call("claim", [queue, group, consumer, min_idle, count])
        return self._entries(value, blobs)
