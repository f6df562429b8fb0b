"""A relay's side of the uplink: the door a kernel behind NAT dials
(``backplane="nbws+ws://relay:8000/"``; the wire is :mod:`nbws.backplane.link`).

A relay on the in-process backplane (``nbws relay`` without Redis) accepts
one uplink per app at :data:`~nbws.backplane.link.UPLINK_PATH`. The socket
must answer the relay's challenge with the publisher secret (``relay_secret``)
within ``handshake_timeout``; a relay with no secret accepts none. Failures
are counted per address: past :data:`MAX_FAILURES` in :data:`FAILURE_WINDOW`
seconds that address is refused at once (4429) until the window passes.

Once in, the kernel is a node of the relay's app like any other: a
:class:`Port` (the in-process backplane's node, named with the kernel's node
id) in the app's hub. What the relay's side publishes or sends to the kernel
goes down the socket; what the kernel publishes arrives from it and reaches
the relay's pages as from Redis; its calls run on the hub's logs, queues and
values, which stay here while the kernel is away. The newest authenticated
uplink wins: an older one is closed with 4409 (its kernel stops dialing).

When the kernel's uplink is gone for :data:`KERNEL_GRACE` seconds (or a
different kernel dials in) the relay closes its pages' sockets with 1012, so
their pages come back and open their sockets on the kernel that is there
(a session page resumes from the relay's log: nothing lost). Plot and
channel sockets stay open. Runs on the I/O thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict, deque
from typing import TYPE_CHECKING, Any

from ..backplane.link import (
    ACK,
    CALL,
    MESSAGE,
    PUBLISH,
    REFUSED,
    REPLACED,
    RESULT,
    SEND_TO,
    THROTTLED,
    UPLINK_PATH,
    kernel_proof,
    new_nonce,
    numbered,
    pack,
    proof_matches,
    relay_proof,
    unpack,
)
from ..backplane.memory import MemoryBackplane
from ..boundary import on_io_thread
from .kernel import RELAY_TIMEOUT
from .wire import ALIVE, ALIVE_EVERY

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection
    from .node import RelaySide

__all__ = ["UplinkDoor", "Port", "MAX_FAILURES", "FAILURE_WINDOW", "KERNEL_GRACE", "KERNEL_GONE"]

log = logging.getLogger("nbws")
MAX_FAILURES = 5
"""Failed uplink attempts one address may make in :data:`FAILURE_WINDOW` seconds before it is refused at once."""
FAILURE_WINDOW = 60.0
KERNEL_GRACE = RELAY_TIMEOUT - 2 * ALIVE_EVERY
"""Seconds a relay keeps its pages' sockets after its kernel's uplink dropped (the kernel gives up on the
relay's sockets after RELAY_TIMEOUT without its heartbeat: this is shorter)."""
KERNEL_GONE = 1012
"""Close code of a relay's page sockets when the app's kernel went away (they come back)."""
MAX_BLOCK = 5.0
ACK_EVERY = 0.02


class Port(MemoryBackplane):
    """The kernel, as a node of the relay's app: what reaches this node goes
    down the uplink. I/O thread."""

    def __init__(self, app: str, node: str, down: Any, log_length: int) -> None:
        super().__init__(app, lambda envelope: None, log_length)
        self.node = node
        self.down = down

    def receive(self, raw: object) -> None:
        """A message for the kernel: down the uplink, as it is (the kernel decodes, numbers and skips)."""
        if isinstance(raw, bytes):
            self.down(MESSAGE + raw)

    def forward(self, raw: bytes, to: str | None) -> None:
        """What the kernel published (``to`` None) or sent to one node."""
        if to is None:
            for node in list(self.hub.nodes.values()):
                if node is not self:
                    node.arrive(raw)
            return
        target = self.hub.nodes.get(to)
        if target is not None and target is not self:
            target.arrive(raw)

    async def stop(self) -> None:
        if self.hub.nodes.get(self.node) is self:
            del self.hub.nodes[self.node]


class UplinkDoor:
    """Where a relay takes its kernel's uplink. I/O thread."""

    def __init__(self, side: RelaySide) -> None:
        self.side = side
        self.ep = side.ep
        self.bp = side.bp
        self.current: Uplink | None = None
        self.kernel = ""
        """The node id of the kernel whose uplink is (or was last) in."""
        self.failures: dict[str, deque[float]] = {}
        self.last: OrderedDict[str, int] = OrderedDict()
        """The last link number taken from each kernel node (a reconnecting kernel sends only what follows)."""
        self.refused = 0
        self.accepted = 0
        self.started = time.monotonic()
        self._gone: asyncio.TimerHandle | None = None

    def install(self) -> None:
        """Accept uplinks at UPLINK_PATH."""
        self.ep.routes.add_socket(UPLINK_PATH, self._opened)

    def _throttled(self, address: str) -> bool:
        now = time.monotonic()
        seen = self.failures.get(address)
        while seen and now - seen[0] > FAILURE_WINDOW:
            seen.popleft()
        if seen is not None and not seen:
            del self.failures[address]
        return seen is not None and len(seen) >= MAX_FAILURES

    def failed(self, conn: WsConnection, why: str) -> None:
        """Refuse ``conn`` (4403), counting it against its address."""
        self.refused += 1
        address = conn.peer_address[0]
        if address not in self.failures and len(self.failures) >= 10_000:
            self.failures.pop(next(iter(self.failures)))
        self.failures.setdefault(address, deque()).append(time.monotonic())
        log.warning("nbws relay: refused an uplink from %s: %s", address or "-", why)
        conn.start_close(REFUSED, f"nbws uplink refused: {why}")

    def _opened(self, conn: WsConnection) -> None:
        if self._throttled(conn.peer_address[0]):
            self.refused += 1
            conn.start_close(THROTTLED, f"nbws uplink refused: too many failed attempts from this address; "
                                        f"try again in {FAILURE_WINDOW:g} s")
            return
        uplink = Uplink(self, conn)
        conn.listener = uplink
        if not self.ep.settings.relay_secret:
            self.failed(conn, "this relay has no publisher secret (start it with --secret or NBWS_RELAY_SECRET)")
            return
        conn.send_message(json.dumps({"nbws": "uplink", "app": self.bp.app, "challenge": uplink.nonce}))
        uplink.timer = self.ep.io.loop.call_later(self.ep.settings.handshake_timeout, uplink.too_slow)

    def admit(self, uplink: Uplink) -> None:
        """``uplink`` proved the secret: it is the app's kernel now."""
        old, self.current = self.current, uplink
        if old is not None:
            old.conn.start_close(REPLACED, "a newer uplink of this app took over")
            old.close_port()
        if self._gone is not None:
            self._gone.cancel()
            self._gone = None
        if self.kernel and self.kernel != uplink.node:
            self.kernel_gone("a different kernel dialed in")
        self.kernel = uplink.node
        self.accepted += 1

    def left(self, uplink: Uplink) -> None:
        """The current uplink dropped: wait for the kernel, then let the pages go."""
        if self.current is not uplink:
            return
        self.current = None
        if self._gone is None:
            self._gone = self.ep.io.loop.call_later(KERNEL_GRACE, self.kernel_gone,
                                                    f"the app's kernel is gone ({KERNEL_GRACE:g} s without its "
                                                    "uplink)")

    @on_io_thread
    def kernel_gone(self, why: str) -> None:
        """Close the pages' sockets (1012): they come back to the kernel that is there."""
        self._gone = None
        pages = [p for p in self.side.pages.values() if p.mode != "closing"]
        if pages:
            log.info("nbws relay: %s; closing %d page socket(s) so they reconnect", why, len(pages))
        for page in pages:
            page.conn.start_close(KERNEL_GONE, "the app's kernel went away; reconnect")
            page.mode = "closing"

    def stats(self) -> dict[str, Any]:
        """Counters for the relay's stats."""
        return {"uplink": self.current is not None, "uplinks_accepted": self.accepted,
                "uplinks_refused": self.refused}


class Uplink:
    """One uplink socket (a ``Listener``): the challenge, then the kernel's frames. I/O thread."""

    def __init__(self, door: UplinkDoor, conn: WsConnection) -> None:
        self.door = door
        self.conn = conn
        self.nonce = new_nonce()
        self.node = ""
        self.port: Port | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.taken = 0  # the last link number taken from the kernel
        self._ack: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def too_slow(self) -> None:
        if self.port is None and not self.conn.lost:
            self.door.failed(self.conn, "no answer to the challenge within handshake_timeout")

    def message(self, conn: WsConnection, message: str | bytes) -> None:
        """One message from the kernel."""
        if self.port is None:
            self._prove(message)
            return
        if not isinstance(message, bytes) or not message:
            return
        tag = message[:1]
        if tag in (PUBLISH, SEND_TO):
            self._forward(message)
        elif tag == CALL:
            self._call(message)

    def _prove(self, message: str | bytes) -> None:
        door = self.door
        if self.timer is None or self.conn.lost:  # refused already
            return
        try:
            value = json.loads(message)
            app, node, nonce, proof = value["app"], value["node"], value["nonce"], value["proof"]
            if not all(isinstance(v, str) and 0 < len(v) <= 200 for v in (app, node, nonce, proof)):
                raise TypeError(value)
        except (ValueError, TypeError, KeyError):
            door.failed(self.conn, "not an uplink's answer to the challenge")
            return
        secret = door.ep.settings.relay_secret
        assert secret
        if not proof_matches(proof, kernel_proof(secret, app, node, self.nonce)):
            door.failed(self.conn, "wrong publisher secret")
            return
        if app != door.bp.app:
            door.failed(self.conn, f"this relay serves app {door.bp.app!r}, not {app!r}")
            return
        self.timer.cancel()
        self.timer = None
        self.node = node
        self.taken = door.last.get(node, 0)
        assert door.bp.app is not None
        self.port = Port(door.bp.app, node, self.conn.send_message, door.ep.settings.backplane_log_length)
        door.admit(self)
        # a relay that just started gives its pages backplane_resume_wait to come back before the kernel
        # sends what it buffered (as a Redis publisher waits for the subscribers it had)
        wait = max(0.0, door.started + door.ep.settings.backplane_resume_wait - time.monotonic())
        self.conn.send_message(json.dumps({"ok": True, "proof": relay_proof(secret, app, nonce), "last": self.taken,
                                           "wait": round(wait, 3), "relay": door.side.node}))
        self._tasks.add(asyncio.get_running_loop().create_task(self._join()))

    async def _join(self) -> None:
        assert self.port is not None
        await self.port.start()
        side = self.door.side
        side.bp.publish(ALIVE, "", side.node)  # the kernel hears of this relay at once
        for mirror in side.mirrors.values():  # asks lost while the kernel was away: again
            if mirror.asking:
                mirror.asking = False
                mirror.ask()
        for name, feed in side.channels.items():
            if feed.latest is None:
                side.ask_channel(name)
        log.info("nbws relay: the kernel %s dialed in from %s", self.node, self.conn.peer_address[0] or "-")

    def _forward(self, frame: bytes) -> None:
        """A ``P`` or ``S`` frame: to the app's nodes, unless the relay took its link number already
        (the kernel wrote it again after a reconnect)."""
        found = numbered(frame)
        if found is None or self.port is None:
            return
        number, to, raw = found
        if number > self.taken:
            self.taken = number
            last = self.door.last
            last[self.node] = number
            last.move_to_end(self.node)
            if len(last) > 64:
                last.popitem(last=False)
            self.port.forward(raw, to)
        if self._ack is None:
            self._ack = asyncio.get_running_loop().call_later(ACK_EVERY, self._acknowledge)

    def _acknowledge(self) -> None:
        self._ack = None
        if not self.conn.lost:
            self.conn.send_message(ACK + str(self.taken).encode())

    def _call(self, frame: bytes) -> None:
        found = unpack(frame)
        if found is None or not isinstance(found[0], list) or len(found[0]) != 3:
            return
        (call, op, args), blobs = found
        task = asyncio.get_running_loop().create_task(self._answer(call, op, args, blobs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, call: Any, op: Any, args: Any, blobs: list[bytes]) -> None:
        port = self.port
        assert port is not None
        try:
            value, out = await run_call(port, op, args, blobs)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            value, out, ok = f"{type(exc).__name__}: {exc}", [], False
        else:
            ok = True
        if not self.conn.lost:
            self.conn.send_message(pack(RESULT, [call, ok, value], out))

    def lost(self, conn: WsConnection) -> None:
        """The uplink is gone: the kernel's node leaves the app; its calls stop."""
        if self.timer is not None:
            self.timer.cancel()
        if self._ack is not None:
            self._ack.cancel()
        for task in self._tasks:
            task.cancel()
        self.close_port()
        self.door.left(self)

    def close_port(self) -> None:
        port, self.port = self.port, None
        if port is not None and port.hub.nodes.get(port.node) is port:
            del port.hub.nodes[port.node]


async def run_call(port: MemoryBackplane, op: object, args: Any, blobs: list[bytes]) -> tuple[Any, list[bytes]]:
    """One of the kernel's calls on the relay's hub: ``(value, blobs)`` of the answer.
    TypeError / ValueError for a malformed call."""
    def s(i: int) -> str:
        v = args[i]
        if not isinstance(v, str):
            raise TypeError(f"argument {i} must be a string")
        return v

    def n(i: int) -> int:
        v = args[i]
        if type(v) is not int or not 0 <= v <= 100_000:
            raise TypeError(f"argument {i} must be a count")
        return int(v)

    if op == "append":
        return list(await port.append_with_epoch(s(0), blobs[0])), []
    if op == "read":
        found = await port.read(s(0), s(1), n(2))
        return [[e.id for e in found.entries], found.missed, found.epoch], [e.payload for e in found.entries]
    if op == "put":
        await port.put(s(0), blobs[0])
        return None, []
    if op == "get":
        value = await port.get(s(0))
        return value is not None, [value] if value is not None else []
    if op == "enqueue":
        return await port.enqueue(s(0), blobs[0]), []
    if op == "ack":
        ids = args[2]
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise TypeError("ids must be strings")
        return await port.ack(s(0), s(1), ids), []
    if op in ("take", "pending", "claim"):
        if op == "take":
            block = min(max(float(args[4]), 0.0), MAX_BLOCK)
            entries = await port.take(s(0), s(1), s(2), n(3), block)
        elif op == "pending":
            entries = await port.pending(s(0), s(1), s(2), n(3))
        else:
            entries = await port.claim(s(0), s(1), s(2), float(args[3]), n(4))
        return [e.id for e in entries], [e.payload for e in entries]
    raise ValueError(f"unknown call {op!r}")
