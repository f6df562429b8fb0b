"""Frames → messages: fragment assembly and the UTF-8 rule. Pure (no I/O).

Feed it the data frames of one connection in order (``TEXT``, ``BINARY``,
``CONT``, as the ``websockets`` protocol layer parses them); it returns each
complete message (``str`` for text, ``bytes`` for binary). Text is validated
incrementally, so invalid UTF-8 is found in the first fragment that holds it
(RFC 6455 §8.1: close with 1007 at once). Control frames are not its business.

The protocol layer already bounds message and frame sizes
(``max_message_size``, 1009); ``max_size`` here is the same bound, kept so the
assembler is safe on its own.
"""

from __future__ import annotations

import codecs
from typing import Union

from websockets.frames import Frame, Opcode

__all__ = ["Assembler", "InvalidText", "MessageTooBig"]

Message = Union[str, bytes]
_utf8_decoder = codecs.getincrementaldecoder("utf-8")


class InvalidText(ValueError):
    """A text message is not valid UTF-8 (close with 1007).

    Attributes:
        position: the offset of the first bad byte in the frame that held it.
    """

    def __init__(self, position: int) -> None:
        self.position = position
        super().__init__(f"invalid UTF-8 in a text message at byte {position}")


class MessageTooBig(ValueError):
    """A message grew past ``max_size`` bytes (close with 1009).

    Attributes:
        size: bytes received so far; max_size: the bound.
    """

    def __init__(self, size: int, max_size: int) -> None:
        self.size = size
        self.max_size = max_size
        super().__init__(f"message over {max_size} bytes ({size} so far)")


class Assembler:
    """Assemble the data frames of one connection into messages.

    Not thread-safe: one connection's frames, in order, on one thread (the
    I/O thread). After an error the partial message is dropped and the
    assembler is ready for a new one."""

    def __init__(self, max_size: int | None = None) -> None:
        self.max_size = max_size
        self._parts: list[str] | list[bytes] = []
        self._decoder: codecs.IncrementalDecoder | None = None
        self._size = 0
        self._text = False

    @property
    def assembling(self) -> bool:
        """True between the first and the last frame of a fragmented message."""
        return bool(self._parts)

    def feed(self, frame: Frame) -> Message | None:
        """Take one data frame; the message it completes, else None.

        Raises :class:`InvalidText` (1007) or :class:`MessageTooBig` (1009);
        ``ValueError`` for a continuation with nothing to continue or a new
        message inside a fragmented one (the protocol layer rejects both
        first)."""
        opcode = frame.opcode
        data = frame.data
        if opcode is Opcode.CONT:
            if not self._parts:
                raise ValueError("a continuation frame without a message to continue")
        elif self._parts:
            raise ValueError("a new message started inside a fragmented one")
        elif opcode is Opcode.TEXT:
            if frame.fin:
                self._check(len(data))
                try:
                    return bytes(data).decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise InvalidText(exc.start) from None
            self._text = True
            self._decoder = _utf8_decoder()
            self._size = 0
        elif opcode is Opcode.BINARY:
            if frame.fin:
                self._check(len(data))
                return bytes(data)
            self._text = False
            self._decoder = None
            self._size = 0
        else:
            raise ValueError(f"not a data frame: {opcode.name}")
        self._size += len(data)
        try:
            self._check(self._size)
            if self._decoder is not None:
                self._parts.append(self._decoder.decode(data, frame.fin))  # type: ignore[arg-type]
            else:
                self._parts.append(bytes(data))  # type: ignore[arg-type]
        except UnicodeDecodeError as exc:
            self.reset()
            raise InvalidText(exc.start) from None
        except MessageTooBig:
            self.reset()
            raise
        if not frame.fin:
            return None
        parts, text = self._parts, self._text
        self.reset()
        if text:
            return "".join(parts)  # type: ignore[arg-type]
        return b"".join(parts)  # type: ignore[arg-type]

    def reset(self) -> None:
        """Drop a partial message (a Close arrived between fragments)."""
        self._parts = []
        self._decoder = None
        self._size = 0

    def _check(self, size: int) -> None:
        if self.max_size is not None and size > self.max_size:
            raise MessageTooBig(size, self.max_size)
