"""The handler plane: where user code runs, and how work reaches it.

A **handler plane** is the event loop of the thread that started a server
(the kernel's main loop in a notebook). User callbacks are queued to it with
:func:`deliver` and run one at a time, in order, when it is idle, or inside a
busy cell when the cell calls :func:`service`. :func:`invoke` is the one
place that runs user code: plain function or coroutine, result or error.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

from ..errors import AsyncHandlerBlockedError, HandlerLoopError
from .debug import on_handler_plane, register_plane_thread
from .queue import Job, WakeQueue

__all__ = ["HandlerPlane", "handler_plane", "service", "interrupt", "invoke", "deliver", "call_on_loop", "Latch"]

log = logging.getLogger("nbws")
T = TypeVar("T")


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

    def post_and_yield(self, job: Job) -> bool:
        """Queue ``job``; if that woke the plane, give it the GIL and the CPU
        at once (``sched_yield`` releases the GIL), so the handler runs now
        instead of after the rest of the I/O thread's loop iteration. Used by
        the I/O thread for incoming messages: it halves the round-trip time
        when both threads share a core. The job is *hot*: after it, the
        plane's thread polls for the next message for a moment
        (:meth:`WakeQueue.drain_and_poll`).

        Returns True when the plane is awake to run it now (this woke it, or
        it was polling); False when it is busy (a running cell, a long
        handler), so no quick reply is to be expected. Thread-safe."""
        queue = self.queue
        polling = queue.polling
        if queue.post(job, hot=True):
            if _sched_yield is not None:
                _sched_yield()
            return True
        return polling

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

    def wait_for_thread(self, fn: Callable[[], T], timeout: float, waiting: str) -> T:
        """Run blocking ``fn()`` on a worker thread and wait for its result
        (or exception), at most ``timeout`` seconds (then ``TimeoutError``).

        Runs on this plane's thread. Queued handlers run meanwhile, so ``fn``
        may talk to a server of this same thread (:func:`nbws.fetch`); the
        worker's result arrives as a job, which wakes the wait at once. Inside
        a handler, where handlers cannot run, it only waits."""
        latch: Latch[tuple[bool, Any]] = Latch()

        def worker() -> None:
            try:
                outcome: tuple[bool, Any] = (True, fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                outcome = (False, exc)
            latch.set(outcome)
            self.post(_nothing)  # wakes a servicing wait at once

        threading.Thread(target=worker, name="nbws-worker", daemon=True).start()
        if threading.current_thread() is self.thread and not self.in_handler():
            self.wait(latch.is_set, timeout, "", f"{waiting} got no result within {timeout} s", waiting)
        elif not latch.wait(timeout):
            raise TimeoutError(f"{waiting} got no result within {timeout} s")
        ok, value = latch.value()
        if not ok:
            raise value
        return value  # type: ignore[no-any-return]

    def wait(
        self,
        ready: Callable[[], bool],
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
        is raised at once. On other threads it sleeps until a batch of this
        plane's jobs ran (:meth:`WakeQueue.wait_settled`)."""
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
            elif self.queue.wait_settled(ready, remaining):
                return

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
        register_plane_thread(threading.get_ident())
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


def _nothing() -> None:
    """A job that only wakes the handler plane."""


class Latch(Generic[T]):
    """A one-shot value handed from one thread to a thread that blocks for it.

    :meth:`set` once from any thread; :meth:`wait` blocks until then.
    Thread-safe."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._value: list[T] = []

    def set(self, value: T) -> None:
        """Store ``value`` and wake the waiter (the first call wins). Thread-safe."""
        if not self._value:
            self._value.append(value)
            self._event.set()

    def is_set(self) -> bool:
        """True once a value was set. Thread-safe."""
        return self._event.is_set()

    def wait(self, timeout: float | None) -> bool:
        """Block until set, at most ``timeout`` seconds; True when set. Thread-safe."""
        return self._event.wait(timeout)

    def value(self) -> T:
        """The value (call after :meth:`wait` returned True)."""
        return self._value[0]


def deliver(plane: HandlerPlane, job: Job, *, now: bool = False) -> bool:
    """Queue ``job`` to run on ``plane``, in order. Thread-safe: the one way
    the I/O plane hands work to a handler plane. ``now=True`` (incoming
    messages) also gives the handler thread the CPU at once when this woke it,
    and returns whether the plane is awake to run it now (see
    :meth:`HandlerPlane.post_and_yield`); otherwise returns True."""
    if now:
        return plane.post_and_yield(job)
    plane.post(job)
    return True


def call_on_loop(loop: asyncio.AbstractEventLoop, fn: Callable[..., object], *args: Any) -> bool:
    """Run ``fn(*args)`` on ``loop`` (any asyncio loop, e.g. one awaiting a
    drain), from any thread. False when that loop is closed. Thread-safe."""
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:  # the loop is closed: nobody waits on it any more
        return False
    return True


@on_handler_plane
def invoke(
    plane: HandlerPlane,
    fn: Callable[..., Any],
    *args: Any,
    on_result: Callable[[Any], object] | None = None,
    on_error: Callable[[BaseException], object],
) -> None:
    """Run user code ``fn(*args)`` on ``plane``; if it returns an awaitable,
    run that as a task. Then ``on_result(value)`` with its (awaited) result,
    or ``on_error(exc)`` with what it raised (``asyncio.CancelledError`` when
    the task was cancelled). The one copy of "run a handler": HTTP handlers,
    WebSocket callbacks and RPCs all go through here.

    Runs on the handler plane; so do ``on_result`` and ``on_error``."""
    try:
        result = fn(*args)
    except Exception as exc:  # noqa: BLE001 - contained: reported to on_error
        on_error(exc)
        return
    if result is not None and inspect.isawaitable(result):  # None, the usual callback result, first

        def finished(task: asyncio.Future[Any]) -> None:
            if task.cancelled():
                on_error(asyncio.CancelledError())
                return
            exc = task.exception()
            if exc is not None:
                on_error(exc)
            elif on_result is not None:
                on_result(task.result())

        plane.start_async(result, finished)
        return
    if on_result is not None:
        on_result(result)
