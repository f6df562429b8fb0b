"""A request head, checked: h11's event → a :class:`~nbws.Request`, or the
4xx to send instead. Pure functions (no I/O); the I/O thread calls them.

The checks, in order: HTTP version, CONNECT (405), request-line length
(414), the target's form, header count and line length (431), Host,
Transfer-Encoding with Content-Length (smuggling), ``allowed_hosts``, and the
server's token (which sets the token cookie when it came in the URL).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import unquote

import h11

from ..backplane.link import UPLINK_PATH
from ..messages import Headers, Request
from ..security import (
    TOKEN_COOKIE,
    Rejection,
    host_allowed,
    host_problem,
    http_version_problem,
    request_token,
    target_problem,
    token_matches,
    transfer_coding_status,
)

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["Head", "has_body", "read_head", "transfer_codings", "unparsable_answer"]

# What a 405 for CONNECT names: nbws is an origin server, never a tunnel.
ALLOW = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


@dataclass(frozen=True)
class Head:
    """A request that passed the checks, and the cookie to set with its answer."""

    request: Request
    set_cookie: list[tuple[bytes, bytes]]


def _no(status: int, text: str, headers: tuple[tuple[str, str], ...] = ()) -> Rejection:
    return Rejection(status, text, headers)


def read_head(event: h11.Request, settings: Settings, scheme: str, bound_host: str,
              remote: tuple[str, int]) -> Head | Rejection:
    """Check a request head; the :class:`Head` to serve, or the Rejection to send."""
    target = event.target.decode("latin-1")
    method = event.method.decode("ascii", "replace").upper()
    version = event.http_version.decode("ascii", "replace")
    bad_version = http_version_problem(version)
    if bad_version is not None:
        return _no(400, f"Bad Request: {bad_version}")
    if method == "CONNECT":
        return _no(405, "Method Not Allowed: nbws is not a proxy; CONNECT is not supported", (("Allow", ALLOW),))
    if len(event.method) + len(event.target) + 11 > settings.max_header_line:
        return _no(414, "URI Too Long: the request line is longer than max_header_line")
    problem = target_problem(target)
    if problem is not None:
        return _no(400, f"Bad Request: {problem}")
    raw_headers = event.headers.raw_items()
    if len(raw_headers) > settings.max_header_count:
        return _no(431, "Request Header Fields Too Large: too many header fields")
    if any(len(n) + len(v) + 2 > settings.max_header_line for n, v in raw_headers):
        return _no(431, "Request Header Fields Too Large: a header line is longer than max_header_line")
    headers = Headers([(n.decode("latin-1"), v.decode("latin-1")) for n, v in raw_headers])
    bad_host = host_problem(headers.get_all("host"))
    if bad_host is not None:
        return _no(400, f"Bad Request: {bad_host}")
    if "transfer-encoding" in headers and "content-length" in headers:
        # RFC 9112 §6.3: a request smuggling pattern; refuse rather than guess
        return _no(400, "Bad Request: both Transfer-Encoding and Content-Length")
    raw_path, _, query = target.partition("?")
    request = Request(
        method=method,
        path=unquote(raw_path, errors="strict") if raw_path != "*" else "*",
        query_string=query,
        headers=headers,
        remote_addr=remote,
        scheme=scheme,
        http_version=version,
        raw_path=target,
    )
    token = settings.token
    host_header = headers.get("host", "") or bound_host
    if not host_allowed(host_header, settings.allowed_hosts, bound_host, bool(token)):
        return _no(403, "Forbidden: this Host is not allowed (add it to allowed_hosts)")
    set_cookie: list[tuple[bytes, bytes]] = []
    if token and request.path != UPLINK_PATH:  # (a kernel's uplink proves the publisher secret instead)
        if not token_matches(request_token(request), token):
            return _no(403, "Forbidden: this server needs its token; open the URL it printed (with ?token=...)")
        if request.query.get("token"):
            set_cookie = [(b"Set-Cookie", f"{TOKEN_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax".encode())]
    return Head(request, set_cookie)


def transfer_codings(head: bytes) -> list[str]:
    """The ``Transfer-Encoding`` field values of a raw request head.

    Used only to choose 400 or 501 for a head h11 refused (h11 raises before
    it builds the request, so the values are read from the bytes nbws kept).
    An empty list when there are none, which makes the caller answer 400.
    Runs on the I/O thread."""
    end = head.find(b"\r\n\r\n")
    lines = (head if end < 0 else head[:end]).split(b"\n")[1:]
    values = []
    for line in lines:
        name, colon, value = line.partition(b":")
        if colon and name.strip().lower() == b"transfer-encoding":
            values.append(value.strip().decode("latin-1"))
    return values


def unparsable_answer(exc: h11.RemoteProtocolError, head: bytes) -> tuple[int, str]:
    """The status and text for a request head h11 refused: 431 when it is
    too large, 400 / 501 for an unsupported Transfer-Encoding (see
    :func:`~nbws.security.transfer_coding_status`), else 400."""
    status = exc.error_status_hint
    if status == 431:
        return 431, "Request Header Fields Too Large: the request head is over max_header_block"
    if status == 501:
        status = transfer_coding_status(transfer_codings(head))
        return status, ("Not Implemented: nbws decodes only the chunked transfer coding" if status == 501 else
                        "Bad Request: Transfer-Encoding must end with a single 'chunked' (RFC 9112 §6.3)")
    return 400, f"Bad Request: {exc}"


def has_body(event: h11.Request) -> bool:
    """Whether a request head announces a body (a non-zero Content-Length, or
    Transfer-Encoding): until that body is in, the connection stays reclaimable."""
    for name, value in event.headers:
        if name == b"transfer-encoding" or (name == b"content-length" and value.strip(b"0")):
            return True
    return False
