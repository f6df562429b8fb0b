"""The wake queue: how jobs cross from one thread to another event loop.

A deque plus one wake-up per batch, so a burst of messages costs one thread
wake-up, not one per message. Both directions of the boundary use it.

After a batch that held a message (a *hot* post), the loop's thread stays
awake for the next one for up to ``poll_window`` seconds (:data:`POLL_WINDOW`,
50 µs): it polls the deque, yielding the CPU between looks, instead of going
back to its selector. A request/reply peer's next message then finds the
thread awake, which saves the two wake-ups of a round trip (the CPU's and the
loop's self-pipe); see ``bench/hop_floor.py`` and the README's Performance
section. The poll stops at once when the loop has other callbacks ready, and
a callback never polls and runs jobs for longer than :data:`POLL_BUDGET`, so
the loop's own I/O (a kernel's messages) waits at most that long.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from collections.abc import Callable

__all__ = ["WakeQueue", "Job", "POLL_WINDOW", "POLL_BUDGET"]

Job = Callable[[], object]


def _poll_window() -> float:
    """``NBWS_POLL_US`` (microseconds, 0 turns polling off), default 50 µs."""
    try:
        return max(0.0, min(float(os.environ.get("NBWS_POLL_US", "50")), 1000.0)) / 1e6
    except ValueError:
        return 50e-6


POLL_WINDOW = _poll_window()
"""How long a loop's thread stays awake for the next message after a batch
of messages (seconds; ``NBWS_POLL_US`` sets it in microseconds, 0 turns it off)."""
POLL_BUDGET = 0.002
"""The longest one callback polls and runs jobs before it returns to the loop (seconds)."""
_yield: Callable[[], None] = getattr(os, "sched_yield", None) or (lambda: time.sleep(0))


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
        self.poll_window = POLL_WINDOW
        self.poll_budget = POLL_BUDGET
        self._hot = False  # a message was posted since the last poll
        self.polling = False  # the loop's thread is awake, polling for the next message (a hint for other threads)
        # the loop's ready callbacks (asyncio's own deque): polling stops when
        # anything else is ready to run; no polling on a loop without one
        self._loop_ready: deque[object] | None = getattr(loop, "_ready", None)
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

    def post(self, job: Job, hot: bool = False) -> bool:
        """Append a job and wake the loop if no drain is pending (nor polling).
        ``hot``: the job delivers a message, so the loop's thread polls for
        the next one after running it. Thread-safe.

        Returns True when this call woke the loop."""
        self.jobs.append(job)
        if hot:
            self._hot = True
        woke = False
        if not self._scheduled:
            self._scheduled = True
            try:
                self.loop.call_soon_threadsafe(self.drain_and_poll)
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

    def drain_and_poll(self) -> None:
        """The loop's callback: :meth:`drain`, then, after a batch that held
        a message, poll for the next batch for up to ``poll_window`` and run
        it at once, within ``poll_budget`` (:data:`POLL_BUDGET`) per callback. Runs on the
        loop's thread."""
        ready = self._loop_ready
        if ready is None:
            self.drain()
            return
        # Callbacks that were ready before this one (the self-pipe's reader,
        # other I/O of the same select) wait at most one window; anything the
        # jobs or other threads make ready (an async handler's task) ends it.
        before = len(ready)
        ran = self.drain()
        if not (ran and self._hot and self.poll_window):
            return
        jobs = self.jobs
        clock = time.perf_counter
        budget_end = clock() + self.poll_budget
        while self._hot:
            self._hot = False
            self._scheduled = True  # posts meanwhile only append: this callback runs them
            deadline = min(clock() + self.poll_window, budget_end)
            self.polling = True
            try:
                while not jobs and len(ready) == before and clock() < deadline:
                    _yield()
            except BaseException:  # KeyboardInterrupt while polling: leave no job unscheduled
                self.loop.call_soon(self.drain_and_poll)
                raise
            finally:
                self.polling = False
            self._scheduled = False
            if not jobs:
                return  # a post after the line above schedules its own drain
            if len(ready) != before or clock() >= budget_end:  # let the loop run its other work first
                self._scheduled = True
                self.loop.call_soon(self.drain_and_poll)
                return
            self.drain()

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
