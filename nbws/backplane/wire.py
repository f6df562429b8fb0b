"""Backplane messages on the wire: the envelope every node publishes, and
the numbering that lets a receiver skip duplicates and count what it missed.

Pure (any thread). A broker is outside input: :func:`decode` returns None
for anything that is not an envelope this version wrote, never raises.

Format (bytes)::

    b"NBBP1" | header JSON (one line) | b"\\n" | payload

    header = [origin, seq, kind, name, text]          published to every node
    header = [origin, seq, kind, name, text, 1]       sent to one node (``send_to``)
      origin  the sending node's id (a random token per server)
      seq     the sender's message number, 1, 2, 3 ...: one numbering for what
              it publishes, and one per destination for what it sends to one
              node, so a node counts as missed only what was meant for it
      kind    what the payload is for: "b" broadcast, "e" emit (a topic
              envelope), "c" a channel's value, "p" a plot's frame, or a
              kind a later component adds (E: "w" to one remote socket ...)
      name    the channel's or plot's name ("" for b and e)
      text    1 when the payload is UTF-8 text (a WebSocket text message), 0 bytes
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass

__all__ = ["Envelope", "MAGIC", "Numbering", "decode", "encode"]

MAGIC = b"NBBP1"
"""The first bytes of every envelope (format version 1)."""
MAX_HEADER = 512
"""Longest header line in bytes; an entry with a longer one is not an envelope."""
_TOKEN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
_NAME = re.compile(r"[A-Za-z0-9_.:/-]{0,200}")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One backplane message, decoded."""

    origin: str
    seq: int
    kind: str
    name: str
    data: str | bytes
    direct: bool = False
    """Sent to this node alone (``send_to``): numbered apart from what the origin publishes."""


def encode(origin: str, seq: int, kind: str, name: str, data: str | bytes, direct: bool = False) -> bytes:
    """The bytes of one envelope (``direct``: for one node, numbered per destination). Pure."""
    text = isinstance(data, str)
    fields: list[object] = [origin, seq, kind, name, 1 if text else 0] + ([1] if direct else [])
    header = json.dumps(fields, separators=(",", ":")).encode()
    body = data.encode("utf-8") if isinstance(data, str) else data
    return b"".join((MAGIC, header, b"\n", body))


def decode(raw: object) -> Envelope | None:
    """The envelope in ``raw`` (bytes from the broker), or None when it is not
    one: wrong magic, no header line, a header that is not this format's, a
    text payload that is not UTF-8. Never raises. Pure."""
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        return None
    raw = bytes(raw)
    if not raw.startswith(MAGIC):
        return None
    end = raw.find(b"\n", len(MAGIC), len(MAGIC) + MAX_HEADER + 1)
    if end < 0:
        return None
    try:
        header = json.loads(raw[len(MAGIC):end])
    except (ValueError, RecursionError):
        return None
    if not isinstance(header, list) or len(header) not in (5, 6):
        return None
    direct = len(header) == 6
    if direct and not (type(header[5]) is int and header[5] == 1):
        return None
    origin, seq, kind, name, text = header[:5]
    if not (isinstance(origin, str) and _TOKEN.fullmatch(origin) and isinstance(kind, str)
            and _TOKEN.fullmatch(kind) and isinstance(name, str) and _NAME.fullmatch(name)
            and type(seq) is int and 0 < seq < 2**63 and type(text) is int and text in (0, 1)):
        return None
    body = raw[end + 1:]
    if not text:
        return Envelope(origin, seq, kind, name, body, direct)
    try:
        return Envelope(origin, seq, kind, name, body.decode("utf-8"), direct)
    except UnicodeDecodeError:
        return None


class Numbering:
    """What a receiver has seen of each sender's numberings (what it published,
    and what it sent to this node alone: two sequences): a message numbered
    at or below the last one seen in its sequence is a duplicate (a batch the
    publisher sent again after a failed write); a jump is a gap, counted in
    :attr:`missed`. Remembers at most ``max_origins`` sequences (the least
    recently heard is forgotten). Single-threaded (the I/O thread)."""

    def __init__(self, max_origins: int = 4096) -> None:
        self.max_origins = max_origins
        self._last: OrderedDict[str, int] = OrderedDict()
        self.missed = 0
        """Messages other nodes numbered that never arrived here."""
        self.duplicates = 0
        """Messages that arrived twice (the second was skipped)."""

    def accept(self, origin: str, seq: int, direct: bool = False) -> bool:
        """True when the message numbered ``seq`` from ``origin`` (``direct``: sent to this node
        alone) is new."""
        origin = origin + ">" if direct else origin  # ">" is not in a node id: its own sequence
        last = self._last.get(origin)
        if last is not None:
            if seq <= last:
                self.duplicates += 1
                return False
            self.missed += seq - last - 1
            self._last.move_to_end(origin)
        elif len(self._last) >= self.max_origins:
            self._last.popitem(last=False)
        self._last[origin] = seq
        return True
