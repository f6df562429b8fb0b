"""Plane assertions: ``@on_io_thread`` and ``@on_handler_plane``.

With ``NBWS_DEBUG_THREADS=1`` in the environment when nbws is imported, every
function marked with one of these decorators checks the calling thread and
raises :class:`~nbws.errors.WrongThreadError` on the wrong one (httpuv's C++
asserts its thread the same way). Without it the decorators return the
function unchanged: no cost at all. The test suite turns it on.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ..errors import WrongThreadError

__all__ = ["DEBUG_THREADS", "on_io_thread", "on_handler_plane", "register_io_thread", "register_plane_thread"]

F = TypeVar("F", bound=Callable[..., Any])

DEBUG_THREADS = os.environ.get("NBWS_DEBUG_THREADS", "") not in ("", "0")
"""True when the plane assertions are active (read once, at import)."""

_io_ident: set[int] = set()  # idents of I/O threads (one per process, or a restarted one)
_plane_idents: set[int] = set()  # idents of threads that own a handler plane


def register_io_thread(ident: int) -> None:
    """Record the I/O thread. Runs on the I/O thread as it starts."""
    _io_ident.add(ident)


def register_plane_thread(ident: int) -> None:
    """Record a thread that owns a handler plane. Runs on that thread."""
    _plane_idents.add(ident)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", repr(fn))


def on_io_thread(fn: F) -> F:
    """Mark ``fn`` as running on the I/O thread only (checked in debug mode)."""
    if not DEBUG_THREADS:
        return fn

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() not in _io_ident:
            raise WrongThreadError(_name(fn), "the I/O thread", threading.current_thread().name)
        return fn(*args, **kwargs)

    return checked  # type: ignore[return-value]


def on_handler_plane(fn: F) -> F:
    """Mark ``fn`` as running on a handler plane only: a thread that owns one,
    never the I/O thread (checked in debug mode)."""
    if not DEBUG_THREADS:
        return fn

    @functools.wraps(fn)
    def checked(*args: Any, **kwargs: Any) -> Any:
        ident = threading.get_ident()
        if ident in _io_ident or ident not in _plane_idents:
            raise WrongThreadError(_name(fn), "a handler plane", threading.current_thread().name)
        return fn(*args, **kwargs)

    return checked  # type: ignore[return-value]
