"""A real Redis for the backplane tests: ``redis-server`` on a free loopback
port, no persistence (``--save "" --appendonly no``), always stopped.

The session's shared instance is the ``redis_url`` fixture (tests/conftest.py);
a test that kills and restarts Redis starts its own :class:`RedisServer`.
Tests isolate themselves with their own ``app_name`` (keys ``nbws:{app}:``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

__all__ = ["RedisServer", "redis_available"]


def redis_available() -> bool:
    """redis-server is installed, and so is redis-py."""
    try:
        import redis  # noqa: F401
    except ImportError:
        return False
    return shutil.which("redis-server") is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """One redis-server process on 127.0.0.1. :meth:`stop` and :meth:`start`
    again keep the port (a restart, as a crash and a supervisor's restart)."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start it and wait (bounded) until it accepts connections."""
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--protected-mode", "yes", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env={**os.environ})
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill it (SIGKILL: no goodbye to its clients) and wait for it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_SCRIPT = os.path.join(ROOT, "tests", "backplane_node.py")


class Node:
    """One nbws server process of an app (tests/backplane_node.py), driven
    through its stdin / stdout; always stopped (:meth:`stop`)."""

    def __init__(self, app: str, backplane: str, policy: str = "all", traits: dict[str, object] | None = None,
                 timeout: float = 30.0) -> None:
        import json
        import sys
        import tempfile

        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, NODE_SCRIPT, app, backplane, policy, json.dumps(traits or {})],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": ROOT, "NBWS_DEBUG_THREADS": "1"})
        first = self._read(timeout)
        self.port: int = first["port"]
        self.node: str = first["node"]
        self.url = f"ws://127.0.0.1:{self.port}/"

    def _read(self, timeout: float) -> dict[str, object]:
        import json
        import select

        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.log.seek(0)
            raise AssertionError(f"node on {getattr(self, 'port', '?')} did not answer within {timeout:g} s:\n"
                                 + self.log.read().decode(errors="replace")[-3000:])
        value = json.loads(line)
        assert isinstance(value, dict)
        return value

    def command(self, line: str, timeout: float = 30.0) -> dict[str, object]:
        """Send one command; its one-line JSON answer (bounded wait)."""
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        self.process.stdin.flush()
        return self._read(timeout)

    def stats(self) -> dict[str, object]:
        """The server's backplane stats and socket counts."""
        return self.command("stats")

    def stop(self) -> None:
        """Ask it to quit; kill it if it does not within 10 s."""
        if self.process.poll() is None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(b"quit\n")
                self.process.stdin.flush()
                self.process.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(10)
        self.log.close()
