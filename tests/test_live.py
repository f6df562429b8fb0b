"""Live plots: binary frames, batching, history for late joiners, bounded
queues for slow pages, and pushes from a busy thread."""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
from array import array
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect

import nbws
from nbws.live import decode_points, downsample, encode_points
from tests.conftest import run, wait_for_condition
from tests.test_limits import RawWebSocket


def test_frames_round_trip() -> None:
    frame = encode_points(1, array("d", [0, 1, 2]), array("d", [5, 6, 7])) + encode_points(0, array("d", [9]),
                                                                                           array("d", [-1]))
    assert decode_points(frame) == [(1, [0.0, 1.0, 2.0], [5.0, 6.0, 7.0]), (0, [9.0], [-1.0])]


def test_downsample_keeps_extremes_and_the_bound() -> None:
    xs = array("d", range(100_000))
    ys = array("d", ((i * 7919) % 1000 for i in range(100_000)))
    ys[54321] = 5000.0
    dx, dy = downsample(xs, ys, 1000)
    assert len(dx) <= 1001 and max(dy) == 5000.0 and min(dy) == 0.0 and dx[-1] == 99_999
    assert list(dx) == sorted(dx)


async def read_points(ws: ClientConnection, until: int,
                      seconds: float = 20) -> tuple[dict[str, Any], list[tuple[int, float, float]]]:
    """Read a plot's page socket until ``until`` points came: (meta, points)."""
    meta: dict[str, Any] = {}
    points: list[tuple[int, float, float]] = []
    deadline = time.monotonic() + seconds
    while len(points) < until:
        message = await asyncio.wait_for(ws.recv(), max(0.1, deadline - time.monotonic()))
        if isinstance(message, str):
            meta = json.loads(message)["data"]
        else:
            for series, xs, ys in decode_points(message):
                points.extend((series, x, y) for x, y in zip(xs, ys, strict=True))
    return meta, points


def test_pushed_points_reach_a_page_in_order() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("training", series=["loss", "val_loss"], server=server)
        # the page is subscribed once its handshake is done (the I/O thread does both)
        async with ws_connect(server.ws_url + "live/training/ws") as ws:
            for step in range(1000):
                plot.push(step, loss=1 / (step + 1))
                if step % 100 == 0:
                    plot.push(step, val_loss=2 / (step + 1))
            meta, points = await read_points(ws, 1010)
        assert meta["series"] == ["loss", "val_loss"]
        loss = [(x, y) for s, x, y in points if s == 0]
        assert loss == [(float(i), 1 / (i + 1)) for i in range(1000)]
        assert [x for s, x, _ in points if s == 1] == [float(i) for i in range(0, 1000, 100)]
        assert plot.frames_sent < 1000  # batched, not one frame per point

    run(main)


def read_frame(frame: bytes) -> list[tuple[int, int, list[float], list[float]]]:
    """The chunks of a live-plot frame as the README describes them: a 12-byte
    header (b"NBLP", u8 version, u8 kind, u16 series, u32 count) then count
    float64 xs and count float64 ys; (kind, series, xs, ys) each."""
    chunks = []
    pos = 0
    while pos < len(frame):
        magic, version, kind, series, count = struct.unpack_from("<4sBBHI", frame, pos)
        assert magic == b"NBLP" and version == 1, frame[pos:pos + 12]
        pos += 12
        xs = list(struct.unpack_from(f"<{count}d", frame, pos))
        ys = list(struct.unpack_from(f"<{count}d", frame, pos + 8 * count))
        pos += 16 * count
        chunks.append((kind, series, xs, ys))
    assert pos == len(frame)
    return chunks


def test_a_late_joiner_gets_the_history_then_live_points() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("late", series=["y"], server=server)
        plot.push_many(list(range(500)), [float(i) for i in range(500)])
        await wait_for_condition(lambda: plot.points == 500)
        async with ws_connect(server.ws_url + "live/late/ws") as ws:
            assert json.loads(await asyncio.wait_for(ws.recv(), 10))["data"]["series"] == ["y"]
            # the history: one frame holding exactly the 500 points pushed before the page joined
            history = read_frame(await asyncio.wait_for(ws.recv(), 10))  # type: ignore[arg-type]
            assert [(kind, series) for kind, series, _, _ in history] == [(0, 0)]
            assert history[0][2] == [float(i) for i in range(500)]
            # then live frames, each holding only points pushed after the page joined
            plot.push_many(list(range(500, 600)), [float(i) for i in range(500, 600)])
            live: list[float] = []
            for _ in range(100):
                if len(live) >= 100:
                    break
                for kind, series, xs, _ in read_frame(await asyncio.wait_for(ws.recv(), 10)):  # type: ignore[arg-type]
                    assert (kind, series) == (0, 0)
                    live.extend(xs)
            assert live == [float(i) for i in range(500, 600)]
            assert plot.frames_sent >= 1

    run(main)


def test_history_is_bounded_and_downsampled_for_joiners() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("big", series=["y"], server=server, max_points=10_000, history_points=1000)
        for chunk in range(5):
            plot.push_many(range(chunk * 10_000, (chunk + 1) * 10_000), [1.0] * 10_000)
            assert plot.flush(10)  # the I/O thread took the chunk
        assert plot.points <= 11_000
        async with ws_connect(server.ws_url + "live/big/ws") as ws:
            await ws.recv()  # meta
            history = decode_points(await asyncio.wait_for(ws.recv(), 10))
        assert 0 < len(history[0][1]) <= 1001
        assert history[0][1][-1] == 49_999.0  # the newest points are kept

    run(main)


