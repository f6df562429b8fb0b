"""Request checks made on the I/O thread before any user code sees a request.

Plain functions over plain values: Host (DNS rebinding), Origin (cross-site
WebSocket hijacking), access token, malformed request targets, Host headers,
transfer codings and WebSocket handshakes. Every function here takes any text
a peer can send and answers with a decision (a bool, a reason, a
:class:`Rejection`); none raises on bad input. All are pure, so thread-safe;
the I/O thread calls them.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_to_bytes, urlsplit

from websockets.exceptions import InvalidHandshake
from websockets.headers import parse_connection, parse_extension, parse_subprotocol, parse_upgrade

from .messages import Headers, Request

__all__ = [
    "TOKEN_COOKIE",
    "is_loopback",
    "split_host",
    "host_allowed",
    "origin_allowed",
    "request_token",
    "token_matches",
    "target_problem",
    "Rejection",
    "host_problem",
    "http_version_problem",
    "transfer_coding_status",
    "websocket_handshake_problem",
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
    try:
        parts = urlsplit(origin)
        port = parts.port  # raises ValueError for a port that is not a number in 0-65535
    except ValueError:
        return False  # malformed (a bad port, an unclosed '[' …): not our origin, so a 403
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username is not None:
        return False
    default = 443 if parts.scheme == "https" else 80
    origin_host = split_host(parts.netloc)
    origin_port = port if port is not None else default
    return origin_host == split_host(host_header) and origin_port == _host_port(host_header, scheme)


_ASCII_DIGITS = re.compile(r"[0-9]{1,5}")


def _host_port(host_header: str, scheme: str) -> int:
    """The port of a ``Host`` header value, or the scheme's default."""
    rest = host_header.rsplit("]", 1)[-1] if host_header.startswith("[") else host_header
    _, colon, port = rest.rpartition(":")
    if colon and _ASCII_DIGITS.fullmatch(port):
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


@dataclass(frozen=True)
class Rejection:
    """A 4xx the I/O thread sends instead of serving a request.

    Attributes:
        status: the HTTP status (400, 426 …).
        text: the plain-text body: what was wrong, in words.
        headers: extra response headers, as (name, value) pairs.
    """

    status: int
    text: str
    headers: tuple[tuple[str, str], ...] = ()


# RFC 3986 host: an IP-literal in brackets, or a reg-name / IPv4address (the
# unreserved and sub-delims characters and percent-escapes); then an optional
# port of ASCII digits.
_HOST_RE = re.compile(
    r"(?:\[[0-9A-Fa-f:.]+(?:%25[A-Za-z0-9._~-]+)?\]|[A-Za-z0-9._~!$&'()*+,;=%-]+)(?::(?P<port>[0-9]*))?"
)


def host_problem(values: Sequence[str]) -> str | None:
    """Why the ``Host`` header fields of a request are malformed (a 400), or None.

    ``values`` are every ``Host`` field received. More than one, or a value
    that is not ``host[:port]`` (RFC 9110 §7.2), is malformed. An empty value
    (allowed by RFC 9112 §3.2) or no field at all is left to the caller.
    """
    if len(values) > 1:
        return "more than one Host header"
    if not values or not values[0].strip():  # empty is valid: a target without authority (RFC 9112 §3.2)
        return None
    match = _HOST_RE.fullmatch(values[0].strip())
    if match is None:
        return "the Host header is not host[:port]"
    port = match.group("port")
    if port and (len(port) > 5 or int(port) > 65535):
        return "the port in the Host header is not a number in 0-65535"
    return None


def http_version_problem(version: str) -> str | None:
    """Why a request's HTTP version cannot be served (a 400), or None.

    nbws speaks HTTP/1.0 and HTTP/1.1 on this socket; ``HTTP/2.0`` or
    ``HTTP/0.9`` in an HTTP/1 request line is a client error.
    """
    if version in ("1.0", "1.1"):
        return None
    return f"nbws speaks HTTP/1.1 and HTTP/1.0, not HTTP/{version}"


