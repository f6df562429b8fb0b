"""WebSocket upgrades through the extension, and Jupyter's activity clock.

After Jupyter's authentication and origin check (in
:class:`~nbws.jupyter.handlers.RelayHandler`), the upgrade request is
forwarded, path rewritten, to the kernel's Unix socket, and the browser's
connection is taken from tornado (``detach``); then raw bytes are spliced both
ways. The kernel's nbws does the handshake, so subprotocols,
permessage-deflate and close codes are its own, and nothing is held as whole
messages: each direction reads at most :data:`CHUNK` bytes and reads again
only once the other side has taken them (back-pressure).

Runs on the Jupyter server's (tornado) event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from jupyter_server._tz import utcnow
from tornado.ioloop import PeriodicCallback
from tornado.iostream import IOStream, StreamClosedError

if TYPE_CHECKING:
    from .handlers import RelayHandler

__all__ = ["CHUNK", "ACTIVITY_EVERY", "relay_websocket", "splice", "stamp_activity"]

CHUNK = 64 * 1024
"""The most bytes a relay holds per direction."""
ACTIVITY_EVERY = 60.0
"""Seconds between activity stamps while a relayed WebSocket is open."""


def stamp_activity(settings: dict[str, Any], kernel_id: str) -> None:
    """Count relayed traffic as activity: the server's (``last_activity_times``,
    which ``/api/status`` and the idle culler read) and the kernel's
    (``last_activity``, which the kernel culler reads)."""
    now = utcnow()
    settings["last_activity_times"]["nbws"] = now
    with contextlib.suppress(KeyError):
        settings["kernel_manager"].get_kernel(kernel_id).last_activity = now


async def _pump(source: IOStream, sink: IOStream) -> None:
    try:
        while True:
            data = await source.read_bytes(CHUNK, partial=True)
            await sink.write(data)  # resolves once the socket took it: then read again
    except StreamClosedError:
        pass
    finally:
        sink.close()  # nothing is pending: every write was awaited


async def splice(a: IOStream, b: IOStream) -> None:
    """Copy bytes both ways until either side closes; then close both."""
    await asyncio.gather(_pump(a, b), _pump(b, a))


async def relay_websocket(handler: RelayHandler, head: bytes) -> None:
    """Forward the (checked) upgrade request, ``head`` (its path rewritten,
    Jupyter's credentials removed), to the kernel's server and splice the two
    connections until one closes. The kernel's answer (101, or a 4xx such as
    403 from its own checks) reaches the browser as sent."""
    upstream = await handler.connect_upstream()
    try:
        await upstream.write(head)
    except StreamClosedError:
        upstream.close()
        raise
    kernel_id = handler.path_args[0]
    settings = handler.settings
    browser = handler.detach()
    stamp_activity(settings, kernel_id)
    ticker = PeriodicCallback(lambda: stamp_activity(settings, kernel_id), ACTIVITY_EVERY * 1000)
    ticker.start()
    try:
        await splice(browser, upstream)
    finally:
        ticker.stop()
        stamp_activity(settings, kernel_id)
