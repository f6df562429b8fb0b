"""A plot's CSV over HTTP (nbws/live/export.py): every full-resolution point
in the asked window exactly once, floats that read back exactly, 400 on a
bad query, the token checked like the page's, streamed in bounded memory
from the live points (a stalled download holds little, pins nothing and is
dropped), a few downloads of a plot at once."""

from __future__ import annotations

import asyncio
import csv
import http.client
import io
import math
import random
import socket
import time
import tracemalloc
from typing import Any

import pytest

import nbws
from nbws.live.export import MAX_STREAMS, PART_BYTES, csv_rows, series_names, want
from nbws.live.store import Store
from tests.conftest import run


def get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """GET ``path`` (blocking; chunked bodies decoded)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def rows(body: bytes) -> list[tuple[str, str, str]]:
    reader = csv.reader(io.StringIO(body.decode()))
    assert next(reader) == ["series", "x", "y"]
    return [(r[0], r[1], r[2]) for r in reader]


def with_plot(fill: Any, check: Any, token: str | None = None) -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App(), **({"token": token} if token is not None else {}))
        try:
            plot = nbws.LivePlot("run", series=["loss", "odd, name"], server=server)
            fill(plot)
            assert plot.flush(30)
            await asyncio.to_thread(check, server.port)
        finally:
            server.stop()

    run(main, 120)


def test_the_csv_of_a_window_holds_every_point_in_it_once_and_exactly() -> None:
    rng = random.Random(1)
    xs = [i / 3 for i in range(30_000)]
    ys = [rng.choice([rng.uniform(-1, 1) * 10 ** rng.randint(-300, 300), 0.1, math.nan]) for _ in xs]
    back = [rng.uniform(0, 10_000) for _ in range(5000)]  # x not sorted

    def fill(plot: nbws.LivePlot) -> None:
        plot.push_many(xs, ys, series="loss")
        plot.push_many(back, list(range(5000)), series="odd, name")

    def check(port: int) -> None:
        status, headers, body = get(port, "/live/run/data.csv?x0=1000.5&x1=5000")
        assert status == 200 and headers["content-type"].startswith("text/csv")
        assert headers["content-disposition"] == 'attachment; filename="run.csv"'
        assert headers.get("transfer-encoding") == "chunked"
        got = rows(body)
        expected = [("loss", x, y) for x, y in zip(xs, ys, strict=True) if 1000.5 <= x <= 5000]
        expected += [("odd, name", x, float(y)) for y, x in enumerate(back) if 1000.5 <= x <= 5000]
        assert [(s, float(x), repr(float(y))) for s, x, y in got] == [(s, x, repr(y)) for s, x, y in expected]
        status, _, body = get(port, "/live/run/data.csv?series=odd,%20name")  # one parameter, one name
        assert status == 200 and len(rows(body)) == len(back) and rows(body)[0][0] == "odd, name"
        status, _, body = get(port, "/live/run/data.csv?series=odd,%20name&series=loss")
        assert status == 200 and [r[0] for r in rows(body)] == ["odd, name"] * len(back) + ["loss"] * len(xs)
        status, _, body = get(port, "/live/run/data.csv?series=loss,odd")
        assert status == 400 and b"unknown series 'loss,odd'" in body
        status, _, body = get(port, "/live/run/data.csv?series=loss")
        assert status == 200 and len(rows(body)) == len(xs)
        status, _, body = get(port, "/live/run/data.csv")
        assert len(rows(body)) == len(xs) + len(back)

    with_plot(fill, check)


@pytest.mark.parametrize("query", ["x0=abc", "x0=5&x1=1", "x1=nan", "x0=inf", "series=nope"])
def test_a_bad_csv_query_is_a_400_saying_what_is_wrong(query: str) -> None:
    def check(port: int) -> None:
        status, _, body = get(port, "/live/run/data.csv?" + query)
        assert status == 400 and body.startswith(b"Bad Request: ") and len(body) > 20

    with_plot(lambda plot: plot.push(1, loss=1), check)


def test_the_csv_needs_the_token_the_page_needs() -> None:
    def check(port: int) -> None:
        assert get(port, "/live/run/data.csv")[0] == 403
        assert get(port, "/live/run/")[0] == 403
        status, _, body = get(port, "/live/run/data.csv?token=s3cret")
        assert status == 200 and rows(body) == [("loss", "1.0", "2.0")]

    with_plot(lambda plot: plot.push(1, loss=2), check, token="s3cret")


def test_a_large_csv_streams_in_bounded_memory() -> None:
    n = 1_000_000

    def fill(plot: nbws.LivePlot) -> None:
        plot.push_many(range(n), [i * 0.25 for i in range(n)], series="loss")

    def check(port: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        tracemalloc.start()
        try:
            conn.request("GET", "/live/run/data.csv")
            response = conn.getresponse()
            size, lines, tail = 0, 0, b""
            for _ in range(100_000):  # bounded: ~30 MB in 64 KiB reads
                part = response.read(65536)
                if not part:
                    break
                size += len(part)
                lines += part.count(b"\n")
                tail = (tail + part)[-100:]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
            conn.close()
        assert lines == n + 1 and tail.endswith(f"loss,{n - 1.0!r},{(n - 1) * 0.25!r}\n".encode())
        assert size > 20_000_000 and peak < 8_000_000  # the body is never whole in memory

    with_plot(fill, check)


def test_a_window_whose_edges_are_points_holds_those_points() -> None:
    """x0 and x1 exactly on points (sorted x, and x that goes back): both are in."""
    xs = [float(i) for i in range(5000)]

    def fill(plot: nbws.LivePlot) -> None:
        plot.push_many(xs, [x * 2 for x in xs], series="loss")
        plot.push_many(xs[::-1], xs, series="odd, name")

    def check(port: int) -> None:
        status, _, body = get(port, "/live/run/data.csv?x0=1000&x1=2000")
        assert status == 200
        got = [(s, float(x)) for s, x, _ in rows(body)]
        assert got == [("loss", float(x)) for x in range(1000, 2001)] + [("odd, name", float(x))
                                                                          for x in range(2000, 999, -1)]

    with_plot(fill, check)


def stalled_download(port: int, path: str) -> socket.socket:
    """A client that asks for ``path`` with a 4 KiB receive buffer, reads the
    response head and then nothing more. Blocking."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(20)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    head = b""
    for _ in range(100):
        head += sock.recv(64)
        if b"\r\n\r\n" in head:
            break
    assert head.startswith(b"HTTP/1.1 200 ")
    return sock


