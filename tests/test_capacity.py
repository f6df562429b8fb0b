"""Capacity: the accept backlog, reclaiming connections at the cap (issue 17),
the per-address limit on connections that have sent no request head, and the
counts users see. Real sockets on loopback; floods come from tests.floods."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys

import pytest

import nbws
from tests.conftest import echo_app, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _listen_queue(port: int) -> int | None:
    """The accept-queue length the kernel reports for a listening port (ss)."""
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, timeout=10).stdout
    for line in out.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "LISTEN":
            return int(fields[2])
    return None


@pytest.mark.skipif(shutil.which("ss") is None, reason="needs ss (iproute2)")
def test_listening_socket_uses_the_backlog_trait() -> None:
    async def main() -> None:
        default = nbws.start_server(app=echo_app())
        small = nbws.start_server(app=echo_app(), backlog=300)
        assert _listen_queue(default.port) == 1024
        assert _listen_queue(small.port) == 300

    run(main)


def test_burst_of_1000_handshakes_has_no_syn_retransmit() -> None:
    """A lecture hall opening the join link: 1,000 simultaneous handshakes from
    another process, handlers on this loop; none waits for a SYN retransmit
    (1 s), which is what an accept queue of 100 produced."""
    count = 1000

    async def main() -> dict[str, list[object]]:
        server = nbws.start_server(app=echo_app())
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.floods", "burst", str(server.port), str(count),
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(proc.communicate(), 40)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
        assert proc.returncode == 0, err.decode()
        result: dict[str, list[object]] = json.loads(out)
        return result

    result = run(main, timeout=60)
    times = [float(t) for t in result["times"]]  # type: ignore[arg-type]
    assert result["failures"] == []
    assert len(times) == count
    slow = [t for t in times if t >= 1.0]
    assert not slow, f"{len(slow)} of {count} handshakes took >= 1 s (max {max(times):.2f} s)"
