"""Pages for the relay tests and bench: the session protocol of ``nbws.js``
(hello, welcome, numbered messages both ways, acknowledgements, resume)
spoken with the ``websockets`` library, plus the processes (the app's kernel,
``nbws relay`` commands) they talk to.

A :class:`Page` keeps what it received: the numbered messages in order (each
once: a number at or below the last one seen is dropped as nbws.js drops it,
and counted in ``repeats``), the unnumbered ones, and the resyncs its
welcomes reported; what it sends waits in ``unacked`` until a relay
acknowledges it, and goes again after a reconnect (the kernel skips repeats).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.brokers import ROOT, Node

__all__ = ["Page", "Relay", "Kernel"]


class Page:
    """One page on a relay's ``/_nbws/ws``. Runs on the test's asyncio loop."""

    def __init__(self) -> None:
        self.session: str | None = None
        self.epoch = secrets.token_hex(8)
        self.rx = 0
        self.tx = 0
        self.unacked: list[tuple[int, str]] = []
        self.numbered: list[tuple[int, Any]] = []  # (seq, envelope)
        self.plain: list[str | bytes] = []
        self.resyncs: list[tuple[str, int | None]] = []
        self.close_codes: list[int | None] = []
        self.repeats = 0
        self.ws: ClientConnection | None = None
        self.url = ""
        self.closed = asyncio.Event()
        self.arrived = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None

    async def open(self, url: str, timeout: float = 30.0) -> None:
        """Connect to a relay (``http://host:port/``), say hello, take the welcome, replay what is unacknowledged."""
        self.url = url
        ws = await connect("ws" + url[4:] + "_nbws/ws", max_size=None, open_timeout=timeout, ping_interval=None)
        await ws.send(json.dumps({"nbws": "hello", "protocol": "nbws/1", "session": self.session,
                                  "epoch": self.epoch, "ack": self.rx}))
        async with asyncio.timeout(timeout):
            while True:
                first = await ws.recv()
                if isinstance(first, str) and first.startswith('{"nbws":"welcome"'):
                    break
                self.plain.append(first)  # emits held before the welcome of a new session
        welcome = json.loads(first)
        if not welcome["resumed"]:
            if self.session is not None or self.rx > 0:
                self.resyncs.append(("unknown", None))
            self.rx = welcome["from"] - 1
        elif welcome["from"] - 1 > self.rx:
            self.resyncs.append(("gap", welcome["from"] - 1 - self.rx))
            self.rx = welcome["from"] - 1
        self.session = welcome["session"]
        self._acknowledge(welcome["ack"])
        self.ws = ws
        self.closed.clear()
        for _, text in list(self.unacked):
            await ws.send(text)
        self._reader = asyncio.get_running_loop().create_task(self._read(ws))

    async def reopen(self, url: str, attempts: int = 50) -> None:
        """:meth:`open`, again after a refusal (1013: the relay cannot read the log yet), as nbws.js's backoff does."""
        for attempt in range(attempts):
            try:
                await self.open(url)
                return
            except (ConnectionClosed, OSError):
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(0.1)

    async def _read(self, ws: ClientConnection) -> None:
        with contextlib.suppress(Exception):
            async for message in ws:
                self._handle(message)
        if self.ws is ws:
            self.close_codes.append(ws.close_code)
            self.ws = None
            self.closed.set()

    def _handle(self, message: str | bytes) -> None:
        if isinstance(message, str) and message.startswith('{"seq":'):
            envelope = json.loads(message)
            seq = envelope["seq"]
            if seq <= self.rx:
                self.repeats += 1
                return
            if seq > self.rx + 1:
                self.resyncs.append(("gap", seq - self.rx - 1))
            self.rx = seq
            self.numbered.append((seq, envelope))
        elif isinstance(message, str) and message.startswith('{"nbws":'):
            control = json.loads(message)
            if isinstance(control.get("ack"), int):
                self._acknowledge(control["ack"])
            return
        else:
            self.plain.append(message)
        self.arrived.set()

    def _acknowledge(self, ack: int) -> None:
        self.unacked = [(seq, text) for seq, text in self.unacked if seq > ack]

    async def send(self, topic: str, data: Any) -> None:
        """A numbered topic message (as ``conn.send(topic, data)``)."""
        self.tx += 1
        text = json.dumps({"seq": self.tx, "topic": topic, "data": data}, separators=(",", ":"))
        self.unacked.append((self.tx, text))
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.send(text)

    def topic(self, name: str) -> list[Any]:
        """The data of the numbered messages on ``name``, in order."""
        return [e.get("data") for _, e in self.numbered if e.get("topic") == name]

    def plain_topic(self, name: str) -> list[Any]:
        """The data of unnumbered JSON messages on ``name`` (replies to this page)."""
        found = []
        for m in self.plain:
            if isinstance(m, str) and m.startswith("{"):
                v = json.loads(m)
                if v.get("topic") == name:
                    found.append(v.get("data"))
        return found

    async def close(self) -> None:
        if self.ws is not None:
            ws, self.ws = self.ws, None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 5)
        if self._reader is not None:
            self._reader.cancel()


class Kernel(Node):
    """The app's kernel process (tests/relay_kernel.py)."""

    def __init__(self, app: str, backplane: str, timeout: float = 30.0) -> None:
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "relay_kernel.py"), app, backplane],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, cwd=ROOT,
            env={**os.environ, "PYTHONPATH": ROOT, "NBWS_DEBUG_THREADS": "1"})
        first = self._read(timeout)
        self.port = int(first["port"])  # type: ignore[arg-type]
        self.node = str(first["node"])
        self.url = f"http://127.0.0.1:{self.port}/"


class Relay:
    """An ``nbws relay`` command (``python -m nbws relay``); always stopped."""

    def __init__(self, app: str, backplane: str, secret: str | None = "s3cret", timeout: float = 30.0,
                 port: int | None = None) -> None:
        import select

        self.log = tempfile.TemporaryFile()
        args = [sys.executable, "-m", "nbws", "relay", "--app", app, "--backplane", backplane]
        if secret:
            args += ["--secret", secret]
        if port is not None:
            args += ["--port", str(port)]
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.log, cwd=ROOT,
                                        env={**os.environ, "PYTHONPATH": ROOT})
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout)
        line = self.process.stdout.readline().decode() if ready else ""
        if "serving on" not in line:
            self.kill()
            self.log.seek(0)
            raise AssertionError(f"the relay did not start: {line!r}\n{self.log.read().decode()[-3000:]}")
        self.url = line.split("serving on ", 1)[1].split()[0]
        self.port = int(self.url.rstrip("/").rsplit(":", 1)[1])

    def kill(self) -> None:
        """SIGKILL: the relay dies without a word (as a crashed machine)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """SIGTERM (Ctrl-C's path); kill after 10 s."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
