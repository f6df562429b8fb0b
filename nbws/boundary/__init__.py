"""The thread boundary: the only code that moves work between threads.

nbws has two planes. The **I/O plane** is one daemon thread per process
("nbws-io", :class:`IOThread`) with its own selector loop: sockets, parsing,
limits, pings and writes. A **handler plane** (:class:`HandlerPlane`) is the
event loop of a thread that started a server or a client (the kernel's loop
in a notebook): every user callback runs there, in order.

The interface, and nothing else, crosses between them:

* :func:`submit` ``(job)`` — run a job on the I/O thread (any thread);
  :meth:`IOThread.run` / :meth:`IOThread.call` also wait for a result.
* :func:`deliver` ``(plane, job)`` — run a job on a handler plane (the I/O
  thread hands it messages, opens, closes and HTTP requests this way).
* :func:`invoke` ``(plane, fn, *args, on_result=, on_error=)`` — run user code
  on the handler plane: plain function or coroutine, result or error.
* :class:`Outbox` — the thread-safe half of one WebSocket: sending (with the
  direct-write fast path), drain waiters and bounded unsent bytes
  (:class:`SendBudget` across a server); :class:`ClientOutbox` is a
  client's, across its (re)connections.
* :class:`Mailbox` — items put by producer threads without a lock
  (``LivePlot.push``), taken by the I/O thread at its next tick.
* Blocking waits: :meth:`HandlerPlane.wait`, :meth:`HandlerPlane.wait_for_thread`,
  :class:`Latch`, :func:`service`, :func:`interrupt`; :func:`call_on_loop`
  wakes a coroutine awaiting on any loop.
* :func:`hold_switch_interval` / :func:`release_switch_interval` — the GIL's
  switch interval while servers run, so the I/O thread is not kept waiting by
  a thread spinning in Python.
* :func:`on_io_thread` / :func:`on_handler_plane` — plane assertions, active
  with ``NBWS_DEBUG_THREADS=1``.

Only immutable values (str, bytes, frozen dataclasses, tuples) cross.
"""

from __future__ import annotations

from .budget import QUANTUM, SendBudget
from .client_outbox import ClientOutbox
from .debug import DEBUG_THREADS, on_handler_plane, on_io_thread
from .handler import HandlerPlane, Latch, call_on_loop, deliver, handler_plane, interrupt, invoke, service
from .io_thread import IOThread, io_thread, submit
from .mailbox import Mailbox
from .outbox import WATCH_LEVEL, DrainWake, Outbox, frame_header
from .queue import Job, WakeQueue
from .switch import hold_switch_interval, release_switch_interval

__all__ = [
    "ClientOutbox",
    "DEBUG_THREADS",
    "DrainWake",
    "HandlerPlane",
    "IOThread",
    "Job",
    "Latch",
    "Mailbox",
    "Outbox",
    "QUANTUM",
    "SendBudget",
    "WATCH_LEVEL",
    "WakeQueue",
    "call_on_loop",
    "deliver",
    "frame_header",
    "handler_plane",
    "hold_switch_interval",
    "interrupt",
    "invoke",
    "io_thread",
    "on_handler_plane",
    "on_io_thread",
    "release_switch_interval",
    "service",
    "submit",
]
