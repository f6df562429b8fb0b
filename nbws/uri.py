"""URI encoding with the browser's (and httpuv's) semantics:
``encodeURI``, ``encodeURIComponent``, ``decodeURI``, ``decodeURIComponent``."""

from __future__ import annotations

import re
from urllib.parse import quote

__all__ = ["encode_uri", "encode_uri_component", "decode_uri", "decode_uri_component"]

_URI_SAFE = ";,/?:@&=+$-_.!~*'()#"
_COMPONENT_SAFE = "-_.!~*'()"
_RESERVED = frozenset(";,/?:@&=+$#")
_RUN = re.compile(r"(?:%[0-9A-Fa-f]{2})+")


def encode_uri(value: str) -> str:
    """Percent-encode ``value`` as a whole URI: reserved characters such as
    ``/ ? : @ & = + $ , ; #`` are kept (JavaScript's ``encodeURI``)."""
    return quote(value, safe=_URI_SAFE, encoding="utf-8", errors="strict")


def encode_uri_component(value: str) -> str:
    """Percent-encode ``value`` for use inside one URI component: everything
    but ``A-Z a-z 0-9 - _ . ! ~ * ' ( )`` is encoded (``encodeURIComponent``)."""
    return quote(value, safe=_COMPONENT_SAFE, encoding="utf-8", errors="strict")


def _decode(value: str, keep_reserved: bool) -> str:
    def replace(match: re.Match[str]) -> str:
        tokens = [match.group(0)[i:i + 3] for i in range(0, len(match.group(0)), 3)]
        out: list[str] = []
        pending = bytearray()

        def flush() -> None:
            if pending:
                try:
                    out.append(pending.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise ValueError(f"malformed percent-encoded UTF-8 in {value!r}") from exc
                pending.clear()

        for token in tokens:
            byte = int(token[1:], 16)
            if keep_reserved and byte < 0x80 and chr(byte) in _RESERVED:
                flush()
                out.append(token)
            else:
                pending.append(byte)
        flush()
        return "".join(out)

    return _RUN.sub(replace, value)


def decode_uri(value: str) -> str:
    """Decode percent-escapes except those of reserved characters
    (``; , / ? : @ & = + $ #`` stay encoded), like JavaScript's ``decodeURI``.
    Raises ``ValueError`` on malformed UTF-8."""
    return _decode(value, keep_reserved=True)


def decode_uri_component(value: str) -> str:
    """Decode every percent-escape (``decodeURIComponent``).
    Raises ``ValueError`` on malformed UTF-8."""
    return _decode(value, keep_reserved=False)