def until_closed(server: nbws.Server, seconds: float = 20) -> None:
    """Wait (bounded) until the server holds no connection. Blocking."""
    deadline = time.monotonic() + seconds
    while server.connection_stats().open and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.connection_stats().open == 0, "the stalled download was not dropped"


def test_a_stalled_download_holds_little_and_is_dropped_after_stream_stall_timeout() -> None:
    """A client that stops reading a 1 M-row CSV (~30 MB): the server makes a
    part only when the socket took the last one, so what it holds meanwhile
    stays near send_buffer_size, and after stream_stall_timeout it drops the
    connection (the body cut short)."""
    n = 1_000_000

    async def main() -> None:
        server = nbws.start_server(app=nbws.App(), send_buffer_size=256 * 1024, stream_stall_timeout=2)
        try:
            plot = nbws.LivePlot("run", server=server)
            plot.push_many(range(n), [i * 0.25 for i in range(n)])
            assert plot.flush(30)

            def check() -> None:
                tracemalloc.start()
                try:
                    sock = stalled_download(server.port, "/live/run/data.csv")
                    started = time.monotonic()
                    until_closed(server)
                    stalled_for = time.monotonic() - started
                    _, peak = tracemalloc.get_traced_memory()
                finally:
                    tracemalloc.stop()
                try:
                    rest = b""
                    for _ in range(100_000):  # what the socket buffers held, then the end
                        part = sock.recv(1 << 16)
                        if not part:
                            break
                        rest += part
                except ConnectionResetError:
                    rest = b""
                finally:
                    sock.close()
                assert not rest.endswith(b"0\r\n\r\n")  # cut short: never the last chunk
                assert 1.5 < stalled_for < 15
                assert peak < 4_000_000, f"{peak / 1e6:.1f} MB held for a stalled download"

            await asyncio.to_thread(check)
        finally:
            server.stop()

    run(main, 120)


