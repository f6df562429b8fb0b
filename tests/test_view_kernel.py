"""Full resolution on zoom in a real IPython kernel: a 10,000,000-point series
with one-point spikes answers views and CSV exactly, and a view query is
answered while the cell that pushes is still running."""

from __future__ import annotations

import json
import math
import pathlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from nbws.live.frames import VIEW_HEADER, VIEW_POINTS, decode_chunks
from tests.kernel import Kernel, kernel
from tests.test_export import get, rows

SPIKES = [123_457, 2_500_001, 5_000_000, 9_999_000]
N = 10_000_000


@pytest.fixture(scope="module")
def k() -> Iterator[Kernel]:
    with kernel() as kern:
        yield kern


def y_at(i: int) -> float:
    """The series' y at index i (x = i), as the kernel computes it."""
    return 50.0 if i in SPIKES else math.sin(i / 1e5)


def ask(ws: ClientConnection, query: dict[str, Any], seconds: float = 60) -> list[Any]:
    """Send a view query; the chunks of its answer (live frames skipped)."""
    ws.send(json.dumps({"view": query}))
    deadline = time.monotonic() + seconds
    while True:
        message = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
        if isinstance(message, bytes):
            chunks = decode_chunks(message)
            if chunks[0][0] == VIEW_HEADER:
                return chunks


def test_ten_million_points_with_spikes_zoom_to_exactly_the_points_in_view(k: Kernel) -> None:
    port = int(k.run(f"""
import nbws, numpy as np
big_server = nbws.start_server(app=nbws.App())
big = nbws.LivePlot("big", server=big_server, history_points=4000)
x = np.arange({N}, dtype=float)
y = np.sin(x / 1e5)
y[{SPIKES}] = 50.0
big.push_many(x, y)
assert big.flush(120) and big.points == {N}
print(big_server.port)
""", 300).strip())
    try:
        with connect(f"ws://127.0.0.1:{port}/live/big/ws", max_size=None) as ws:
            whole = ask(ws, {"id": 1, "x0": 0, "x1": N - 1, "width": 2000})
            assert whole[0][2][4:6] == [0.0, float(N)]
            kind, _, xs, ys = whole[1]
            assert kind == VIEW_POINTS and len(xs) <= 4 * 2000
            assert {int(x) for x, y in zip(xs, ys, strict=True) if y == 50.0} == set(SPIKES)  # every spike drawn

            window = ask(ws, {"id": 2, "x0": 4_999_500, "x1": 5_000_499, "width": 800})
            assert window[0][2][4:6] == [0.0, 1000.0]
            _, _, xs, ys = window[1]
            # the 1,000 points in view, each exactly, and one more on each side
            assert xs == [float(i) for i in range(4_999_499, 5_000_501)]
            assert ys == [y_at(i) for i in range(4_999_499, 5_000_501)]
        status, _, body = get(port, "/live/big/data.csv?x0=4999500&x1=5000499")
        assert status == 200
        assert [(float(x), float(y)) for _, x, y in rows(body)] == [(float(i), y_at(i))
                                                                     for i in range(4_999_500, 5_000_500)]
    finally:
        k.run("big_server.stop(); del x, y, big")


def test_a_view_is_answered_while_the_pushing_cell_runs(k: Kernel, tmp_path: pathlib.Path) -> None:
    flag = tmp_path / "stop"
    port = int(k.run("""
import nbws
busy_server = nbws.start_server(app=nbws.App())
busy = nbws.LivePlot("busy", series=["loss"], server=busy_server)
print(busy_server.port)
""").strip())
    cell = k.start(f"""
import os, time
step, deadline = 0, time.monotonic() + 60
while not os.path.exists({str(flag)!r}) and time.monotonic() < deadline:  # a busy cell, pushing
    for _ in range(1000):
        busy.push(step, loss=1 / (step + 1))
        step += 1
    time.sleep(0)  # a training step's I/O or numpy lets other threads run now and then (see README, known limits)
print("pushed", step)
""")
    try:
        with connect(f"ws://127.0.0.1:{port}/live/busy/ws", max_size=None) as ws:
            for _ in range(10):  # live frames flow: the cell is pushing
                ws.recv(timeout=30)
            started = time.monotonic()
            answer = ask(ws, {"id": 5, "x0": 0, "x1": 1e12, "width": 1000, "smooth": 0.9}, 30)
            latency = time.monotonic() - started
            header = answer[0][2]
            assert header[0] == 5.0 and header[5] > 0 and header[7] == header[5]  # points in view, EMA count
    finally:
        flag.touch()
    text, reply = k.finish(cell, 90)
    assert reply["status"] == "ok" and text.startswith("pushed")
    assert int(text.split()[1]) >= header[5]  # the cell was still pushing after the answer came
    print(f"view answered in {latency * 1e3:.1f} ms while the cell pushed")
    k.run("busy_server.stop()")
