"""The I/O thread ("nbws-io"): one per process, a daemon with its own loop.

:func:`submit` (a job), :meth:`IOThread.run` (a coroutine, waiting for its
result) and :meth:`IOThread.call` (a function, waiting for its result) are the
ways in; they are thread-safe. Everything else here runs on the I/O thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..errors import HandlerLoopError
from .debug import on_io_thread, register_io_thread
from .queue import Job, WakeQueue

__all__ = ["IOThread", "io_thread", "submit"]

log = logging.getLogger("nbws")
T = TypeVar("T")


class IOThread:
    """The I/O thread: started on first use, a daemon.

    :meth:`post`, :meth:`run` and :meth:`call` are thread-safe; everything
    else runs on the I/O thread.
    """

    def __init__(self) -> None:
        ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop()
        self.queue = WakeQueue(
            self.loop, lambda exc: log.error("nbws I/O job failed", exc_info=exc), self._flush_dirty
        )
        self.dirty: list[Callable[[], None]] = []  # flushes to run after the current batch
        self.thread = threading.Thread(target=self._main, args=(ready,), name="nbws-io", daemon=True)
        self.thread.start()
        ready.wait()
        self.ident = self.thread.ident
        """The thread's identifier (``threading.get_ident()`` on it)."""

    def _main(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        register_io_thread(threading.get_ident())
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def post(self, job: Job) -> None:
        """Run ``job()`` on the I/O thread soon, in posting order. Thread-safe."""
        self.queue.post(job)

    @on_io_thread
    def flush_after_batch(self, flush: Callable[[], None]) -> None:
        """Run ``flush()`` once the jobs of the current batch have run, so
        several messages to one peer leave in one write. Runs on the I/O thread."""
        self.dirty.append(flush)

    def _flush_dirty(self) -> None:
        dirty, self.dirty = self.dirty, []
        for flush in dirty:
            flush()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run a coroutine on the I/O thread and wait for its result.

        Thread-safe; must not be called from the I/O thread itself."""
        if threading.current_thread() is self.thread:
            coro.close()
            raise HandlerLoopError("IOThread.run() called on the I/O thread; it would deadlock")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def call(self, fn: Callable[[], T], timeout: float | None = 30.0) -> T:
        """Run ``fn()`` on the I/O thread and wait for its result. Thread-safe;
        must not be called from the I/O thread itself."""

        async def wrapper() -> T:
            return fn()

        return self.run(wrapper(), timeout)

    def in_thread(self) -> bool:
        """True when called on the I/O thread."""
        return threading.get_ident() == self.ident


_io_lock = threading.Lock()
_io: IOThread | None = None


def io_thread() -> IOThread:
    """The process's I/O thread, started on first use. Thread-safe."""
    global _io
    with _io_lock:
        if _io is None or not _io.thread.is_alive():
            _io = IOThread()
        return _io


def submit(job: Job) -> None:
    """Run ``job()`` on the I/O thread soon, in submission order. Thread-safe:
    the one way other threads hand work to the I/O plane."""
    io_thread().post(job)
