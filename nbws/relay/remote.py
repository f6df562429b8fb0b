"""A page on a relay, as the kernel's app sees it: an ordinary
:class:`nbws.WebSocket` whose bytes travel over the backplane.

:class:`RemoteLink` is the WebSocket's I/O side (the ``Link`` protocol of
:mod:`nbws.websocket`): ``send`` and ``close`` go to the relay that holds the
page's socket (``send_to(relay, "w" | "x", conn, ...)``). There is no flow
control across the backplane: a drain wait returns at once, and what a slow
page cannot take is the relay's send-buffer policy's business. Inbound, each
message the handler plane takes is reported back (``message_handled``), so
the kernel takes no more from the relays' queue than its bound.
"""

from __future__ import annotations

from collections.abc import Callable

from ..boundary import submit
from ..websocket import Message
from .wire import CLOSE, SEND

__all__ = ["RemoteLink"]

Send = Callable[[str, str, str, "str | bytes"], None]
"""``send(relay, kind, conn, data)``, on the I/O thread."""


class RemoteLink:
    """The Link of a WebSocket whose page is on a relay. Thread-safe."""

    __slots__ = ("conn", "handled", "relay", "send")

    def __init__(self, send: Send, relay: str, conn: str,
                 handled: Callable[[str, str], None] | None = None) -> None:
        self.send = send
        self.relay = relay
        self.conn = conn
        self.handled = handled

    def send_message(self, data: Message) -> bool:
        """Hand ``data`` to the I/O thread, which sends it to the page's relay. Thread-safe."""
        send, relay, conn = self.send, self.relay, self.conn
        submit(lambda: send(relay, SEND, conn, data))
        return True

    def close_connection(self, code: int, reason: str) -> None:
        """Ask the relay to close the page's socket; the close is reported back when done. Thread-safe."""
        send, relay, conn = self.send, self.relay, self.conn
        submit(lambda: send(relay, CLOSE, conn, f"{code} {reason}"))

    def message_handled(self, size: int) -> None:
        """The handler plane took one message: the kernel's side releases it (and acknowledges its
        queue entry), on the I/O thread. Runs on the handler plane."""
        handled, relay, conn = self.handled, self.relay, self.conn
        if handled is not None:
            submit(lambda: handled(relay, conn))

    def add_drain_waiter(self, wake: Callable[[Exception | None], None]) -> bool:
        """Always drained (no flow control across the backplane)."""
        return True

    def remove_drain_waiter(self, wake: Callable[[Exception | None], None]) -> None:
        """Nothing to remove."""
