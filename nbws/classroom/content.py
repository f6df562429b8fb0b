"""What ``room.show(obj)`` sends to the students' pages.

Content comes from the instructor (trusted), and each student's page shows
HTML inside a sandboxed iframe, so a shown page cannot touch the student page
or its identity.
"""

from __future__ import annotations

import base64
import io
import secrets
from typing import Any

__all__ = ["render", "MAX_CONTENT"]

MAX_CONTENT = 8 * 1024 * 1024
"""Largest content ``show`` sends, in bytes once encoded."""


def render(obj: Any) -> dict[str, Any]:
    """``obj`` as ``{"id", "kind": "html" | "image" | "text", ...}``."""
    content = _render(obj)
    content["id"] = secrets.token_hex(6)
    size = sum(len(v) for v in content.values() if isinstance(v, str))
    if size > MAX_CONTENT:
        raise ValueError(f"this content is {size} bytes once encoded; room.show() sends at most {MAX_CONTENT}")
    return content


def _png(data: bytes) -> dict[str, Any]:
    return {"kind": "image", "src": "data:image/png;base64," + base64.b64encode(data).decode()}


def _render(obj: Any) -> dict[str, Any]:
    if isinstance(obj, (bytes, bytearray)):
        if bytes(obj[:8]) == b"\x89PNG\r\n\x1a\n":
            return _png(bytes(obj))
        raise TypeError("room.show() takes PNG bytes; other binary data has no view")
    if isinstance(obj, str):
        return {"kind": "text", "text": obj}
    savefig = getattr(obj, "savefig", None)  # a matplotlib Figure
    if callable(savefig):
        buffer = io.BytesIO()
        savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        return _png(buffer.getvalue())
    bundle = _mimebundle(obj)
    if "image/png" in bundle:
        data = bundle["image/png"]
        return _png(base64.b64decode(data) if isinstance(data, str) else data)
    if "text/html" in bundle:
        return {"kind": "html", "html": str(bundle["text/html"])}
    if "text/markdown" in bundle:
        return {"kind": "text", "text": str(bundle["text/markdown"])}
    return {"kind": "text", "text": str(bundle.get("text/plain", repr(obj)))}


def _mimebundle(obj: Any) -> dict[str, Any]:
    """The representations IPython would display for ``obj``."""
    try:
        from IPython.core.formatters import DisplayFormatter
    except ImportError:
        html = getattr(obj, "_repr_html_", None)
        return {"text/html": html()} if callable(html) else {"text/plain": repr(obj)}
    data, _ = DisplayFormatter().format(obj)  # type: ignore[no-untyped-call]
    return dict(data)
