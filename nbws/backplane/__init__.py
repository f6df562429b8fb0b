"""The backplane: servers of one app, in several processes, as one.

:class:`Backplane` (``base``) is the interface; :class:`MemoryBackplane`
(``memory``, the default) shares between the servers of one process,
:class:`~nbws.backplane.redis.RedisBackplane` (``redis``, extra
``nbws[redis]``) between processes and machines;
:class:`~nbws.backplane.uplink.UplinkBackplane` (``uplink``, wire in
``link``) is a kernel dialing out to one ``nbws relay`` with no broker. :class:`Router` (``router``)
is a server's use of it; ``wire`` the envelope format. Everything runs on the
I/O thread. See docs/architecture.md, "Past one process".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .base import Backplane, BackplaneStats, Entry, LogSlice, key_prefix, new_node_id, parse_id
from .memory import MemoryBackplane
from .router import BROADCAST, CHANNEL, EMIT, PLOT, Router
from .wire import Envelope, Numbering, decode, encode

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "BROADCAST", "CHANNEL", "EMIT", "PLOT",
    "Backplane", "BackplaneStats", "Entry", "Envelope", "LogSlice", "MemoryBackplane", "Numbering", "Router",
    "decode", "encode", "key_prefix", "make_backplane", "new_node_id", "parse_id",
]


def make_backplane(settings: Settings, plane: Any = None) -> Callable[[Callable[[Envelope], None]], Backplane]:
    """What a server's settings ask for (``backplane``, ``app_name`` and the
    ``backplane_*`` limits), as a factory taking the receiver; ``plane`` is the
    server's handler plane (an uplink's socket needs it). Pure."""
    url, app = settings.backplane, settings.app_name

    def make(receiver: Callable[[Envelope], None]) -> Backplane:
        if url == "memory":
            return MemoryBackplane(app, receiver, settings.backplane_log_length)
        if app is None:
            raise ValueError(f"backplane={url!r} needs app_name=... (the name every server of the app "
                             "shares, e.g. app_name='cs101')")
        if url.startswith("nbws+"):
            from .uplink import UplinkBackplane

            return UplinkBackplane(url, app, receiver, secret=settings.relay_secret, settings=settings, plane=plane,
                                   buffer_messages=settings.backplane_buffer_messages,
                                   buffer_bytes=settings.backplane_buffer_bytes)
        try:
            import redis  # noqa: F401
        except ImportError:
            raise ImportError("backplane='redis://...' needs redis-py: pip install 'nbws[redis]'") from None
        from .redis import RedisBackplane

        return RedisBackplane(url, app, receiver, buffer_messages=settings.backplane_buffer_messages,
                              buffer_bytes=settings.backplane_buffer_bytes,
                              log_length=settings.backplane_log_length,
                              resume_wait=settings.backplane_resume_wait)

    return make
