"""Starting a relay: :func:`start_relay` (returns at once) and :func:`run_relay`
(``nbws relay``; until Ctrl-C or SIGTERM). Runs on the caller's thread."""

from __future__ import annotations

from typing import Any

from ..app import App
from ..boundary import handler_plane
from ..config import check_trait_names
from ..ports import random_port
from ..security import is_wildcard
from ..server import Server, _launch, _serve_forever

__all__ = ["start_relay", "run_relay", "RELAY_DEFAULTS"]

RELAY_DEFAULTS: dict[str, Any] = {"max_connections": 20_000, "backlog": 4096, "max_pending_per_address": 1024,
                                  "max_message_size": 1024 * 1024}
"""A relay serves a lecture hall (many students, often behind one NAT address): these unless given.
Its pages' messages go to the app's queue in Redis, so they are limited to 1 MiB (close code 1009)."""


def start_relay(app_name: str, backplane: str, host: str = "127.0.0.1", port: int | None = None,
                **traits: Any) -> Server:
    """Start an ``nbws relay`` for the app ``app_name`` on ``backplane`` (a
    Redis URL shared with the app's kernel) and return its :class:`~nbws.Server`.

    The relay holds no user code: it serves nbws's assets, the pages and
    WebSocket paths the kernel announced, live plots (from a mirror of
    their frames), and ``/_nbws/ws``; the pages' messages go to the kernel's
    handlers through the backplane's queue, exactly once; what the kernel
    sends comes back through the relay. Bound to loopback by default; any
    other address needs a token (given with ``token=``, else one is made and
    is in :attr:`Server.url`). ``relay_secret=`` makes it serve only what a
    kernel with the same secret announced. Other keyword arguments are
    server traits."""
    check_trait_names("start_relay", traits)
    for name, value in RELAY_DEFAULTS.items():
        traits.setdefault(name, value)
    plane = handler_plane()
    assert plane is not None
    if port is None:
        port = random_port(host=host if not is_wildcard(host) else "127.0.0.1")
    bound = port
    return _launch(plane, port, lambda: Server(host, bound, App(), role="relay", app_name=app_name,
                                               backplane=backplane, **traits))


def run_relay(app_name: str, backplane: str, host: str = "127.0.0.1", port: int | None = None,
              **traits: Any) -> None:
    """:func:`start_relay`, then serve until Ctrl-C (prints the students' URL)."""
    _serve_forever(start_relay(app_name, backplane, host, port, **traits))


def relay_stats(server: Server) -> dict[str, Any]:
    """A relay's counters (pages, records forwarded and waiting, the emit offset ...). Thread-safe (a moment old)."""
    endpoint = server._endpoint
    sides = endpoint.sides if endpoint is not None else []
    return dict(sides[0].stats()) if sides else {}
