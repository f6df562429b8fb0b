"""Resumable sessions: one page's logical connection, across reconnects.

A page using ``nbws.js`` on the envelope endpoint (``/_nbws/ws``) opens a
session with its first message; after a drop it reconnects with the same
session, the server replays what the page missed and the page replays what
the server missed, each message delivered once, in order. Python sees a
:class:`Session` that outlives the page's sockets. The wire protocol is in
:mod:`nbws.envelope`; the I/O-thread half is :mod:`nbws.io.resumption`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from .envelope import encode_topic

if TYPE_CHECKING:
    from .boundary.replay import ReplayLog
    from .websocket import Message, WebSocket

__all__ = ["Session"]


class Session:
    """One page's logical connection to a server: it survives reconnects
    (phones, Wi-Fi, a page frozen in the background) until the page has been
    away longer than ``session_timeout``.

    Handlers get it as ``ws.session``; ``@app.session_started`` and
    ``@app.session_ended`` hooks get it once each. Messages sent with
    :meth:`emit` are numbered and kept (within ``session_buffer_*``) until
    the page acknowledges them, so a page that reconnects gets the ones it
    missed; a page that missed more than that gets a ``"resync"`` event.

    Attributes:
        id: the session's id (made by the server; the page keeps it in
            ``sessionStorage``, so a reload keeps the session and a new tab
            gets a new one).
        ws: the page's current :class:`~nbws.WebSocket`, or None while it is away.
        data: a dict for your per-page state; it lives as long as the session.
        started_at: ``time.time()`` when the session started.
        reconnects: how many times the page came back.
        expired: True once the session ended (the page stayed away past
            ``session_timeout``, the server's session bounds evicted it, or the
            server stopped).

    Its attributes change on the handler loop; :meth:`emit` and :meth:`send`
    are thread-safe.
    """

    def __init__(self, session_id: str, log: ReplayLog) -> None:
        self.id = session_id
        self._log = log
        self.ws: WebSocket | None = None
        self.data: dict[str, Any] = {}
        self.started_at = time.time()
        self.reconnects = 0
        self.expired = False

    @property
    def connected(self) -> bool:
        """True while the page has an open socket (as the handler loop sees it)."""
        return self.ws is not None and not self.ws.closed

    def emit(self, topic: str, data: Any = None) -> bool:
        """Send a topic message that the page's ``conn.topic(topic, fn)``
        receives exactly once, even if the page is away now and comes back
        within ``session_timeout``. Thread-safe, never blocks. True when it
        went to the page's socket now, False when it waits for the page to
        come back (or the session expired: then it is dropped)."""
        return self.send(encode_topic(topic, data))

    def send(self, message: Message) -> bool:
        """Send ``message`` on this session. A ``str`` must be a JSON object
        (an envelope such as ``nbws.envelope.encode_topic(...)``): it is
        numbered and replayed like :meth:`emit`. ``bytes`` go to the current
        socket only (binary frames are not replayed); False when the page is
        away. Thread-safe."""
        if self.expired:
            return False
        if isinstance(message, (bytes, bytearray, memoryview)):
            ws = self.ws
            return ws.send(bytes(message)) if ws is not None and not ws.closed else False
        if not isinstance(message, str) or not message.startswith("{"):
            raise ValueError("Session.send() takes an envelope (a JSON object's text) or bytes; "
                             "use session.emit(topic, data) for topic messages")
        return self._log.send(message)

    @property
    def buffered(self) -> tuple[int, int]:
        """(messages, bytes) kept for a replay now: sent, not yet acknowledged by the page."""
        return self._log.size

    def __repr__(self) -> str:
        state = "expired" if self.expired else "connected" if self.connected else "away"
        return f"<nbws.Session {self.id[:8]}… {state}, {self.reconnects} reconnect(s)>"
