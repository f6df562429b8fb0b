"""The uplink's wire: a kernel dialing out to ``nbws relay`` over one WebSocket.

Pure (any thread). ``backplane="nbws+ws://relay-host:8000/"`` (or
``nbws+wss://``) makes a kernel's backplane one WebSocket it opens to the
relay's :data:`UPLINK_PATH`; the relay holds the app's logs, queues and
values in memory (as :class:`~nbws.backplane.memory.MemoryBackplane` does in
one process) and fans out to its pages.

**Authentication** (the publisher secret, ``relay_secret``; it never crosses
the wire): the relay's first message is a challenge (a fresh nonce); the
kernel answers with its node id, its own nonce and
``HMAC-SHA256(secret, "nbws-uplink/1 kernel|app|node|relay nonce")``; the
relay checks it in constant time and answers with ``HMAC(secret, "nbws-uplink/1
relay|app|kernel nonce")`` (so the kernel knows it reached a relay that has
the secret too) and the last link number it has from this node. Refusals
close with a 44xx code and a reason (:data:`REFUSED`, :data:`THROTTLED`,
:data:`REPLACED`).

**Frames** after that are binary messages, one letter then a body:

* kernel -> relay: ``P`` number ``\\n`` envelope (publish), ``S`` number
  ``\\n`` node ``\\n`` envelope (send_to), ``C`` call (a log / queue / value
  operation, answered by ``R``). The number is the link's (1, 2, 3 ... over
  every ``P`` and ``S`` of a kernel node; :mod:`.outbox`), apart from the
  envelope's own numbering (:mod:`.wire`);
* relay -> kernel: ``M`` envelope (a message for the kernel's node), ``A``
  number (the relay has every ``P``/``S`` up to this link number: the kernel
  may forget them), ``R`` result.

A call or result is ``[header, sizes]`` JSON, ``\\n``, then the blobs (the
byte strings of the call or the result) back to back. Decoders return None
for anything malformed, never raise.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "UPLINK_PATH", "SCHEMES", "REFUSED", "THROTTLED", "REPLACED", "uplink_url", "is_uplink",
    "new_nonce", "kernel_proof", "relay_proof", "proof_matches", "pack", "unpack", "PUBLISH", "SEND_TO", "CALL",
    "MESSAGE", "ACK", "RESULT", "numbered",
]

UPLINK_PATH = "/_nbws/uplink"
"""Where a relay accepts its kernel's uplink (authenticated by the publisher secret, not the page token)."""
SCHEMES = ("nbws+ws", "nbws+wss")
REFUSED = 4403
"""Close code: no secret on the relay, a wrong proof, another app, or no answer to the challenge in time."""
THROTTLED = 4429
"""Close code: too many failed attempts from this address; try again later."""
REPLACED = 4409
"""Close code: a newer uplink of the app took over (the kernel stops dialing)."""
PUBLISH, SEND_TO, CALL = b"P", b"S", b"C"
MESSAGE, ACK, RESULT = b"M", b"A", b"R"
_VERSION = "nbws-uplink/1"


def is_uplink(url: str) -> bool:
    """Whether ``url`` asks for an uplink (``nbws+ws://`` or ``nbws+wss://``). Pure."""
    return url.split("://", 1)[0] in SCHEMES and "://" in url


def uplink_url(url: str) -> str:
    """The WebSocket URL a kernel dials for ``backplane=url``: ``nbws+ws://host:port/prefix/`` ->
    ``ws://host:port/prefix/_nbws/uplink`` (the relay's base URL; a query or a password is refused:
    the secret is ``relay_secret``, never in the URL). ValueError for anything else. Pure."""
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError(f"not an uplink URL: {url!r} (nbws+ws://relay-host:port/ or nbws+wss://...)")
    if parts.password is not None or parts.username is not None or parts.query or parts.fragment:
        raise ValueError("an uplink URL carries no credentials, query or fragment: give the secret as relay_secret=")
    path = parts.path.rstrip("/") + UPLINK_PATH
    return urlunsplit((parts.scheme[len("nbws+"):], parts.netloc, path, "", ""))


def new_nonce() -> str:
    """A fresh challenge. Pure (reads the system's randomness)."""
    return secrets.token_urlsafe(24)


def _mac(secret: str, text: str) -> str:
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def kernel_proof(secret: str, app: str, node: str, relay_nonce: str) -> str:
    """What a kernel answers to the relay's challenge. Pure."""
    return _mac(secret, f"{_VERSION} kernel|{app}|{node}|{relay_nonce}")


def relay_proof(secret: str, app: str, kernel_nonce: str) -> str:
    """What a relay answers to the kernel's nonce. Pure."""
    return _mac(secret, f"{_VERSION} relay|{app}|{kernel_nonce}")


def proof_matches(given: object, expected: str) -> bool:
    """Constant-time comparison of a proof from the peer. Pure."""
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())


def pack(tag: bytes, header: Any, blobs: tuple[bytes, ...] | list[bytes] = ()) -> bytes:
    """One call or result frame. Pure."""
    head = json.dumps([header, [len(b) for b in blobs]], separators=(",", ":")).encode()
    return b"".join((tag, head, b"\n", *blobs))


def unpack(frame: bytes) -> tuple[Any, list[bytes]] | None:
    """``(header, blobs)`` of a call or result frame (its tag already read), or None. Pure, never raises."""
    end = frame.find(b"\n", 1, 64 * 1024)
    if end < 0:
        return None
    try:
        header, sizes = json.loads(frame[1:end])
        if not isinstance(sizes, list) or not all(type(s) is int and s >= 0 for s in sizes):
            return None
    except (ValueError, TypeError, RecursionError):
        return None
    blobs, at = [], end + 1
    for size in sizes:
        blobs.append(frame[at:at + size])
        at += size
    if at != len(frame):
        return None
    return header, blobs


def numbered(frame: bytes) -> tuple[int, str | None, bytes] | None:
    """``(link number, node, envelope)`` of a ``P`` frame (node None) or an ``S`` frame (the node it is
    for), tag included; None when it is neither. The envelope is not checked (its receivers decode
    it). Pure, never raises."""
    tag, end = frame[:1], frame.find(b"\n", 1, 22)
    if tag not in (PUBLISH, SEND_TO) or end < 0 or not frame[1:end].isdigit() or int(frame[1:end]) == 0:
        return None
    number, rest = int(frame[1:end]), frame[end + 1:]
    if tag == PUBLISH:
        return number, None, rest
    node, found, raw = rest.partition(b"\n")
    if not found or not 0 < len(node) <= 64:
        return None
    return number, node.decode("ascii", "replace"), raw
