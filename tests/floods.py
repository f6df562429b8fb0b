"""Crowds of real TCP peers for the capacity tests (and ``bench/idle_flood.py``).

``python -m tests.floods burst PORT N`` runs N simultaneous WebSocket
handshakes from one asyncio loop in this (separate) process and prints one
JSON object: the handshake times in seconds and the failures. The handshake is
written by hand on a plain stream so the client's own CPU time stays small
next to the server's (1,000 ``websockets`` clients in one process would
measure the client).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted`` (bounded by
    the hard limit); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft == resource.RLIM_INFINITY or soft >= target:
        return soft if soft != resource.RLIM_INFINITY else wanted
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def open_fds() -> int:
    """How many file descriptors this process has open (Linux)."""
    return len(os.listdir("/proc/self/fd"))


def handshake_request(port: int, path: str = "/") -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()


def idle_sockets(port: int, count: int, sources: list[str] | None = None,
                 timeout: float = 20.0) -> list[socket.socket]:
    """Open ``count`` TCP connections to 127.0.0.1:port that send nothing,
    spread round-robin over the source addresses ``sources`` (loopback
    addresses such as 127.0.0.2). Blocking; bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    socks: list[socket.socket] = []
    try:
        for i in range(count):
            if time.monotonic() > deadline:
                raise TimeoutError(f"opened only {i} of {count} idle connections in {timeout} s")
            s = socket.socket()
            socks.append(s)
            s.settimeout(max(0.1, deadline - time.monotonic()))
            if sources:
                s.bind((sources[i % len(sources)], 0))
            s.connect(("127.0.0.1", port))
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


@contextmanager
def held(socks: list[socket.socket]) -> Iterator[list[socket.socket]]:
    """Close the sockets on the way out."""
    try:
        yield socks
    finally:
        for s in socks:
            s.close()


def closed_by_server(s: socket.socket) -> bool:
    """True when the server has closed this idle connection (EOF or reset);
    does not block."""
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


async def burst(port: int, count: int, timeout: float = 30.0) -> dict[str, object]:
    """``count`` simultaneous WebSocket handshakes; each is timed from just
    before connect() to the end of the 101 response head. All stay open until
    every one has finished, so the server holds them at the same time."""
    all_done = asyncio.Event()
    finished = 0
    times: list[float] = []
    failures: list[str] = []
    loop = asyncio.get_running_loop()

    async def one() -> None:
        nonlocal finished
        writer = None
        start = loop.time()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(handshake_request(port))
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 101 "):
                failures.append(head.split(b"\r\n", 1)[0].decode("latin-1"))
            else:
                times.append(loop.time() - start)
        except (OSError, asyncio.IncompleteReadError) as exc:
            failures.append(repr(exc))
        finally:
            finished += 1
            if finished == count:
                all_done.set()
            await all_done.wait()
            if writer is not None:
                writer.close()

    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(count))), timeout)
    return {"times": times, "failures": failures}


def _main(argv: list[str]) -> None:
    if argv[:1] == ["burst"]:
        port, count = int(argv[1]), int(argv[2])
        raise_fd_limit(count + 256)
        print(json.dumps(asyncio.run(burst(port, count))), flush=True)
        return
    raise SystemExit("usage: python -m tests.floods burst PORT N")


if __name__ == "__main__":
    _main(sys.argv[1:])
