"""Sockets on relays as the kernel's I/O-thread services see them.

A service that serves its sockets on the I/O thread (``Routes.add_socket``
with ``relayed=True``: the classroom's ``/_room/ws`` and ``/_room/view``)
gets a :class:`RemotePeer` for each such socket opened on a relay: the part
of :class:`~nbws.io.wsconn.WsConnection` those services use
(``send_message``, ``start_close``, ``lost``, ``peer_address``,
``listener``). The kernel's side creates it from the relay's ``open``
record, hands it the socket's messages from the queue (exactly once: the
queue's idempotency keys) and its close.

What a service sends goes back to the relay holding the socket
(:class:`Outgoing`): the messages of one turn of the I/O loop are grouped per
relay, and one text sent to several sockets of a relay travels once (kind
:data:`~nbws.relay.wire.MANY`, with the sockets' ids) — what a room sends to
every student costs one backplane message per relay, not one per student.
Each socket's messages stay in order. Runs on the I/O thread.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, cast

from ..boundary import on_io_thread
from ..io.routes import Listener, tell
from .wire import CLOSE, MANY, SEND, encode_many

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection

__all__ = ["RemotePeer", "Outgoing"]

Send = Callable[[str, str, str, "str | bytes"], None]
"""``send(relay, kind, name, data)``: one backplane message to one relay (I/O thread)."""


class Outgoing:
    """Messages for sockets on relays, grouped per relay and turn of the I/O loop. I/O thread."""

    def __init__(self, send: Send, call_soon: Callable[[Callable[[], None]], object]) -> None:
        self.send = send
        self.call_soon = call_soon
        # relay -> [(data, [conn ids])], in the order first queued; a socket's messages keep their order
        self._groups: dict[str, list[tuple[str | bytes, list[str]]]] = {}
        self._where: dict[tuple[str, str | bytes], int] = {}  # (relay, data) -> its group's index
        self._last: dict[tuple[str, str], int] = {}  # (relay, conn) -> the index of its last group
        self._soon = False
        self.sent = 0
        """Backplane messages sent (one per group)."""

    @on_io_thread
    def queue(self, relay: str, conn: str, data: str | bytes) -> None:
        """``data`` for the socket ``conn`` on ``relay``: sent at the end of this turn."""
        groups = self._groups.setdefault(relay, [])
        at = self._where.get((relay, data))
        # the same text joins its group unless this socket has a later message already (order)
        if at is None or self._last.get((relay, conn), -1) > at:
            at = len(groups)
            groups.append((data, []))
            self._where[(relay, data)] = at
        groups[at][1].append(conn)
        self._last[(relay, conn)] = at
        if not self._soon:
            self._soon = True
            self.call_soon(self.flush)

    @on_io_thread
    def flush(self) -> None:
        """Send what is queued: one message per group."""
        groups, self._groups = self._groups, {}
        self._where.clear()
        self._last.clear()
        self._soon = False
        for relay, found in groups.items():
            for data, conns in found:
                if len(conns) == 1:
                    self.send(relay, SEND, conns[0], data)
                else:
                    self.send(relay, MANY, "", encode_many(conns, data))
                self.sent += 1


class RemotePeer:
    """A socket on a relay, for a service on this node's I/O thread (its ``conn``). I/O thread.

    Attributes:
        relay: the relay's node id.
        conn_id: the socket's id on that relay.
        peer_address: the page's address as the relay saw it.
        listener: the service's listener (set by the service when it opens).
    """

    remote = True
    """Set on sockets that are not this node's own (a service may trust them less)."""

    def __init__(self, out: Outgoing, relay: str, conn_id: str, peer_address: tuple[str, int]) -> None:
        self.out = out
        self.relay = relay
        self.conn_id = conn_id
        self.peer_address = peer_address
        self.listener: Listener | None = None
        self._lost = False
        self._closing = False

    @property
    def lost(self) -> bool:
        """True once the relay said the socket is gone (or the relay is)."""
        return self._lost

    @on_io_thread
    def send_message(self, data: str | bytes) -> bool:
        """To the page, through its relay (nothing after a close). Never blocks; no flow control
        across the backplane (the relay's send-buffer policy applies there)."""
        if self._lost or self._closing:
            return False
        self.out.queue(self.relay, self.conn_id, data)
        return True

    @on_io_thread
    def start_close(self, code: int, reason: str) -> None:
        """Close the page's socket (after what was sent to it); its relay reports the close."""
        if self._lost or self._closing:
            return
        self._closing = True
        self.out.flush()
        self.out.send(self.relay, CLOSE, self.conn_id, f"{code} {reason}")

    @on_io_thread
    def gone(self) -> None:
        """The socket (or its relay) is gone: the service hears of it once."""
        if self._lost:
            return
        self._lost = True
        if self.listener is not None:
            tell(self.listener, self.as_conn())

    def as_conn(self) -> WsConnection:
        """This peer where a service expects a connection (it uses only the part above)."""
        return cast("WsConnection", self)

    def __repr__(self) -> str:
        return f"<RemotePeer {self.relay}:{self.conn_id}>"
