"""The thread boundary: the I/O thread, the dispatch queue and ``service()``.

This is the only module that moves work between threads.

* The **I/O thread** ("nbws-io") is one daemon thread per process running its
  own selector event loop. Sockets, parsing, pings, limits and writes happen
  there; user code never does.
* A **handler plane** is the event loop of the thread that started a server
  (the kernel's main loop in a notebook). User callbacks are queued to it and
  run one at a time, in order, when it is idle, or inside a busy cell when the
  cell calls :func:`service`.

Both directions use :class:`WakeQueue`: a deque plus one wake-up per batch, so
a burst of messages costs one thread wake-up, not one per message.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .errors import HandlerLoopError

__all__ = ["IOThread", "HandlerPlane", "io_thread", "handler_plane", "service", "interrupt"]

log = logging.getLogger("nbws")
T = TypeVar("T")
Job = Callable[[], object]


class WakeQueue:
    """A thread-safe FIFO of jobs drained on one event loop, one wake per batch.

    Thread-safe: :meth:`post` may be called from any thread. Jobs run on
    ``loop`` (or in :meth:`drain` by whoever owns that loop's thread).
    """

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        on_error: Callable[[BaseException], None],
        after: Callable[[], None] | None = None,
    ):
        self.loop = loop
        self.jobs: deque[Job] = deque()
        self._scheduled = False
        self._on_error = on_error
        self._after = after
        self.posted = threading.Event()
        self.waiters = 0  # threads blocked in wait_for_post()
        self.draining = False  # True while a job runs

    def post(self, job: Job) -> bool:
        """Append a job and wake the loop if no drain is pending. Thread-safe.

        Returns True when this call woke the loop."""
        self.jobs.append(job)
        woke = False
        if not self._scheduled:
            self._scheduled = True
            try:
                self.loop.call_soon_threadsafe(self.drain)
                woke = True
            except RuntimeError:  # loop closed: the jobs stay queued for service()
                self._scheduled = False
        if self.waiters:
            self.posted.set()
            woke = True
        return woke

    def wait_for_post(self, timeout: float) -> None:
        """Block up to ``timeout`` seconds until a job is queued."""
        self.waiters += 1
        try:
            self.posted.clear()
            if not self.jobs:
                self.posted.wait(timeout)
        finally:
            self.waiters -= 1

    def drain(self) -> int:
        """Run every queued job in order; returns how many ran.

        Runs on the loop's thread."""
        self._scheduled = False  # before popping: a later post schedules anew
        jobs = self.jobs
        count = 0
        self.draining = True
        try:
            while jobs:
                try:
                    job = jobs.popleft()
                except IndexError:  # pragma: no cover - another drain emptied it
                    break
                count += 1
                try:
                    job()
                except BaseException as exc:
                    if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                        raise
                    self._on_error(exc)
        finally:
            self.draining = False
        if self._after is not None:
            self._after()
        return count


class IOThread:
    """The I/O thread: one per process, started on first use, a daemon.

    :meth:`post` and :meth:`run` are thread-safe; everything else runs on the
    I/O thread.
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

    def _main(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(ready.set)
        self.loop.run_forever()

    def post(self, job: Job) -> None:
        """Run ``job()`` on the I/O thread soon, in posting order. Thread-safe."""
        self.queue.post(job)

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
            raise HandlerLoopError("IOThread.run() called on the I/O thread; it would deadlock")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise

    def in_thread(self) -> bool:
        """True when called on the I/O thread."""
        return threading.current_thread() is self.thread


_io_lock = threading.Lock()
_io: IOThread | None = None


def io_thread() -> IOThread:
    """The process's I/O thread, started on first use. Thread-safe."""
    global _io
    with _io_lock:
        if _io is None or not _io.thread.is_alive():
            _io = IOThread()
        return _io


class HandlerPlane:
    """Where user callbacks run: the event loop of one thread.

    :meth:`post` is thread-safe (the I/O thread uses it); :meth:`service` runs
    on the owning thread.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
        self.loop = loop
        self.thread = thread
        self.queue = WakeQueue(loop, self._job_failed)
        self.interrupted = threading.Event()
        self._servicing = False

    @staticmethod
    def _job_failed(exc: BaseException) -> None:
        log.error("nbws handler job failed", exc_info=exc)

    def post(self, job: Job) -> None:
        """Queue ``job`` to run on this plane, in order. Thread-safe."""
        self.queue.post(job)

    def post_and_yield(self, job: Job) -> None:
        """Queue ``job``; if that woke the plane, give it the GIL and the CPU
        at once (``sched_yield`` releases the GIL), so the handler runs now
        instead of after the rest of the I/O thread's loop iteration. Used by
        the I/O thread for incoming messages: it halves the round-trip time
        when both threads share a core."""
        if self.queue.post(job) and _sched_yield is not None:
            _sched_yield()

    def start_async(self, result: object) -> asyncio.Future[Any] | None:
        """If ``result`` is awaitable, schedule it on this plane's loop.

        Runs on the handler plane."""
        if inspect.isawaitable(result):
            return asyncio.ensure_future(result, loop=self.loop)
        return None

    def in_handler(self) -> bool:
        """True while a queued handler job runs (or service() runs). Handler thread only."""
        return self._servicing or self.queue.draining

    def wait(
        self,
        ready: Callable[[], bool],
        signal: threading.Event,
        timeout: float | None,
        in_handler_error: str,
        timeout_error: str,
    ) -> None:
        """Block until ``ready()`` (which may raise), at most ``timeout`` seconds.

        On this plane's thread the queued jobs run meanwhile (the event awaited
        is delivered by one of them); inside a handler that could never
        happen, so :class:`HandlerLoopError` is raised instead of hanging. On
        other threads it waits for ``signal``, which deliveries set."""
        on_plane = threading.current_thread() is self.thread
        deadline = None if timeout is None else time.monotonic() + timeout
        while not ready():
            if on_plane and self.in_handler():
                raise HandlerLoopError(in_handler_error)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(timeout_error)
            step = 0.05 if remaining is None else min(0.05, remaining)
            signal.clear()
            if ready():
                return
            if on_plane:
                self.service(step)
            else:
                signal.wait(step)

    def service(self, timeout: float = 0.0) -> int:
        """Run queued handlers now, waiting up to ``timeout`` seconds for some.

        Runs on the handler plane's thread. Returns how many jobs ran."""
        if threading.current_thread() is not self.thread:
            raise HandlerLoopError(
                "nbws.service() must be called on the thread that started the server "
                f"({self.thread.name}), not {threading.current_thread().name}"
            )
        if self.in_handler():
            raise HandlerLoopError(
                "nbws.service() was called from inside a handler; handlers must return "
                "instead of waiting for other handlers"
            )
        self._servicing = True
        try:
            if self.loop.is_closed():
                return self._service_sync(timeout)
            if self.loop.is_running():
                return self._service_sync(timeout)
            return self._service_loop(timeout)
        finally:
            self._servicing = False

    def _service_sync(self, timeout: float) -> int:
        """Drain synchronously: used inside a running loop (a busy cell)."""
        deadline = time.monotonic() + max(0.0, timeout)
        ran = self.queue.drain()
        while ran == 0 and not self.interrupted.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self.queue.wait_for_post(remaining)
            ran += self.queue.drain()
        return ran

    def _service_loop(self, timeout: float) -> int:
        """Run the (idle) loop until a job ran or ``timeout`` passed (scripts)."""
        ran = 0

        async def pump() -> None:
            nonlocal ran
            deadline = self.loop.time() + max(0.0, timeout)
            while True:
                ran += self.queue.drain()
                await asyncio.sleep(0)  # let tasks started by handlers progress
                if ran or self.interrupted.is_set() or self.loop.time() >= deadline:
                    return
                if self.queue.jobs:
                    continue
                wait = min(0.05, deadline - self.loop.time())
                await asyncio.sleep(max(0.0, wait))

        self.loop.run_until_complete(pump())
        return ran


