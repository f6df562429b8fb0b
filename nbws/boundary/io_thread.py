"""The I/O thread ("nbws-io"): one per process, a daemon with its own loop.

:func:`submit` (a job), :meth:`IOThread.run` (a coroutine, waiting for its
result) and :meth:`IOThread.call` (a function, waiting for its result) are the
ways in; they are thread-safe. Everything else here runs on the I/O thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import selectors
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from ..errors import HandlerLoopError
from .debug import on_io_thread, register_io_thread
from .queue import Job, WakeQueue

__all__ = ["IOThread", "io_thread", "submit", "IO_POLL_WINDOW", "WakefulSelector"]

log = logging.getLogger("nbws")
T = TypeVar("T")


def _io_poll_window() -> float:
    """``NBWS_IO_POLL_US`` (microseconds, 0 turns polling off), default 100 µs."""
    try:
        return max(0.0, min(float(os.environ.get("NBWS_IO_POLL_US", "100")), 1000.0)) / 1e6
    except ValueError:
        return 100e-6


IO_POLL_WINDOW = _io_poll_window()
"""How long the I/O thread polls its sockets after handing a message to a
handler plane before it blocks in its selector again (seconds;
``NBWS_IO_POLL_US`` sets it in microseconds, 0 turns it off)."""
_yield: Callable[[], None] = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))


class WakefulSelector(selectors.DefaultSelector):
    """The I/O loop's selector: until ``poll_until`` it polls (``select(0)``,
    yielding the CPU between looks) instead of blocking, so a peer's next
    request finds the thread awake and nothing has to wake it (a wake-up
    from another CPU costs tens of µs on a VM). Runs on the I/O thread."""

    poll_until = 0.0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        clock = time.perf_counter
        now = clock()
        if now >= self.poll_until or (timeout is not None and timeout <= 0):
            return super().select(timeout)
        deadline = None if timeout is None else now + timeout
        while now < self.poll_until and (deadline is None or now < deadline):
            ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
            if ready:
                return ready
            _yield()
            now = clock()
        return super().select(None if deadline is None else max(0.0, deadline - now))


class IOThread:
    """The I/O thread: started on first use, a daemon.

    :meth:`post`, :meth:`run` and :meth:`call` are thread-safe; everything
    else runs on the I/O thread.
    """

    def __init__(self) -> None:
        ready = threading.Event()
        self.selector = WakefulSelector()
        self.loop: asyncio.AbstractEventLoop = asyncio.SelectorEventLoop(self.selector)
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
    def stay_awake(self) -> None:
        """Poll the sockets for :data:`IO_POLL_WINDOW` before blocking again:
        called when a message was handed to a handler plane, whose reply will
        bring the peer's next request soon. Runs on the I/O thread."""
        self.selector.poll_until = time.perf_counter() + IO_POLL_WINDOW

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
