"""Channels: a named stream from Python to pages, latest-wins or all.

Subscriptions and sends are handled on the I/O thread, so they work while a
cell is busy; :meth:`Channel.send` is thread-safe and never blocks.
"""

from __future__ import annotations

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

__all__ = ["Channel"]


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
        self.sent = 0
        """Values written to pages."""
        self.skipped = 0
        """Values a busy page never got because a newer one replaced them."""
        self._latest: bytes | str | None = None
        self._subscribers: dict[WsConnection, bool] = {}  # conn -> has an unsent newer value
        self._timer = False
        endpoint = server._endpoint
        if endpoint is None or not server.running:
            raise ServerNotRunningError("the channel's server is not running; start one with nbws.start_server()")
        self._io_loop = endpoint.io.loop
        self._router = endpoint.router

        def install() -> None:  # I/O thread
            endpoint.live[(CHANNEL, name)] = self  # announced to relays (nbws.relay)
            endpoint.routes.add_socket(self.path, self._subscribe)
            self._router.listen(CHANNEL, name, self._publish)  # values other servers of the app send

        submit(install)

    @property
    def pages(self) -> tuple[PageInfo, ...]:
        """The pages subscribed now, each with its address and its unsent
        bytes (a snapshot). Thread-safe."""
        return tuple(PageInfo(c.peer_address, c.pending_out()) for c in tuple(self._subscribers) if not c.lost)

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
        submit(lambda: self._router.share(CHANNEL, self.name, data, self._publish))

    @on_io_thread
    def _publish(self, data: bytes | str) -> None:
        self._latest = data
        for conn in list(self._subscribers):
            self._offer(conn, data)

    def _offer(self, conn: WsConnection, data: bytes | str) -> None:
        if conn.lost:
            self._subscribers.pop(conn, None)
            return
        if self.policy == "latest" and conn.pending_out() > 0:
            if self._subscribers.get(conn):
                self.skipped += 1
            self._subscribers[conn] = True  # deliver the newest once the page caught up
            self._poll()
            return
        self._subscribers[conn] = False
        conn.send_message(data)
        self.sent += 1

    def _poll(self) -> None:
        if self._timer:
            return
        self._timer = True

        def check() -> None:
            self._timer = False
            waiting = [c for c, dirty in self._subscribers.items() if dirty]
            for conn in waiting:
                if self._latest is not None:
                    self._offer(conn, self._latest)

        self._io_loop.call_later(0.01, check)

    def _subscribe(self, conn: WsConnection) -> None:
        self._subscribers[conn] = False
        if self.policy == "latest" and self._latest is not None:
            self._offer(conn, self._latest)
