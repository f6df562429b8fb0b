"""The uplink's outbox: what a kernel publishes or sends over its uplink,
numbered by the link and kept until the relay acknowledges it.

The link's numbers (1, 2, 3 ... per kernel node, every ``P`` and ``S`` frame)
are apart from the envelopes' own numbering (:mod:`.wire`: one for what the
kernel publishes, one per destination for what it sends to one node): the
relay acknowledges by link number and says the last one it has when the
kernel dials again, so the kernel writes again exactly what follows it.

Bounded like the other backplanes' buffers: at most ``max_messages`` frames
and ``max_bytes`` bytes (the newest frame is always kept); past either the
oldest are dropped. Pure (the uplink's I/O thread owns it).
"""

from __future__ import annotations

from collections import deque

__all__ = ["Outbox"]


class Outbox:
    """Numbered frames for the relay: not written yet, and written but not acknowledged."""

    def __init__(self, max_messages: int, max_bytes: int) -> None:
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.number = 0
        """The link number of the newest frame."""
        self.bytes = 0
        self._out: deque[tuple[int, bytes]] = deque()  # (number, frame) not written yet
        self._sent: deque[tuple[int, bytes]] = deque()  # written, not acknowledged

    def __len__(self) -> int:
        return len(self._out) + len(self._sent)

    @property
    def waiting(self) -> int:
        """Frames not written yet."""
        return len(self._out)

    def add(self, tag: bytes, body: bytes) -> int:
        """Number ``tag`` + ``body`` (the frame is ``tag``, the number, ``\\n``, ``body``) and keep it;
        how many of the oldest were dropped to stay within the bounds."""
        self.number += 1
        frame = b"%s%d\n%s" % (tag, self.number, body)
        self._out.append((self.number, frame))
        self.bytes += len(frame)
        dropped = 0
        while len(self) > self.max_messages or (self.bytes > self.max_bytes and len(self) > 1):
            self.bytes -= len((self._sent or self._out).popleft()[1])
            dropped += 1
        return dropped

    def take(self) -> bytes | None:
        """The next frame to write (kept until acknowledged), or None."""
        if not self._out:
            return None
        item = self._out.popleft()
        self._sent.append(item)
        return item[1]

    def acknowledged(self, upto: int) -> None:
        """The relay has every frame up to the number ``upto``: forget them (written or not)."""
        for frames in (self._sent, self._out):
            while frames and frames[0][0] <= upto:
                self.bytes -= len(frames.popleft()[1])

    def rewind(self) -> None:
        """The same relay, on a new socket: write again what it had not acknowledged."""
        self._out.extendleft(reversed(self._sent))
        self._sent.clear()

    def forget_written(self) -> int:
        """A new relay (the old one died): forget what the old one took unacknowledged (it may have
        reached its pages); how many."""
        count = len(self._sent)
        self.bytes -= sum(len(frame) for _, frame in self._sent)
        self._sent.clear()
        return count
