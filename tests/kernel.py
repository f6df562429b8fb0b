"""A real IPython kernel (jupyter_client) for tests, and helpers to drive it."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import KernelManager, start_new_kernel


class Kernel:
    """A started kernel with blocking helpers; every wait is bounded."""

    def __init__(self, km: KernelManager, kc: BlockingKernelClient) -> None:
        self.km = km
        self.kc = kc

    def start(self, code: str) -> str:
        """Send a cell without waiting; returns its msg_id once it is busy."""
        msg_id: str = self.kc.execute(code)
        self.wait_state(msg_id, "busy", 30)
        return msg_id

    def wait_state(self, msg_id: str, state: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"kernel did not become {state}")
            msg = self.kc.get_iopub_msg(timeout=remaining)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"]["execution_state"] == state):
                return

    def finish(self, msg_id: str, timeout: float = 60) -> tuple[str, dict[str, Any]]:
        """Wait for a started cell: its stdout and its execute_reply content."""
        out: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("cell did not finish")
            try:
                msg = self.kc.get_iopub_msg(timeout=remaining)
            except queue.Empty as exc:
                raise TimeoutError("cell did not finish") from exc
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "stream":
                out.append(msg["content"]["text"])
            elif kind == "error":
                out.append("\n".join(msg["content"]["traceback"]))
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                break
        reply = self.kc.get_shell_msg(timeout=max(1.0, deadline - time.monotonic()))
        return "".join(out), reply["content"]

    def result(self, code: str, timeout: float = 60) -> dict[str, Any]:
        """Run a cell; the data (mime bundle) of its execute_result or display_data."""
        msg_id = self.start(code)
        data: dict[str, Any] = {}
        deadline = time.monotonic() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] in ("execute_result", "display_data"):
                data.update(msg["content"]["data"])
            elif msg["msg_type"] == "error":
                raise AssertionError("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                self.kc.get_shell_msg(timeout=10)
                return data

    def run(self, code: str, timeout: float = 60) -> str:
        """Run a cell to completion; its stdout. Raises on an error in the cell."""
        text, reply = self.finish(self.start(code), timeout)
        if reply["status"] != "ok":
            raise AssertionError(f"cell failed:\n{text}\n{reply.get('traceback')}")
        return text


@contextmanager
def kernel(env: dict[str, str] | None = None) -> Iterator[Kernel]:
    import os

    extra: dict[str, Any] = {"env": {**os.environ, **env}} if env else {}
    km, kc = start_new_kernel(kernel_name="python3", startup_timeout=60, **extra)
    try:
        yield Kernel(km, kc)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
