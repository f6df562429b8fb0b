"""What kernels and relays say to each other over the backplane. Pure (any thread).

**Browser -> kernel** goes through one consumer-group queue per app
(:data:`INBOX`): each entry is an :class:`Inbound` record — a socket opened
on a relay, one of its messages, or its close — encoded as one JSON header
line and the message's bytes. ``key`` and ``n`` make the idempotency key: a
resumable page's session and epoch with the page's own sequence number (so
the same message sent again through another relay is recognised), or the
relay's node and connection with the relay's count for other sockets.

**Kernel -> relay** uses the fan-out kinds below, sent to one relay with
``send_to`` (the socket's messages and close) or to every node (the
announcement's notice, a relay's heartbeat).

**The announcement** (:class:`Announcement`) is what a relay needs to serve
a kernel's app: in-memory pages, the app's WebSocket route patterns, live
plots (name -> meta) and channels (name -> policy). The kernel stores it as
the backplane value :data:`ANNOUNCE_KEY` (a relay started later reads it) and
publishes :data:`ANNOUNCED` when it changes. With a ``relay_secret`` it
carries an HMAC-SHA256 of its body, which relays that have the secret check.

A broker is outside input: every decoder returns None instead of raising.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ALIVE", "ANNOUNCED", "ANNOUNCE_KEY", "CHANNEL_ASK", "CLOSE", "EMIT_LOG", "EPOCH", "GROUP", "HISTORY", "HISTORY_ASK",
    "INBOX", "MANY", "SEND", "Announcement", "Inbound", "decode_announcement", "decode_inbound", "decode_many",
    "encode_announcement", "encode_inbound", "encode_many", "sequenced_number", "unsequenced",
]

INBOX = "relay-in"
"""The queue of browser -> kernel records."""
GROUP = "kernel"
"""The consumer group of the app's kernel(s) on :data:`INBOX`."""
EMIT_LOG = "emit"
"""The log of ``server.emit`` envelopes (its ids number them for every page)."""
ANNOUNCE_KEY = "relay:announce"
"""The backplane value holding the kernel's announcement."""
SEND, CLOSE = "w", "x"
"""Kernel -> one relay, named by the relay's connection id: a message for the
page's socket; the socket's close (``"<code> <reason>"``)."""
MANY = "W"
"""Kernel -> one relay: one message for several of its sockets (``"id,id,...\\n" + message``, :func:`encode_many`)."""
EPOCH = "E"
"""Kernel -> every node, before the first emit numbered in a new epoch of the emit log
(its first, or after the log was lost): ``"<epoch> <number>"``."""
ALIVE = "r"
"""Relay -> every node, every :data:`ALIVE_EVERY` seconds: this relay serves pages."""
ANNOUNCED = "a"
"""Kernel -> every node: the announcement changed (read :data:`ANNOUNCE_KEY`)."""
HISTORY_ASK, HISTORY = "h", "H"
"""Relay -> kernel: send a plot's meta and history; kernel -> relay: here they are
(``u32 length | meta | history frame``), named by the plot."""
CHANNEL_ASK = "v"
"""Relay -> kernel: send a channel's latest value (``[relay, name]``); the kernel answers
with the channel's kind (``c``) to that relay alone, when the policy is ``latest`` and there is one."""
ALIVE_EVERY = 2.0
"""Seconds between a relay's heartbeats."""
MAX_HEADER = 16 * 1024
_SEQ = re.compile(r'\{"seq":(\d{1,15})[,}]')
_KINDS = ("open", "msg", "close")


def sequenced_number(text: str) -> int | None:
    """The ``"seq"`` an envelope starts with (``{"seq":5,...}``), or None. Pure."""
    m = _SEQ.match(text)
    return int(m.group(1)) if m else None


def unsequenced(text: str) -> str:
    """``text`` without a leading ``"seq"`` member (what a server's own
    sessions number again). Pure."""
    m = _SEQ.match(text)
    if m is None:
        return text
    rest = text[m.end():]
    return "{" + rest if text[m.end() - 1] == "," else "{}"


def encode_many(conns: list[str], data: str | bytes) -> str | bytes:
    """One message for several sockets of a relay (:data:`MANY`): their ids, a newline, the message. Pure."""
    head = ",".join(conns) + "\n"
    return head + data if isinstance(data, str) else head.encode() + data


def decode_many(data: str | bytes) -> tuple[list[str], str | bytes] | None:
    """The socket ids and the message in a :data:`MANY` payload, or None. Pure, never raises."""
    if isinstance(data, str):
        head, newline, body = data.partition("\n")
        return (head.split(","), body) if newline and head else None
    end = data.find(b"\n", 0, 1 << 20)
    if end <= 0:
        return None
    return data[:end].decode("ascii", "replace").split(","), data[end + 1:]


