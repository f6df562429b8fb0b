"""One server's use of its backplane: what it shares, and where what other
nodes share goes.

A :class:`Router` belongs to an :mod:`~nbws.io.endpoint`. Senders call
:meth:`Router.share` with the local delivery (``endpoint.broadcast``,
``channel._deliver`` ...) and the message: it runs the local delivery and
publishes the message to the app's other nodes, whose routers hand it to the
same local delivery there (``listen``), so a remote message takes the same
path as a local one (send-buffer policies, a channel's ``latest`` policy,
session numbering on the receiving server). Runs on the I/O thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from .base import Backplane, BackplaneStats
from .wire import Envelope

__all__ = ["Router", "Delivery", "BROADCAST", "EMIT", "CHANNEL", "PLOT"]

log = logging.getLogger("nbws")
Delivery = Callable[[str | bytes], object]
"""A local delivery: runs on the I/O thread with the message."""
BROADCAST, EMIT, CHANNEL, PLOT = "b", "e", "c", "p"
"""The kinds this version publishes: ``server.broadcast``, ``server.emit``,
``Channel.send`` (named), ``LivePlot`` frames (named)."""


class Router:
    """Local deliveries by (kind, name), and the backplane. I/O thread."""

    def __init__(self, make: Callable[[Callable[[Envelope], None]], Backplane]) -> None:
        self.routes: dict[tuple[str, str], Delivery] = {}
        self.unrouted = 0
        self.backplane = make(self.deliver)
        self.sharing = self.backplane.app is not None

    async def start(self) -> None:
        """Connect the backplane (raises BackplaneUnavailableError)."""
        await self.backplane.start()

    async def stop(self) -> None:
        """Disconnect the backplane (what is buffered gets a second to go out)."""
        await self.backplane.stop()

    def listen(self, kind: str, name: str, delivery: Delivery) -> None:
        """Deliver what other nodes share under (kind, name) with ``delivery``."""
        self.routes[(kind, name)] = delivery

    def forget(self, kind: str, name: str) -> None:
        """Stop delivering (kind, name)."""
        self.routes.pop((kind, name), None)

    def share(self, kind: str, name: str, data: str | bytes, local: Delivery | None = None) -> None:
        """Deliver ``data`` here (``local``) and on every other node of the app."""
        if local is not None:
            local(data)
        if self.sharing:
            self.backplane.publish(kind, name, data)

    def deliver(self, envelope: Envelope) -> None:
        """A message from another node: its local delivery, or counted as unrouted."""
        delivery = self.routes.get((envelope.kind, envelope.name))
        if delivery is None:
            self.unrouted += 1
            return
        try:
            delivery(envelope.data)
        except Exception:
            log.exception("nbws: delivering a backplane message (%s %r) failed", envelope.kind, envelope.name)

    def stats(self) -> BackplaneStats:
        """The backplane's counters. Thread-safe (a moment old)."""
        return self.backplane.stats(self.unrouted)
