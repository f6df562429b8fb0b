"""Request checks made on the I/O thread before any user code sees a request.

Plain functions over plain values: Host (DNS rebinding), Origin (cross-site
WebSocket hijacking), access token, and malformed request targets.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
from collections.abc import Sequence
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

from .messages import Request

__all__ = [
    "TOKEN_COOKIE",
    "is_loopback",
    "split_host",
    "host_allowed",
    "origin_allowed",
    "request_token",
    "token_matches",
    "target_problem",
]

TOKEN_COOKIE = "nbws_token"
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str) -> bool:
    """True for loopback names and addresses (``localhost``, 127.0.0.0/8, ``::1``)."""
    host = host.strip("[]").lower()
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """True for the any-address binds ``0.0.0.0``, ``::`` and ``""``."""
    return host.strip("[]") in ("", "0.0.0.0", "::")


def split_host(value: str) -> str:
    """The host part of a ``Host`` header value, lower-case, brackets removed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        return value[1:end] if end > 0 else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


def host_allowed(host_header: str, allowed: Sequence[str], bound_host: str, token_required: bool) -> bool:
    """Decide whether a ``Host`` header may reach this server.

    ``allowed`` entries are host names without port (``'*'`` allows all). With
    no entries: loopback names, the bound address, and — when the server is
    bound to a non-loopback address and guarded by a token — any host.
    """
    host = split_host(host_header)
    if not host:
        return False
    if allowed:
        return "*" in allowed or host in {h.lower().strip("[]") for h in allowed}
    if is_loopback(host) or host == bound_host.strip("[]").lower():
        return True
    return token_required and not is_loopback(bound_host)


def origin_allowed(
    origin: str | None,
    host_header: str,
    scheme: str,
    allowed: Sequence[str | re.Pattern[str]],
) -> bool:
    """Decide whether a WebSocket handshake's ``Origin`` may connect.

    Allowed: no Origin at all (a non-browser client), the server's own origin
    (same scheme-less host and port as the ``Host`` header), and configured
    origins. ``"null"`` is refused unless configured explicitly.
    """
    if origin is None:
        return True
    origin = origin.strip()
    for rule in allowed:
        if isinstance(rule, re.Pattern):
            if rule.fullmatch(origin):
                return True
        elif rule == "*" and origin != "null":
            return True
        elif rule.rstrip("/").lower() == origin.lower():
            return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return False
    default = "443" if parts.scheme == "https" else "80"
    origin_host = split_host(parts.netloc)
    origin_port = parts.port if parts.port is not None else int(default)
    return origin_host == split_host(host_header) and origin_port == _host_port(host_header, scheme)


def _host_port(host_header: str, scheme: str) -> int:
    """The port of a ``Host`` header value, or the scheme's default."""
    rest = host_header.rsplit("]", 1)[-1] if host_header.startswith("[") else host_header
    _, colon, port = rest.rpartition(":")
    if colon and port.isdigit():
        return int(port)
    return 443 if scheme == "https" else 80


def request_token(req: Request) -> str | None:
    """The token a request carries: ``?token=``, ``Authorization: token|Bearer``, or the cookie."""
    for key, value in parse_qsl(req.query_string, keep_blank_values=True):
        if key == "token":
            return value
    auth = req.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() in ("token", "bearer") and value:
        return value.strip()
    return req.cookies.get(TOKEN_COOKIE)


def token_matches(given: str | None, expected: str) -> bool:
    """Constant-time token comparison."""
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def target_problem(target: str) -> str | None:
    """Why a request target is malformed (a 400), or None when it is fine.

    Refused: targets not starting with ``/`` (except ``*``), NUL and other
    control characters (raw or percent-encoded), and invalid percent-encoded
    UTF-8 in the path.
    """
    if target == "*":
        return None
    if not target.startswith("/"):
        return "the request target must start with '/'"
    path = target.split("?", 1)[0]
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "control characters are not allowed in the request target"
    raw = unquote_to_bytes(path)
    if any(b < 0x20 or b == 0x7F for b in raw):
        return "encoded control characters (such as %00) are not allowed in the path"
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "the path is not valid percent-encoded UTF-8"
    return None
