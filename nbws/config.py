"""Server configuration: traitlets, each bound documented with its unit.

Set them per server (``start_server(..., ping_interval=5)``), as process-wide
defaults (``nbws.defaults.Server.ping_interval = 5``) or, in IPython, with
``%config Server.ping_interval = 5``. :class:`Settings` is the immutable
snapshot of them that the I/O thread reads, generated from the traits.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import ssl
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from traitlets import Bool, Enum, Float, Instance, Int, List, Unicode, Union, validate
from traitlets.config import Config, LoggingConfigurable

__all__ = ["ServerConfig", "Settings", "defaults", "MiB", "check_arguments", "check_trait_names"]

MiB = 1024 * 1024

defaults = Config()
"""Process-wide defaults for every new server: ``nbws.defaults.Server.ping_interval = 5``."""


# The numeric traits with a range: name -> (test, the rule in words); None
# (where a trait allows it) always passes.
_RANGES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "backlog": (lambda v: v >= 1, "at least 1"),
    "max_connections": (lambda v: v >= 1, "at least 1"),
    "max_pending_per_address": (lambda v: v >= 1, "at least 1 (or None for no limit)"),
    "pending_grace": (lambda v: v >= 0, "0 or more seconds"),
    "compression_window_bits": (lambda v: 9 <= v <= 15, "9-15"),
    "body_timeout": (lambda v: v > 0, "a number of seconds above 0"),
    "session_buffer_messages": (lambda v: v >= 1, "at least 1"),
    "session_buffer_bytes": (lambda v: v >= 1, "at least 1"),
    "session_buffer_age": (lambda v: v > 0, "a number of seconds above 0"),
    "session_timeout": (lambda v: v > 0, "a number of seconds above 0"),
    "max_sessions": (lambda v: v >= 1, "at least 1"),
    "max_total_session_buffer": (lambda v: v >= 1, "at least 1 (or None for no total bound)"),
    "switch_interval": (lambda v: 0 < v <= 1, "a number of seconds above 0 and at most 1 (or None: leave it alone)"),
    "backplane": (lambda v: v == "memory" or re.match(r"(redis|rediss|unix|nbws\+ws|nbws\+wss)://", v) is not None,
                  "'memory', a Redis URL (redis://host:6379/0, rediss://..., unix:///path) or a relay to dial "
                  "(nbws+ws://relay-host:8000/, nbws+wss://...)"),
    "app_name": (lambda v: re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", v) is not None,
                 "1-64 letters, digits, '_', '.', '-' (or None)"),
    "backplane_buffer_messages": (lambda v: v >= 1, "at least 1"),
    "backplane_buffer_bytes": (lambda v: v >= 1, "at least 1"),
    "backplane_log_length": (lambda v: v >= 1, "at least 1"),
    "backplane_resume_wait": (lambda v: v >= 0, "0 or more seconds"),
    "stream_stall_timeout": (lambda v: v > 0, "a number of seconds above 0 (or None: no limit)"),
}


class ServerConfig(LoggingConfigurable):
    """The limits, timeouts and security settings of an nbws server."""

    ping_interval = Float(
        20.0, allow_none=True,
        help="Seconds between keepalive pings the server sends on each WebSocket; None disables pings.",
    ).tag(config=True)
    ping_timeout = Float(
        20.0, allow_none=True,
        help="Seconds to wait for the pong answering a keepalive ping before closing with 1011; None waits forever.",
    ).tag(config=True)
    close_timeout = Float(
        5.0, help="Seconds to wait for the peer to finish the closing handshake before dropping TCP."
    ).tag(config=True)
    handshake_timeout = Float(
        10.0,
        help="Seconds a new connection has to send its complete request headers (and WebSocket handshake); then it is "
        "dropped (408). Also how long server.emit() messages wait for a socket on the envelope endpoint to send its "
        "first message (a page's session hello) before they go to it as to a plain client.",
    ).tag(config=True)
    keep_alive_timeout = Float(
        75.0, help="Seconds an idle HTTP keep-alive connection stays open waiting for its next request."
    ).tag(config=True)
    idle_timeout = Float(
        None, allow_none=True,
        help="Seconds a WebSocket may receive nothing at all (pongs count) before it is closed with 1001; None (default) never.",
    ).tag(config=True)
    max_message_size = Int(
        16 * MiB, allow_none=True,
        help="Largest incoming WebSocket message in bytes, counted after decompression; larger ones close with 1009. None: no limit.",
    ).tag(config=True)
    max_frame_size = Int(
        None, allow_none=True,
        help="Largest incoming WebSocket frame in bytes (after decompression); None: max_message_size.",
    ).tag(config=True)
    max_connections = Int(
        1024,
        help="Most simultaneous connections per server. At the cap, the oldest connections that have not sent a "
        "complete request head, then the oldest idle keep-alive ones, are closed to make room; WebSockets and "
        "requests in progress never are. When nothing can be reclaimed, a newcomer gets HTTP 503 with Retry-After.",
    ).tag(config=True)
    max_header_line = Int(8192, help="Longest request or header line in bytes; longer gets 431.").tag(config=True)
    max_header_block = Int(65536, help="Largest request header block in bytes; larger gets 431.").tag(config=True)
    max_header_count = Int(100, help="Most header fields in one request; more gets 431.").tag(config=True)
    max_body_size = Int(
        16 * MiB, help="Largest HTTP request body in bytes; larger gets 413 before the body is read."
    ).tag(config=True)
    send_buffer_size = Int(
        4 * MiB,
        help="High-water mark in bytes of data waiting to be written to one peer; past it send_buffer_policy applies.",
    ).tag(config=True)
    send_buffer_policy = Enum(
        ["close", "error", "drop"], "close",
        help="What a send does when the peer's buffer is past send_buffer_size: 'close' the socket with 1008, "
        "raise SendBufferFullError ('error'), or 'drop' the message.",
    ).tag(config=True)
    receive_buffer_size = Int(
        16 * MiB,
        help="Bytes of received messages that may wait for the handler loop per connection; past it the server stops reading from that peer until handlers catch up.",
    ).tag(config=True)
    allowed_hosts = List(
        Unicode(),
        help="Host header values accepted (DNS-rebinding defence), without port; '*' accepts any. Empty: loopback names and the bound address; any host when bound to a non-loopback address with a token.",
    ).tag(config=True)
    allowed_origins = List(
        Union([Unicode(), Instance(re.Pattern)]),
        help="Origins (e.g. 'http://localhost:8888', or compiled regexes) allowed to open WebSockets besides the server's own origin; '*' allows any.",
    ).tag(config=True)
    token = Unicode(
        None, allow_none=True,
        help="Access token required on every request (URL ?token=, cookie nbws_token, or 'Authorization: token ...'). "
        "None: generated when binding a non-loopback address, none on loopback. '': disabled.",
    ).tag(config=True)
    compression = Bool(False, help="Offer permessage-deflate on WebSockets (off by default).").tag(config=True)
    compression_window_bits = Int(
        12, help="LZ77 window, in bits (9-15), for permessage-deflate: bounds memory per connection."
    ).tag(config=True)
    subprotocols = List(Unicode(), help="WebSocket subprotocols the server accepts, most preferred first.").tag(config=True)
    ssl = Instance(ssl.SSLContext, allow_none=True, help="An ssl.SSLContext to serve https and wss.").tag(config=True)
    external_url = Unicode(
        None, allow_none=True,
        help="The URL browsers should use for this server (a template with {port} is allowed), for "
        "deployments nbws cannot detect; default: NBWS_EXTERNAL_URL, then jupyter-server-proxy on JupyterHub.",
    ).tag(config=True)
    fragment_size = Int(
        None, allow_none=True,
        help="Split outgoing messages larger than this many bytes into frames of this size; None: one frame per message.",
    ).tag(config=True)
    close_on_handler_error = Bool(
        True, help="Close a WebSocket with 1011 when one of its handlers raises (the error is logged either way)."
    ).tag(config=True)
    max_total_send_buffer = Int(
        32 * MiB, allow_none=True,
        help="Most bytes waiting to be written to all of one server's WebSocket peers together; once a send would "
        "pass it, send_buffer_policy applies to the peers holding at least their fair share (this bound divided "
        "by the open WebSockets). None: only the per-peer send_buffer_size bounds memory.",
    ).tag(config=True)
    body_timeout = Float(
        30.0,
        help="Seconds a request body may go without a single byte arriving, once its headers are in "
        "(an inactivity timeout between reads, not a deadline for the whole upload); then 408 and the "
        "connection is closed.",
    ).tag(config=True)
    backlog = Int(
        1024,
        help="Length of the listening socket's accept queue: connections the kernel holds while the I/O thread "
        "accepts; a burst larger than this waits for SYN retransmits (1 s and more). The kernel caps it at "
        "net.core.somaxconn (see /proc/sys/net/core/somaxconn; 4096 on Linux 5.4+, 128 before).",
    ).tag(config=True)
    max_pending_per_address = Int(
        64, allow_none=True,
        help="Most connections from one client IP address that have not sent a complete request head; past it "
        "the address's oldest such connection (one older than pending_grace) is closed to make room. Unix-socket "
        "peers have no address and are not limited; None: no limit.",
    ).tag(config=True)
    pending_grace = Float(
        1.0,
        help="Seconds a new connection may take to send its request head before max_pending_per_address may "
        "reclaim it, so that a burst of users through one proxy address (jupyter-server-proxy) is never cut.",
    ).tag(config=True)
    session_buffer_messages = Int(
        1000,
        help="Most messages a resumable session (a page using nbws.js) keeps for a replay until the page "
        "acknowledges them; past it the oldest are dropped and a page that comes back later gets a 'resync' event.",
    ).tag(config=True)
    session_buffer_bytes = Int(
        1 * MiB, help="Most bytes of messages a resumable session keeps for a replay (as session_buffer_messages)."
    ).tag(config=True)
    session_buffer_age = Float(
        120.0, help="Seconds a resumable session keeps an unacknowledged message for a replay (as session_buffer_messages)."
    ).tag(config=True)
    session_timeout = Float(
        120.0,
        help="Seconds a resumable session is kept after its page went away (closed tab, lost network); a page "
        "that comes back later starts a new session and gets a 'resync' event; @app.session_ended runs.",
    ).tag(config=True)
    max_sessions = Int(
        4096, help="Most resumable sessions per server; past it the session away the longest is ended to make room, "
        "and when every page is connected a new page is refused (close code 1013, try again later; nbws.js retries)."
    ).tag(config=True)
    max_total_session_buffer = Int(
        64 * MiB, allow_none=True,
        help="Most bytes all resumable sessions of one server keep for replays together; past it a session that "
        "sends drops its oldest kept messages. None: only the per-session bounds apply.",
    ).tag(config=True)
    switch_interval = Float(
        0.001, allow_none=True,
        help="Seconds: the most CPython's switch interval (sys.setswitchinterval) may be while this server runs, "
        "so that the I/O thread gets the GIL back quickly from a cell that spins in Python (Python's default, "
        "5 ms, is what it can wait at each wake-up: a live plot's frames leave late). Process-wide: the shortest "
        "of the running servers' applies, and when the last one stops the interval found is put back. None: "
        "leave the interval alone.",
    ).tag(config=True)
    backplane = Unicode(
        "memory",
        help="How the servers of one app (app_name) share broadcasts, emits, channels and live plot frames: "
        "'memory' (the servers of this process; the default), a Redis URL such as 'redis://127.0.0.1:6379/0' "
        "(every process and machine using that Redis; needs nbws[redis]), or an nbws relay to dial out to "
        "('nbws+ws://relay-host:8000/' or 'nbws+wss://...'; needs relay_secret).",
    ).tag(config=True)
    app_name = Unicode(
        None, allow_none=True,
        help="The app this server belongs to: servers with the same app_name and backplane share what they send "
        "(broker keys are namespaced nbws:{app_name}:). None (default): this server shares nothing.",
    ).tag(config=True)
    backplane_buffer_messages = Int(
        10_000,
        help="Most messages a server keeps for the backplane while its broker is unreachable; past it the oldest "
        "are dropped (counted in backplane_stats().dropped). Publishing never blocks or raises.",
    ).tag(config=True)
    backplane_buffer_bytes = Int(
        16 * MiB, help="Most bytes kept for the backplane while its broker is unreachable (as backplane_buffer_messages)."
    ).tag(config=True)
    backplane_log_length = Int(
        10_000, help="Most entries of each backplane replay log (Redis: XADD MAXLEN ~); older ones are trimmed."
    ).tag(config=True)
    backplane_resume_wait = Float(
        2.0,
        help="Seconds a server reconnected to its broker waits for the app's other servers to resubscribe "
        "before it publishes what it buffered (so they get it).",
    ).tag(config=True)
    relay_secret = Unicode(
        None, allow_none=True,
        help="The publisher secret of nbws relay: a kernel signs what it announces to relays (its pages, sockets "
        "and plots) with it, and a relay started with it serves only what is signed. On a Redis backplane the "
        "Redis URL (its password) is the credential that matters; the secret keeps a relay from serving an "
        "announcement written by anything else on that Redis. None: announcements are not signed.",
    ).tag(config=True)
    stream_stall_timeout = Float(
        60.0, allow_none=True,
        help="Seconds a large HTTP response sent by the I/O thread (a static file, a live plot's CSV) may wait "
        "for a peer that takes none of it (the send buffer stays past send_buffer_size); then the connection is "
        "dropped, so a stalled download holds nothing for long. None: wait as long as the peer stays connected.",
    ).tag(config=True)

    @validate(*_RANGES)
    def _check_range(self, proposal: Any) -> Any:
        name, value = proposal["trait"].name, proposal["value"]
        allowed, rule = _RANGES[name]
        if value is not None and not allowed(value):
            raise ValueError(f"{name} must be {rule}, not {value}")
        return value

    def settings(self) -> Settings:
        """An immutable snapshot of the traits, for the I/O thread (lists
        become tuples)."""
        values = {name: getattr(self, name) for name in SETTINGS_FIELDS}
        return Settings(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def check_arguments(caller: str, host: object, port: object, app: object) -> None:
    """Refuse arguments in the wrong place or out of range, with the call
    that was probably meant. Runs on the caller's thread, before anything is bound.

    Raises:
        TypeError: ``host`` is not a string (``start_server(8000, app)``), or
            ``port`` is not an int or None.
        ValueError: ``port`` is outside 0-65535.
    """
    if not isinstance(host, str):
        if isinstance(port, int) and not isinstance(port, bool):
            given = f"got {host!r} as host and {port!r} as port"
        else:
            given = f"got {host!r} as host"
        if isinstance(host, int) and not isinstance(host, bool):
            raise TypeError(f"{caller}(host, port, app): {given}; did you mean "
                            f"{caller}(port={host}, app=...)?")
        raise TypeError(f"{caller}(host, port, app): host must be an address such as '127.0.0.1', "
                        f"not {type(host).__name__}")
    if port is None:
        return
    if isinstance(port, bool) or not isinstance(port, int):
        hint = ("; was the app passed as the port? use "
                f"{caller}(port=..., app=app)" if app is None else "")
        raise TypeError(f"{caller}(host, port, app): port must be an int or None (a free port), "
                        f"not {type(port).__name__}{hint}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be between 0 and 65535, not {port}; pass port=None for a free port")


def check_trait_names(caller: str, traits: dict[str, Any]) -> None:
    """Refuse keyword arguments that are not settings of :class:`Server`,
    suggesting the closest valid name (``ping_intervall`` → ``ping_interval``).

    Runs on the caller's thread.

    Raises:
        TypeError: naming the unknown argument and listing the valid ones.
    """
    valid = sorted(ServerConfig.class_trait_names(config=True))
    unknown = [name for name in traits if name not in valid]
    if not unknown:
        return
    name = unknown[0]
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise TypeError(f"{caller}() got an unexpected keyword argument {name!r}; {hint}"
                    f"the settings are: {', '.join(valid)} (see help(nbws.Server))")


SETTINGS_FIELDS: tuple[str, ...] = tuple(sorted(ServerConfig.class_trait_names(config=True)))
"""The names of the configurable traits: the fields of :class:`Settings`."""

if TYPE_CHECKING:
    # For the type checker a snapshot reads like the traits themselves, with
    # the types traitlets gives them (``settings.ping_interval: float | None``).
    Settings = ServerConfig
else:
    Settings = dataclasses.make_dataclass(
        "Settings", [(name, Any) for name in SETTINGS_FIELDS], frozen=True, slots=True,
        namespace={"__doc__": "Immutable copy of a server's configurable traits, read by the I/O thread. "
                              "Made from ServerConfig's traits (one field per trait), so it never drifts."},
    )
    Settings.__module__ = __name__
