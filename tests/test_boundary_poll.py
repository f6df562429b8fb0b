"""The wake queue's poll after a message (``WakeQueue.drain_and_poll``): a
loop's thread stays awake for the next message for a bounded window, loses no
job posted while it stops, and never holds up the loop's other work."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

from nbws.boundary import HandlerPlane, WakeQueue, deliver
from tests.conftest import wait_until


def failed(exc: BaseException) -> None:
    raise AssertionError(f"a job failed: {exc!r}")


def busy_wait(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_messages_posted_while_the_loop_polls_or_stops_polling_all_run_in_order() -> None:
    """Posts race the poll's start and end (gaps around the window): none is lost."""
    loop = asyncio.new_event_loop()
    queue = WakeQueue(loop, failed)
    queue.poll_window = 0.0002
    count = 3000
    seen: list[int] = []
    done: asyncio.Future[None] = loop.create_future()

    def job(i: int) -> None:
        seen.append(i)
        if i == count - 1:
            done.set_result(None)

    def producer() -> None:
        rng = random.Random(11)
        for i in range(count):
            queue.post(lambda i=i: job(i), hot=True)  # type: ignore[misc]
            busy_wait(rng.choice((0.0, 0.00005, 0.00019, 0.0002, 0.00021, 0.0005)))

    thread = threading.Thread(target=producer)
    try:
        thread.start()
        loop.run_until_complete(asyncio.wait_for(done, 30))
    finally:
        thread.join(30)
        loop.close()
    assert seen == list(range(count))


def test_the_poll_ends_when_another_thread_makes_loop_work_ready() -> None:
    loop = asyncio.new_event_loop()
    queue = WakeQueue(loop, failed)
    queue.poll_window = queue.poll_budget = 0.5
    ran = threading.Event()
    marks: dict[str, float] = {}
    finished: asyncio.Future[None] = loop.create_future()

    def message() -> None:
        marks["job"] = time.monotonic()
        ran.set()

    def other() -> None:
        marks["other"] = time.monotonic()
        finished.set_result(None)

    def poster() -> None:
        ran.wait(10)
        loop.call_soon_threadsafe(other)

    thread = threading.Thread(target=poster)
    try:
        thread.start()
        queue.post(message, hot=True)
        loop.run_until_complete(asyncio.wait_for(finished, 10))
    finally:
        thread.join(10)
        loop.close()
    assert marks["other"] - marks["job"] < 0.2  # not the 0.5 s window


def test_a_task_started_by_a_message_job_runs_without_waiting_for_the_poll() -> None:
    """An ``async def`` handler's first step is not held up by the window."""
    loop = asyncio.new_event_loop()
    queue = WakeQueue(loop, failed)
    queue.poll_window = queue.poll_budget = 0.5
    marks: dict[str, float] = {}
    tasks: list[asyncio.Task[None]] = []

    async def handler() -> None:
        marks["task"] = time.monotonic()

    def message() -> None:
        marks["job"] = time.monotonic()
        tasks.append(loop.create_task(handler()))

    try:
        queue.post(message, hot=True)
        loop.run_until_complete(asyncio.sleep(0.7))
    finally:
        loop.close()
    assert marks["task"] - marks["job"] < 0.2


@pytest.mark.parametrize("hot", [True, False])
def test_the_poll_lasts_one_window_after_a_message_and_none_after_other_jobs(hot: bool) -> None:
    """A timer due at once waits for the window after a message job (the
    loop's thread was polling), and not after another job."""
    loop = asyncio.new_event_loop()
    queue = WakeQueue(loop, failed)
    queue.poll_window = queue.poll_budget = 0.3
    marks: dict[str, float] = {}
    finished: asyncio.Future[None] = loop.create_future()

    def timer() -> None:
        marks["timer"] = time.monotonic()
        finished.set_result(None)

    def job() -> None:
        marks["job"] = time.monotonic()
        loop.call_later(0, timer)

    try:
        queue.post(job, hot=hot)
        loop.run_until_complete(asyncio.wait_for(finished, 10))
    finally:
        loop.close()
    waited = marks["timer"] - marks["job"]
    if hot:
        assert 0.25 <= waited < 2.0  # polled for the window, and no longer than it (plus scheduling)
    else:
        assert waited < 0.25


def test_a_stream_of_messages_lets_the_loop_run_its_timers() -> None:
    """Messages that keep arriving while the loop's thread polls never keep
    the loop from its own work (a kernel's messages, timers) for longer than
    the poll budget."""
    loop = asyncio.new_event_loop()
    queue = WakeQueue(loop, failed)
    queue.poll_window = 0.2
    queue.poll_budget = 0.02
    marks: dict[str, float] = {}
    handled = threading.Event()
    stop = threading.Event()

    def timer() -> None:
        marks["timer"] = time.monotonic()

    def producer() -> None:
        """Post each message once the last one ran: while the loop's thread polls."""
        end = time.monotonic() + 1.5
        while not stop.is_set() and time.monotonic() < end:
            if handled.wait(0.1):
                handled.clear()
                time.sleep(0.0005)  # the job has returned; the loop's thread is polling
                queue.post(handled.set, hot=True)

    thread = threading.Thread(target=producer)
    try:
        marks["scheduled"] = time.monotonic()
        loop.call_later(0.1, timer)  # due while the stream flows
        queue.post(handled.set, hot=True)
        thread.start()
        loop.run_until_complete(asyncio.sleep(1.0))
    finally:
        stop.set()
        thread.join(10)
        loop.close()
    assert marks["timer"] - marks["scheduled"] < 0.5  # not after the stream (1.5 s)


def test_deliver_says_whether_the_plane_is_awake_to_answer() -> None:
    """The I/O thread polls its sockets after a message only when the plane
    will answer soon: one it woke, or one polling for the next message; not
    one busy elsewhere (a running cell), whose queue already waits to run."""
    loop = asyncio.new_event_loop()
    plane = HandlerPlane(loop, threading.current_thread())
    plane.queue.poll_window = plane.queue.poll_budget = 5.0
    answers: list[bool] = []
    finished: asyncio.Future[None] = loop.create_future()

    def last() -> None:
        plane.queue.poll_window = 0.0  # no window after it: the test ends now
        finished.set_result(None)

    def from_the_io_side() -> None:  # while the plane polls after the first message
        wait_until(lambda: plane.queue.polling, 10)
        answers.append(deliver(plane, last, now=True))

    thread = threading.Thread(target=from_the_io_side)
    try:
        answers.append(deliver(plane, lambda: None, now=True))  # the loop is idle: woken
        answers.append(deliver(plane, lambda: None, now=True))  # the loop has not run since: busy
        thread.start()
        loop.run_until_complete(asyncio.wait_for(finished, 10))
    finally:
        thread.join(10)
        loop.close()
    assert answers == [True, False, True]
