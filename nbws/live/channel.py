"""Channels: a named stream from Python to pages, latest-wins or all.

Subscriptions and sends are handled on the I/O thread, so they work while a
cell is busy; :meth:`Channel.send` is thread-safe and never blocks.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

from ..backplane import CHANNEL
from ..boundary import on_io_thread, submit
from ..errors import ServerNotRunningError
from .shared import PageInfo

if TYPE_CHECKING:
    from ..io.wsconn import WsConnection
    from ..server import Server

__all__ = ["Channel", "Feed"]


class Channel:
    """A named stream from Python to pages (``server.channel(name)``).

    Pages subscribe with ``connect({path: "_nbws/channel/<name>"})`` (nbws.js)
    or any WebSocket client at that path. ``send`` is thread-safe and never
    blocks. With ``policy="latest"`` a page that is still receiving an older
    value gets only the newest one when it is ready (frames of a video, the
    state of a figure); with ``policy="all"`` every value is sent, bounded by
    the server's send buffer and its policy. Subscriptions and sends are
    handled by the I/O thread, so they work while a cell is busy.
    """

    def __init__(self, server: Server, name: str, policy: str = "latest") -> None:
        if policy not in ("latest", "all"):
            raise ValueError("policy must be 'latest' or 'all'")
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise ValueError(f"a channel name may use letters, digits, '_', '.', '-', not {name!r}")
        self.server = server
        self.name = name
        self.policy = policy
        self.path = f"/_nbws/channel/{name}"
        endpoint = server._endpoint
        if endpoint is None or not server.running:
            raise ServerNotRunningError("the channel's server is not running; start one with nbws.start_server()")
        self._feed = Feed(policy, endpoint.io.loop)
        self._router = endpoint.router
        feed = self._feed

        def install() -> None:  # I/O thread
            endpoint.live[(CHANNEL, name)] = self  # announced to relays (nbws.relay)
            endpoint.routes.add_socket(self.path, feed.subscribe)
            self._router.listen(CHANNEL, name, feed.publish)  # values other servers of the app send

        submit(install)

    @property
    def sent(self) -> int:
        """Values written to pages."""
        return self._feed.sent

    @property
    def skipped(self) -> int:
        """Values a busy page never got because a newer one replaced them."""
        return self._feed.skipped

    @property
    def pages(self) -> tuple[PageInfo, ...]:
        """The pages subscribed now, each with its address and its unsent
        bytes (a snapshot). Thread-safe."""
        return tuple(PageInfo(c.peer_address, c.pending_out()) for c in tuple(self._feed.subscribers) if not c.lost)

    def send(self, value: Any) -> None:
        """Send ``value`` (str, bytes, or anything JSON-serialisable) to every subscribed page, here and on
        every server of the app (``app_name``) with a channel of this name (each applies its own policy)."""
        data: bytes | str
        if isinstance(value, (bytes, bytearray, memoryview)):
            data = bytes(value)
        elif isinstance(value, str):
            data = value
        else:
            data = json.dumps(value)
        submit(lambda: self._router.share(CHANNEL, self.name, data, self._feed.publish))


class Feed:
    """A channel's pages on one server and its delivery policy (a kernel's
    :class:`Channel`, or its mirror on ``nbws relay``). I/O thread."""

    def __init__(self, policy: str, loop: asyncio.AbstractEventLoop) -> None:
        self.policy = policy
        self.sent = 0
        self.skipped = 0
        self.latest: bytes | str | None = None
        """The last value (a page that subscribes later gets it under ``latest``)."""
        self.subscribers: dict[WsConnection, bool] = {}  # conn -> has an unsent newer value
        self._timer = False
        self._io_loop = loop

    @on_io_thread
    def publish(self, data: bytes | str) -> None:
        """A value: to every subscribed page, by the policy."""
        self.latest = data
        for conn in list(self.subscribers):
            self._offer(conn, data)

    def _offer(self, conn: WsConnection, data: bytes | str) -> None:
        if conn.lost:
            self.subscribers.pop(conn, None)
            return
        if self.policy == "latest" and conn.pending_out() > 0:
            if self.subscribers.get(conn):
                self.skipped += 1
            self.subscribers[conn] = True  # deliver the newest once the page caught up
            self._poll()
            return
        self.subscribers[conn] = False
        conn.send_message(data)
        self.sent += 1

    def _poll(self) -> None:
        if self._timer:
            return
        self._timer = True

        def check() -> None:
            self._timer = False
            waiting = [c for c, dirty in self.subscribers.items() if dirty]
            for conn in waiting:
                if self.latest is not None:
                    self._offer(conn, self.latest)

        self._io_loop.call_later(0.01, check)

    def subscribe(self, conn: WsConnection) -> None:
        """A page opened the channel's socket."""
        self.subscribers[conn] = False
        if self.policy == "latest" and self.latest is not None:
            self._offer(conn, self.latest)