@dataclass(frozen=True, slots=True)
class Inbound:
    """One browser -> kernel record.

    Attributes:
        kind: ``"open"``, ``"msg"`` or ``"close"``.
        relay: the relay's node id (where replies go).
        conn: the socket's id on that relay.
        key, n: the idempotency key and number of a message (``n`` counts
            from 1; a record whose ``n`` is at most the last one handled for
            ``key`` is a repeat).
        path, query: the socket's path and query string (``open``).
        headers: a few request headers (``open``: origin, user-agent ...).
        remote: the page's address as the relay saw it (``open``).
        code, reason: how it closed (``close``).
        data: the message (``msg``).
    """

    kind: str
    relay: str
    conn: str
    key: str = ""
    n: int = 0
    path: str = ""
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    remote: tuple[str, int] = ("", 0)
    code: int = 1000
    reason: str = ""
    data: str | bytes = b""


def encode_inbound(record: Inbound) -> bytes:
    """The bytes of one record. Pure."""
    text = isinstance(record.data, str)
    header = {"t": record.kind, "r": record.relay, "c": record.conn, "k": record.key, "n": record.n,
              "p": record.path, "q": record.query, "h": [list(h) for h in record.headers],
              "a": list(record.remote), "code": record.code, "why": record.reason, "x": 1 if text else 0}
    body = record.data.encode("utf-8") if isinstance(record.data, str) else record.data
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + body


def decode_inbound(raw: bytes) -> Inbound | None:
    """The record in ``raw``, or None when it is not one. Pure, never raises."""
    end = raw.find(b"\n", 0, MAX_HEADER)
    if end < 0:
        return None
    try:
        h = json.loads(raw[:end])
        if not isinstance(h, dict) or h.get("t") not in _KINDS:
            return None
        kind, relay, conn, key, n = h["t"], h["r"], h["c"], h["k"], h["n"]
        path, query, code, reason, text = h["p"], h["q"], h["code"], h["why"], h["x"]
        strings = (relay, conn, key, path, query, reason)
        if not all(isinstance(s, str) for s in strings) or type(n) is not int or type(code) is not int:
            return None
        headers = tuple((str(a), str(b)) for a, b in h["h"])
        host, port = h["a"]
        remote = (str(host), int(port))
        body = raw[end + 1:]
        data: str | bytes = body.decode("utf-8") if text == 1 else body
    except (ValueError, KeyError, TypeError, RecursionError):
        return None
    return Inbound(kind, relay, conn, key, n, path, query, headers, remote, code, reason, data)


@dataclass(frozen=True)
class Announcement:
    """What a kernel tells relays it serves.

    Attributes:
        node: the kernel's node id (history requests go there).
        pages: path -> (content type, body) of the pages served from memory.
        sockets: the app's WebSocket route patterns (regular expressions,
            matched whole), besides ``/_nbws/ws`` which every relay serves.
        plots: live plot name -> its meta message (the page's first message).
        channels: channel name -> policy.
        relayed: paths of sockets the kernel serves on its I/O thread for
            pages on relays (``Routes.add_socket(..., relayed=True)``: the
            classroom's); a relay forwards them like the app's sockets.
    """

    node: str
    pages: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    sockets: tuple[str, ...] = ()
    plots: dict[str, str] = field(default_factory=dict)
    channels: dict[str, str] = field(default_factory=dict)
    relayed: tuple[str, ...] = ()


def _mac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def encode_announcement(a: Announcement, secret: str | None) -> bytes:
    """The stored form: the body (JSON), signed when there is a secret. Pure."""
    body = json.dumps({
        "node": a.node, "sockets": list(a.sockets), "plots": a.plots, "channels": a.channels,
        "relayed": list(a.relayed),
        "pages": {p: [ct, base64.b64encode(b).decode()] for p, (ct, b) in a.pages.items()},
    }, separators=(",", ":")).encode()
    return json.dumps({"mac": _mac(secret, body) if secret else None}).encode() + b"\n" + body


def decode_announcement(raw: bytes, secret: str | None) -> Announcement | None:
    """The announcement in ``raw``; None when it is malformed or, with a
    ``secret``, not signed with it. Pure, never raises."""
    end = raw.find(b"\n")
    if end < 0:
        return None
    body = raw[end + 1:]
    try:
        mac = json.loads(raw[:end]).get("mac")
        if secret and not (isinstance(mac, str) and hmac.compare_digest(mac, _mac(secret, body))):
            return None
        v: Any = json.loads(body)
        pages = {str(p): (str(ct), base64.b64decode(b64, validate=True)) for p, (ct, b64) in v["pages"].items()}
        sockets = tuple(str(s) for s in v["sockets"])
        for pattern in sockets:
            re.compile(pattern)
        plots = {str(k): str(m) for k, m in v["plots"].items()}
        channels = {str(k): str(p) for k, p in v["channels"].items() if p in ("latest", "all")}
        relayed = tuple(str(p) for p in v.get("relayed", ()))
        return Announcement(str(v["node"]), pages, sockets, plots, channels, relayed)
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError, re.error):
        return None
