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

from .errors import AsyncHandlerBlockedError, HandlerLoopError

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
        # Blocking waits on the loop's thread use one of two wake-ups, both
        # set by whoever makes work available, never polled:
        # * ``posted`` (a threading.Event) while the loop is held by the
        #   caller (wait_for_post, a busy cell): post() sets it when waiters;
        # * ``wakeup`` (a future of this loop) while the loop runs for a
        #   waiter (a script's service()): drain() resolves it, and drain is
        #   what post()'s call_soon_threadsafe runs.
        self.posted = threading.Event()
        self.waiters = 0  # written on the loop's thread only; read by post()
        self.wakeup: asyncio.Future[None] | None = None  # loop's thread only
        self.ran = 0  # jobs run so far; written on the loop's thread only
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

    def wait_for_post(self, timeout: float | None) -> None:
        """Block up to ``timeout`` seconds (None: no bound) until a job is queued.

        Runs on the loop's thread while the loop itself is not running jobs.
        No wake-up is lost: ``posted`` is cleared before ``jobs`` is checked,
        and post() appends before it reads ``waiters``."""
        self.waiters += 1
        try:
            self.posted.clear()
            if not self.jobs:
                self.posted.wait(timeout)
        finally:
            self.waiters -= 1

    def wake(self) -> None:
        """Resolve the loop-side waiter, if any. Runs on the loop's thread."""
        waiter = self.wakeup
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

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
                self.ran += 1
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
        if count:
            self.wake()
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
        self._holding = False  # True while _service_sync runs: the caller holds the running loop
        # coroutines started while the loop was held that could not finish
        # then (they wait for the loop); handler thread only
        self.stalled = 0
        self.last_stalled = ""

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

    def start_async(
        self, result: object, done: Callable[[asyncio.Future[Any]], object] | None = None
    ) -> asyncio.Future[Any] | None:
        """If ``result`` is awaitable, run it as a task on this plane's loop
        and call ``done(task)`` when it finishes; None when not awaitable.

        Runs on the handler plane. Normally the task runs when the loop gets
        to it. While a blocking wait holds the running loop (a busy cell in
        :func:`service`, :func:`nbws.fetch`, a blocking ``receive()``), the loop
        cannot run it: on Python 3.12+ its first step runs at once with
        asyncio's own eager start, so a coroutine that finishes without
        waiting answers now (``done`` is then called before this returns);
        one that must wait is counted in ``stalled`` and finishes after the
        cell, and the blocking waits report it (:class:`AsyncHandlerBlockedError`)."""
        if not inspect.isawaitable(result):
            return None
        if self._holding and self.loop.is_running():
            if _eager_task_factory is not None and inspect.iscoroutine(result):
                task: asyncio.Future[Any] = _eager_task_factory(self.loop, result)
            else:
                task = asyncio.ensure_future(result, loop=self.loop)
            if not task.done():
                self.stalled += 1
                self.last_stalled = _describe_awaitable(result)
        else:
            task = asyncio.ensure_future(result, loop=self.loop)
        if done is not None:
            if task.done():  # its done callbacks would wait for the held loop
                done(task)
            else:
                task.add_done_callback(done)
        return task

    def in_handler(self) -> bool:
        """True while a queued handler job runs (or service() runs). Handler thread only."""
        return self._servicing or self.queue.draining

    def check_stalled(self, since: int, waiting: str) -> None:
        """Raise :class:`AsyncHandlerBlockedError` if a coroutine handler
        stalled since the count was ``since``. Handler thread only."""
        if self.stalled != since:
            raise AsyncHandlerBlockedError(self.last_stalled, waiting)

    def wait(
        self,
        ready: Callable[[], bool],
        signal: threading.Event,
        timeout: float | None,
        in_handler_error: str,
        timeout_error: str,
        waiting: str = "this blocking wait",
    ) -> None:
        """Block until ``ready()`` (which may raise), at most ``timeout`` seconds.

        Runs on any thread. On this plane's thread the queued jobs run
        meanwhile (the event awaited is delivered by one of them), and the
        wait wakes as soon as a job ran: through ``queue.posted`` in a busy
        cell, through the loop's own wake-up in a script. Inside a handler
        that could never happen, so :class:`HandlerLoopError` is raised
        instead of hanging; when a coroutine handler started meanwhile cannot
        run because this wait holds the loop, :class:`AsyncHandlerBlockedError`
        is raised at once. On other threads it blocks on ``signal``, which
        deliveries set."""
        on_plane = threading.current_thread() is self.thread
        deadline = None if timeout is None else time.monotonic() + timeout
        stalled = self.stalled
        while not ready():
            if on_plane and self.in_handler():
                raise HandlerLoopError(in_handler_error)
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(timeout_error)
            if on_plane:
                self._service(remaining, stop_on_interrupt=False)
                if not ready():
                    self.check_stalled(stalled, waiting)
            else:
                signal.clear()  # cleared before ready() is read: a delivery in between sets it again
                if ready():
                    return
                signal.wait(remaining)

    def service(self, timeout: float = 0.0) -> int:
        """Run queued handlers now, waiting up to ``timeout`` seconds for some.

        Runs on the handler plane's thread. Returns how many jobs ran, as soon
        as some ran (or at ``timeout``, or on :func:`interrupt`)."""
        return self._service(max(0.0, timeout), stop_on_interrupt=True)

    def _service(self, timeout: float | None, stop_on_interrupt: bool) -> int:
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
            if self.loop.is_closed() or self.loop.is_running():
                return self._service_sync(timeout, stop_on_interrupt)
            return self._service_loop(timeout, stop_on_interrupt)
        finally:
            self._servicing = False

    def _service_sync(self, timeout: float | None, stop_on_interrupt: bool) -> int:
        """Drain synchronously: used inside a running loop (a busy cell),
        which this call holds; blocks on ``queue.posted`` between jobs."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._holding = True
        try:
            ran = self.queue.drain()
            while ran == 0 and not (stop_on_interrupt and self.interrupted.is_set()):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self.queue.wait_for_post(remaining)
                ran += self.queue.drain()
            return ran
        finally:
            self._holding = False

    def _service_loop(self, timeout: float | None, stop_on_interrupt: bool) -> int:
        """Run the (idle) loop until a job ran or ``timeout`` passed (scripts).

        Jobs run as the loop's callbacks (post() schedules a drain with
        call_soon_threadsafe, which wakes the loop's selector); the pump
        sleeps on ``queue.wakeup``, which that drain resolves."""
        queue = self.queue
        start = queue.ran
        loop = self.loop

        async def pump() -> None:
            deadline = None if timeout is None else loop.time() + timeout
            while True:
                queue.drain()
                await asyncio.sleep(0)  # let tasks started by handlers progress
                if (queue.ran != start or (stop_on_interrupt and self.interrupted.is_set())
                        or (deadline is not None and loop.time() >= deadline)):
                    return
                if queue.jobs:
                    continue
                wakeup: asyncio.Future[None] = loop.create_future()
                queue.wakeup = wakeup
                timer = None if deadline is None else loop.call_at(deadline, queue.wake)
                try:
                    await wakeup
                finally:
                    queue.wakeup = None
                    if timer is not None:
                        timer.cancel()

        loop.run_until_complete(pump())
        return queue.ran - start


def _describe_awaitable(result: object) -> str:
    """The name of the function that made a coroutine, for error messages."""
    name = getattr(result, "__qualname__", None)
    return name if isinstance(name, str) else type(result).__name__


_eager_task_factory: Callable[[asyncio.AbstractEventLoop, Coroutine[Any, Any, Any]], asyncio.Future[Any]] | None
_eager_task_factory = getattr(asyncio, "eager_task_factory", None)  # Python 3.12+


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
            plane.loop.call_soon_threadsafe(plane.queue.wake)
        except RuntimeError:
            pass