def test_a_slow_page_skips_batches_and_cannot_grow_memory() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("slow", series=["y"], server=server, client_buffer=256 * 1024, fps=60)
        peer = await asyncio.to_thread(RawWebSocket, server.port, "/live/slow/ws", 4096)
        await wait_for_condition(lambda: len(plot.pages) == 1)  # just after the 101, on the I/O thread
        peak = 0
        for _ in range(60):  # about a second of pushing while the page never reads
            plot.push_many(range(20_000), [0.5] * 20_000)
            await asyncio.sleep(1 / 60)
            peak = max(peak, *(page.unsent for page in plot.pages))
        assert plot.batches_skipped > 0
        # within client_buffer, or a single frame sent while the page's queue was empty
        assert peak <= max(256 * 1024, plot.largest_frame)
        peer.close()

    run(main)


def test_pushes_from_a_busy_thread_flow_without_the_handler_loop() -> None:
    server = nbws.start_server(app=nbws.App())
    plot = nbws.LivePlot("busy", series=["y"], server=server)
    got: list[tuple[int, float, float]] = []

    subscribed = threading.Event()

    async def read() -> None:
        async with ws_connect(server.ws_url + "live/busy/ws") as ws:
            subscribed.set()
            got.extend((await read_points(ws, 300))[1])

    reader = threading.Thread(target=lambda: asyncio.run(read()))
    reader.start()
    assert subscribed.wait(10)  # this thread is "a busy cell": it never services handlers
    for i in range(300):
        plot.push(i, y=i * 0.5)
        time.sleep(0.002)
    reader.join(timeout=20)
    assert [x for _, x, _ in got] == [float(i) for i in range(300)]


def test_bad_series_names_are_refused() -> None:
    server = nbws.start_server(app=nbws.App())
    plot = nbws.LivePlot("names", series=["a"], server=server)
    try:
        plot.push(1, b=2)
    except ValueError as exc:
        assert "unknown series 'b'" in str(exc)
    else:
        raise AssertionError("an unknown series must raise")


def test_plot_page_is_served_by_the_io_thread() -> None:
    from tests.conftest import http_request

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("page", series=["y"], server=server)
        # the page was installed on the I/O thread before this request could arrive there
        status, _, body = await http_request(server.port, path="/live/page/")
        assert status == 200 and b"liveplot" in body and plot.url.endswith("/live/page/")
        bundle = plot._repr_mimebundle_()
        assert "<iframe" in bundle["text/html"]

    run(main)


def test_channel_all_delivers_every_value_in_order() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        channel = server.channel("events", policy="all")
        async with ws_connect(server.ws_url + "_nbws/channel/events") as ws:
            channel.send({"n": 1})
            channel.send("two")
            channel.send(b"\x03")
            assert [await asyncio.wait_for(ws.recv(), 10) for _ in range(3)] == ['{"n": 1}', "two", b"\x03"]
        assert server.channel("events", policy="all") is channel

    run(main)


def test_channel_latest_gives_a_slow_page_only_the_newest_value() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        channel = server.channel("frames", policy="latest")
        peer = await asyncio.to_thread(RawWebSocket, server.port, "/_nbws/channel/frames", 4096)
        for i in range(50):
            channel.send(bytes([i]) * 200_000)  # the page is not reading
            await asyncio.sleep(0.005)
        await wait_for_condition(lambda: channel.skipped > 0)
        (page,) = channel.pages
        assert page.unsent <= 2 * 200_000 + 1024  # bounded: never a backlog of frames
        peer.sock.settimeout(5)
        # now the page reads: it ends with the newest value, having skipped most
        seen: list[int] = []
        deadline = time.monotonic() + 10
        while (not seen or seen[-1] != 49) and time.monotonic() < deadline:
            peer.proto.receive_data(peer.sock.recv(1 << 20))
            for event in peer.proto.events_received():
                if getattr(event, "fin", False) and len(event.data) == 200_000:
                    seen.append(event.data[0])
        assert seen[-1] == 49 and len(seen) < 50
        peer.close()

    run(main)


def test_channel_latest_greets_a_new_page_with_the_current_value() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        server.channel("state").send({"step": 7})  # reaches the I/O thread before the page can
        async with ws_connect(server.ws_url + "_nbws/channel/state") as ws:
            assert await asyncio.wait_for(ws.recv(), 10) == '{"step": 7}'

    run(main)


def test_figure_stream_sends_png_frames() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        fig, ax = plt.subplots(figsize=(3, 2))
        stream = nbws.FigureStream(fig, name="fig1", server=server)
        async with ws_connect(server.ws_url + "_nbws/channel/fig1") as ws:
            ax.plot([0, 1, 2], [0, 1, 4])
            size = stream.update()
            png = await asyncio.wait_for(ws.recv(), 10)
            assert isinstance(png, bytes) and png.startswith(b"\x89PNG") and len(png) == size
        assert stream.url.endswith("/live/fig1/") and "<iframe" in stream._repr_mimebundle_()["text/html"]
        plt.close(fig)

    run(main)


def test_a_dashboard_refuses_items_on_two_servers_and_names_what_to_do() -> None:
    async def main() -> None:
        a, b = nbws.start_server(app=nbws.App()), nbws.start_server(app=nbws.App())
        with pytest.raises(ValueError, match="share one server"):
            nbws.Dashboard([nbws.LivePlot("on-a", server=a), nbws.LivePlot("on-b", server=b)])
        with pytest.raises(ValueError, match="at least one"):
            nbws.Dashboard([])

    run(main)