_TOKEN_RE = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def transfer_coding_status(values: Sequence[str]) -> int:
    """The status for a request whose ``Transfer-Encoding`` is not a plain ``chunked``.

    ``values`` are the field values as received. RFC 9112 §6.1 and §6.3:

    * ``chunked`` not the final coding (``gzip``; ``chunked, gzip``), applied
      more than once (``chunked, chunked``), with parameters, or an element
      that is not a token → **400**: the body's length cannot be known, the request is
      malformed.
    * otherwise the request is well-formed but uses a coding nbws does not
      decode (``gzip, chunked``) → **501** Not Implemented.
    """
    elements = [part.strip().lower() for value in values for part in value.split(",")]
    elements = [e for e in elements if e]
    names = [e.split(";", 1)[0].strip() for e in elements]
    if not names or any(not _TOKEN_RE.fullmatch(n) for n in names):
        return 400
    if elements[-1] != "chunked" or names.count("chunked") != 1:  # chunked takes no parameters
        return 400
    return 501


_UPGRADE_REQUIRED = (("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13"))


def websocket_handshake_problem(http_version: str, headers: Headers) -> Rejection | None:
    """Why a WebSocket opening handshake (a GET with ``Upgrade: websocket``) is refused, or None.

    Checked (RFC 6455 §4.2.1): HTTP/1.1; no request body; ``Connection``
    containing ``upgrade``; ``Upgrade`` exactly ``websocket``; one
    ``Sec-WebSocket-Key`` of 16 base64 bytes; ``Sec-WebSocket-Version: 13``
    (else **426** with ``Sec-WebSocket-Version: 13``); well-formed
    ``Sec-WebSocket-Extensions`` and ``Sec-WebSocket-Protocol``. Anything
    else is a **400** whose text says what was wrong.
    """
    prefix = "Bad Request: not a valid WebSocket handshake: "
    if http_version != "1.1":
        return Rejection(400, prefix + f"it must be HTTP/1.1, not HTTP/{http_version}")
    if "transfer-encoding" in headers or any(v.strip() != "0" for v in headers.get_all("content-length")):
        return Rejection(400, prefix + "the request must not have a body")
    try:
        connection = [o.lower() for v in headers.get_all("connection") for o in parse_connection(v)]
        upgrade = [p.lower() for v in headers.get_all("upgrade") for p in parse_upgrade(v)]
    except InvalidHandshake as exc:
        return Rejection(426, prefix + f"{exc}", _UPGRADE_REQUIRED)
    if "upgrade" not in connection:
        return Rejection(426, prefix + "the Connection header must include 'upgrade'", _UPGRADE_REQUIRED)
    if upgrade != ["websocket"]:
        return Rejection(426, prefix + "the Upgrade header must be exactly 'websocket'", _UPGRADE_REQUIRED)
    versions = headers.get_all("sec-websocket-version")
    if [v.strip() for v in versions] != ["13"]:
        return Rejection(426, "Upgrade Required: this server speaks WebSocket version 13 (RFC 6455); "
                         f"the request asked for {', '.join(versions) or 'no version'}", _UPGRADE_REQUIRED)
    keys = headers.get_all("sec-websocket-key")
    if len(keys) != 1:
        return Rejection(400, prefix + "it needs exactly one Sec-WebSocket-Key header")
    try:
        raw_key = base64.b64decode(keys[0].strip().encode("latin-1"), validate=True)
    except (binascii.Error, ValueError):
        raw_key = b""
    if len(raw_key) != 16:
        return Rejection(400, prefix + "Sec-WebSocket-Key must be 16 bytes in base64")
    try:
        for value in headers.get_all("sec-websocket-extensions"):
            parse_extension(value)
        for value in headers.get_all("sec-websocket-protocol"):
            parse_subprotocol(value)
    except InvalidHandshake as exc:
        return Rejection(400, prefix + f"{exc}")
    return None