_sched_yield = getattr(os, "sched_yield", None)
_planes: dict[int, HandlerPlane] = {}
_planes_lock = threading.Lock()


def handler_plane(create: bool = True) -> HandlerPlane | None:
    """The handler plane of the calling thread.

    In a notebook this is the kernel's running loop. In a thread with no
    running loop, a loop is made for it (run it with ``run_server()`` or
    ``service()``). Runs on the caller's thread.
    """
    thread = threading.current_thread()
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    with _planes_lock:
        plane = _planes.get(thread.ident or 0)
        if plane is not None and not plane.loop.is_closed():
            if running is None or plane.loop is running:
                return plane
        if not create:
            return None
        if running is not None:
            loop = running
        else:
            try:
                loop = asyncio.get_event_loop_policy().get_event_loop()
            except RuntimeError:
                loop = asyncio.new_event_loop()
            if loop.is_closed():
                loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
        plane = HandlerPlane(loop, thread)
        _planes[thread.ident or 0] = plane
        return plane


def service(timeout: float = 0.0) -> int:
    """Run queued nbws handlers now, waiting up to ``timeout`` seconds for work.

    Call it at safe points inside a long-running cell or a script's own loop
    (httpuv's ``service()``): handlers queued since the last call run here, on
    this thread, in arrival order. Returns the number of handler jobs run.
    Raises :class:`~nbws.HandlerLoopError` from a thread that owns no server.
    """
    plane = handler_plane(create=False)
    if plane is None:
        plane = handler_plane()
        assert plane is not None
    return plane.service(timeout)


def interrupt() -> None:
    """Stop :func:`nbws.run_server` and any waiting :func:`service` call.

    Thread-safe: may be called from a handler or another thread."""
    with _planes_lock:
        planes = list(_planes.values())
    for plane in planes:
        plane.interrupted.set()
        plane.queue.posted.set()
        try:
            plane.loop.call_soon_threadsafe(lambda: None)
        except RuntimeError:
            pass
