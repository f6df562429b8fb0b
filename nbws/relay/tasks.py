"""Loops of a relay's and a kernel's side that must not die: :func:`keep`
runs one again after an unexpected error. Runs on the I/O thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

__all__ = ["keep", "Backoff"]

log = logging.getLogger("nbws")


async def keep(what: str, run: Callable[[], Awaitable[None]], stopping: Callable[[], bool]) -> None:
    """Run ``run()``, and again a second after it ends with an unexpected error
    (logged with its traceback), until ``stopping()``: a relay's outbox, a
    kernel's queue consumer and emit writer. Cancelling stops it. I/O thread."""
    while not stopping():
        try:
            await run()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("nbws: %s failed; starting it again in 1 s", what)
            await asyncio.sleep(1.0)


class Backoff:
    """Retrying a broker call: waits 50 ms doubling to 2 s (with jitter), and
    logs one warning per streak of failures (not one per retry). I/O thread."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.delay = 0.05
        self.failing = False

    async def failed(self, exc: BaseException) -> None:
        """One failure: log it if it starts a streak, then wait."""
        import random

        if not self.failing:
            self.failing = True
            log.warning("nbws: %s failed (%s); retrying", self.what, exc)
        await asyncio.sleep(self.delay * random.uniform(0.8, 1.2))
        self.delay = min(2.0, self.delay * 2)

    def ok(self) -> None:
        """A success: the next failure starts a new streak."""
        if self.failing:
            log.info("nbws: %s works again", self.what)
        self.failing = False
        self.delay = 0.05