def test_a_stalled_download_pins_none_of_the_plots_buffers() -> None:
    """A download reads each part from the plot's live points: while it
    stalls the plot grows (its buffers move), and nothing of the old buffers
    is held for it (the old design's views kept ~20 MB alive)."""
    n = 1_000_000

    async def main() -> None:
        server = nbws.start_server(app=nbws.App(), send_buffer_size=256 * 1024, stream_stall_timeout=2)
        tracemalloc.start()
        try:
            plot = nbws.LivePlot("run", server=server, history_points=1000)
            plot.push_many(numpy_range(n), numpy_range(n))
            assert plot.flush(30)

            def check() -> tuple[int, int]:
                sock = stalled_download(server.port, "/live/run/data.csv")
                try:
                    plot.push_many(numpy_range(n, 2 * n), numpy_range(n, 2 * n))  # the columns grow: new buffers
                    assert plot.flush(30)
                    held = tracemalloc.get_traced_memory()[0]
                    until_closed(server)
                    return held, tracemalloc.get_traced_memory()[0]
                finally:
                    sock.close()

            held, released = await asyncio.to_thread(check)
            assert held - released < 4_000_000, f"{(held - released) / 1e6:.1f} MB held by a stalled download"
        finally:
            tracemalloc.stop()
            server.stop()

    run(main, 120)


def numpy_range(a: int, b: int | None = None) -> Any:
    numpy = pytest.importorskip("numpy")
    return numpy.arange(a, b, dtype=numpy.float64) if b is not None else numpy.arange(a, dtype=numpy.float64)


def test_at_most_a_few_downloads_of_a_plot_run_at_once() -> None:
    """The fifth download of one plot while four stall is a 429 saying so;
    once they are dropped a new one goes through."""

    async def main() -> None:
        server = nbws.start_server(app=nbws.App(), send_buffer_size=64 * 1024, stream_stall_timeout=2)
        try:
            plot = nbws.LivePlot("run", server=server)
            plot.push_many(numpy_range(300_000), numpy_range(300_000))
            assert plot.flush(30)

            def check() -> None:
                socks = [stalled_download(server.port, "/live/run/data.csv") for _ in range(MAX_STREAMS)]
                try:
                    status, headers, body = get(server.port, "/live/run/data.csv?x0=0&x1=10")
                    assert status == 429 and headers.get("retry-after") == "5"
                    assert b"4 CSV downloads of this plot are under way" in body
                    status, _, body = get(server.port, "/live/run/")
                    assert status == 200  # the page itself is not limited
                    until_closed(server)
                finally:
                    for sock in socks:
                        sock.close()
                status, _, body = get(server.port, "/live/run/data.csv?x0=0&x1=10")
                assert status == 200 and len(rows(body)) == 11

            await asyncio.to_thread(check)
        finally:
            server.stop()

    run(main, 120)


def test_the_body_is_made_in_short_parts_from_the_live_points() -> None:
    """csv_rows makes parts of a few ms of work (others' sockets are served
    between them), skips points dropped meanwhile and never writes points
    pushed after the request."""
    numpy = pytest.importorskip("numpy")
    store = Store(1, 10_000_000)
    n = 400_000
    store.series[0].append(numpy.arange(n, dtype=numpy.float64), numpy.zeros(n))
    wants = [want("y", store.series[0], -math.inf, math.inf, False)]
    parts = csv_rows(wants, -math.inf, math.inf)
    times, sizes = [], []
    body = [next(parts)]
    store.series[0].drop(1000)  # dropped after the request: skipped
    store.series[0].append(numpy.arange(n, 2 * n, dtype=numpy.float64), numpy.ones(n))  # pushed after: not written
    for _ in range(10_000):
        began = time.perf_counter()
        part = next(parts, None)
        times.append(time.perf_counter() - began)
        if part is None:
            break
        sizes.append(len(part))
        body.append(part)
    got = rows(b"".join(body))
    assert [float(x) for _, x, _ in got] == [float(i) for i in range(1000, n)]
    assert len(sizes) > 20 and max(sizes) < PART_BYTES + 64 * 1024
    assert sorted(times)[len(times) // 2] < 0.015  # p50 of a part's work: ~4 ms (a loaded machine adds some)


def test_series_parameters_name_one_series_each_or_list_names_the_older_way() -> None:
    names = ["a", "b", "a,b", "c, d"]
    assert series_names(["a,b"], names) == ["a,b"]  # a name always wins
    assert series_names(["c, d", "a"], names) == ["c, d", "a"]
    assert series_names(["b,a"], names) == ["b", "a"]  # not a name: the older comma-separated form
    assert series_names(["", "b"], names) == ["b"] and series_names([], names) == []
    with pytest.raises(ValueError, match="unknown series 'a,x'"):
        series_names(["a,x"], names)
