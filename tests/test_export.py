"""A plot's CSV over HTTP (nbws/live/export.py): every full-resolution point
in the asked window exactly once, floats that read back exactly, 400 on a
bad query, the token checked like the page's, streamed in bounded memory."""

from __future__ import annotations

import asyncio
import csv
import http.client
import io
import math
import random
import tracemalloc
from typing import Any

import pytest

import nbws
from nbws.live.export import series_names
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


def test_series_parameters_name_one_series_each_or_list_names_the_older_way() -> None:
    names = ["a", "b", "a,b", "c, d"]
    assert series_names(["a,b"], names) == ["a,b"]  # a name always wins
    assert series_names(["c, d", "a"], names) == ["c, d", "a"]
    assert series_names(["b,a"], names) == ["b", "a"]  # not a name: the older comma-separated form
    assert series_names(["", "b"], names) == ["b"] and series_names([], names) == []
    with pytest.raises(ValueError, match="unknown series 'a,x'"):
        series_names(["a,x"], names)
