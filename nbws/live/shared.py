"""The shared server of live plots and figure streams (``server=None``)."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from ..app import App
from ..server import Server, start_server

__all__ = ["shared_server", "PageInfo"]

_live_server: Server | None = None
_live_lock = threading.Lock()  # the process-wide registry of the shared server (any user thread)


def shared_server() -> Server:
    """The server live plots use when given none: started on demand, named
    ``nbws-live``. Runs on the caller's thread (a handler plane)."""
    global _live_server
    with _live_lock:
        if _live_server is None or not _live_server.running:
            _live_server = start_server(app=App(), name="nbws-live")
        return _live_server


@dataclass(frozen=True)
class PageInfo:
    """One page watching a live plot or channel (``plot.pages``, ``channel.pages``).

    Attributes:
        peer_address: the page's (host, port).
        unsent: bytes sent to it that its socket has not taken yet; a page
            that stays high is slow, and skips batches or values.
    """

    peer_address: tuple[str, int]
    unsent: int
