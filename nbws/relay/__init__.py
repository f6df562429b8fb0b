"""``nbws relay``: servers with no user code that serve an app's pages and
sockets for a kernel, through the backplane (``nbws.backplane``).

``node`` (a relay's side: what the kernel announced, the pages' traffic),
``pages`` (one page's socket and the resumable session), ``plots`` (a
plot's mirror), ``kernel`` (a kernel's side: announcing, the inbound queue,
numbered emits), ``remote`` (a page on a relay as the kernel's WebSocket),
``peers`` (a socket on a relay for a service on the kernel's I/O thread: the classroom's),
``wire`` (what they say to each other), ``command`` (starting a relay).
See the README's "nbws relay" and docs/architecture.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["start_relay", "run_relay", "relay_stats"]


def start_relay(app_name: str, backplane: str, host: str = "127.0.0.1", port: int | None = None,
                **traits: Any) -> Server:
    """See :func:`nbws.relay.command.start_relay`."""
    from .command import start_relay as start

    return start(app_name, backplane, host, port, **traits)


def run_relay(app_name: str, backplane: str, host: str = "127.0.0.1", port: int | None = None,
              **traits: Any) -> None:
    """See :func:`nbws.relay.command.run_relay`."""
    from .command import run_relay as run

    run(app_name, backplane, host, port, **traits)


def relay_stats(server: Server) -> dict[str, Any]:
    """See :func:`nbws.relay.command.relay_stats`."""
    from .command import relay_stats as stats

    return stats(server)
