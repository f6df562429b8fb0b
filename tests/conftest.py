"""Shared fixtures: real servers on 127.0.0.1 that always stop.

Most tests run an asyncio loop in the main thread (as a kernel does): the
server's handlers run on that loop when it is idle, and the peer is the
independent ``websockets`` client or a raw socket.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

import pytest

# The plane assertions (nbws.boundary.debug) are on for the whole suite,
# kernels and subprocesses included; read once, when nbws is imported.
os.environ["NBWS_DEBUG_THREADS"] = "1"

from playwright.async_api import Browser

import nbws
from tests.browser import chromium

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _stop_servers() -> Iterator[None]:
    yield
    nbws.stop_all_servers()


def _failure(predicate: Callable[[], object], timeout: float, what: str | None, last: object) -> AssertionError:
    name = what or getattr(predicate, "__qualname__", repr(predicate))
    return AssertionError(f"timed out after {timeout:g} s waiting until {name} (last result: {last!r})")


def wait_until(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.01,
               what: str | None = None) -> None:
    """Block this thread until ``predicate()`` is truthy, checking every
    ``interval`` seconds for at most ``timeout`` seconds; then fail with a
    message naming what was awaited and its last result.

    For waits on another thread or process (the I/O thread, a kernel, a
    peer): never call it on the loop whose callbacks make the predicate true
    (use ``await wait_for_condition(...)`` there)."""
    deadline = time.monotonic() + timeout
    last = predicate()
    while not last:
        if time.monotonic() >= deadline:
            raise _failure(predicate, timeout, what, last)
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        last = predicate()


async def wait_for_condition(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.01,
                             what: str | None = None) -> None:
    """The awaitable form of :func:`wait_until`: yields to the running loop
    (so handlers queued on it run) between checks, at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = predicate()
    while not last:
        if time.monotonic() >= deadline:
            raise _failure(predicate, timeout, what, last)
        await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))
        last = predicate()


def run(main: Callable[[], Awaitable[T]], timeout: float = 30.0) -> T:
    """Run ``main()`` on a fresh event loop in this (the handler) thread."""

    async def bounded() -> T:
        return await asyncio.wait_for(main(), timeout)

    return asyncio.run(bounded())


async def raw_http(port: int, data: bytes, timeout: float = 5.0, host: str = "127.0.0.1") -> bytes:
    """Send raw bytes, read until the server closes (bounded)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(data)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()


async def http_request(
    port: int, method: str = "GET", path: str = "/", headers: dict[str, str] | None = None,
    body: bytes = b"", host: str = "127.0.0.1",
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 request with ``Connection: close``; returns status, headers, body."""
    fields = {"Host": f"{host}:{port}", "Connection": "close"}
    if body:
        fields["Content-Length"] = str(len(body))
    fields.update(headers or {})
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in fields.items()) + "\r\n"
    raw = await raw_http(port, head.encode("latin-1") + body, host=host)
    return parse_response(raw)


def parse_response(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def echo_app() -> dict[str, Any]:
    def on_ws_open(ws: nbws.WebSocket) -> None:
        ws.on_message(ws.send)

    return {"call": lambda req: "ok", "on_ws_open": on_ws_open}


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A real redis-server for the whole session (tests/brokers.py); tests
    isolate themselves by app_name. Skipped when redis-server or redis-py is
    missing (``.ci/run`` installs both)."""
    from tests.brokers import RedisServer, redis_available

    if not redis_available():
        pytest.skip("redis-server and redis-py are needed (apt-get install redis-server; pip install 'nbws[redis]')")
    with RedisServer() as server:
        yield server.url


@pytest.fixture(scope="module")
def env() -> Iterator[tuple[asyncio.AbstractEventLoop, Browser]]:
    """One Chromium for the module, on one event loop that is also the nbws handler loop."""
    loop = asyncio.new_event_loop()
    manager: AbstractAsyncContextManager[Browser] = chromium()
    browser = loop.run_until_complete(asyncio.wait_for(manager.__aenter__(), 60))
    try:
        yield loop, browser
    finally:
        loop.run_until_complete(asyncio.wait_for(manager.__aexit__(None, None, None), 60))
        loop.close()
