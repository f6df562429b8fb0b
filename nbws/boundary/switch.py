"""The GIL's switch interval while servers run (``Server.switch_interval``).

A thread that wants the GIL while another runs Python waits up to CPython's
switch interval (``sys.getswitchinterval()``, 5 ms by default) before it asks
the holder to let go. The I/O thread takes the GIL back after every select
and every blocking call, so while a cell spins in Python (a training loop
that pushes to a live plot) each of its wake-ups can cost those 5 ms.
Servers hold a shorter interval while they run: the shortest any running
server asks for applies, and when the last one stops the interval it found is
put back (unless someone changed it meanwhile: then theirs stays).
Thread-safe: servers start and stop on any handler thread.
"""

from __future__ import annotations

import sys
import threading

__all__ = ["hold_switch_interval", "release_switch_interval"]

_lock = threading.Lock()  # guards the three names below (any thread that starts or stops a server)
_held: dict[int, float] = {}  # id(owner) -> the interval it asks for (seconds)
_found: float | None = None  # the interval before the first hold
_set: float | None = None  # the interval applied last


def hold_switch_interval(owner: object, seconds: float | None) -> None:
    """While ``owner`` holds it (until :func:`release_switch_interval`), the
    switch interval is at most ``seconds``; None asks for nothing. Thread-safe."""
    global _found
    if seconds is None:
        return
    with _lock:
        if not _held:
            _found = sys.getswitchinterval()
        _held[id(owner)] = seconds
        _apply_locked()


def release_switch_interval(owner: object) -> None:
    """``owner`` no longer holds an interval; the last release restores the
    one found at the first hold. Releasing twice does nothing. Thread-safe."""
    global _found, _set
    with _lock:
        if _held.pop(id(owner), None) is None:
            return
        if _held:
            _apply_locked()
            return
        if _found is not None and _set is not None and sys.getswitchinterval() == _set:
            sys.setswitchinterval(_found)  # not changed by anyone else since: put it back
        _found = _set = None


def _apply_locked() -> None:
    global _set
    assert _found is not None
    wanted = min(min(_held.values()), _found)  # never longer than what was there
    current = sys.getswitchinterval()
    if _set is not None and current != _set:
        return  # changed by someone else while held: leave theirs
    if current != wanted:
        sys.setswitchinterval(wanted)
    _set = sys.getswitchinterval()
