"""The wake queue: how jobs cross from one thread to another event loop.

A deque plus one wake-up per batch, so a burst of messages costs one thread
wake-up, not one per message. Both directions of the boundary use it.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable

__all__ = ["WakeQueue", "Job"]

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
        # Threads other than the loop's that wait for the effect of a job
        # (a blocking receive() on a worker thread) sleep on ``settled``,
        # which drain() notifies after a batch while ``off_waiters`` > 0.
        self.settled = threading.Condition(threading.Lock())
        self.off_waiters = 0  # changed under ``settled``

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
            if self.off_waiters:
                with self.settled:
                    self.settled.notify_all()
        return count

    def wait_settled(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        """Block a thread other than the loop's until ``ready()`` after a
        drain, at most ``timeout`` seconds; returns ``ready()``. No wake-up is
        lost: ``ready()`` is read under the condition that drain() notifies."""
        with self.settled:
            self.off_waiters += 1
            try:
                if not ready():
                    self.settled.wait(timeout)
            finally:
                self.off_waiters -= 1
        return ready()
