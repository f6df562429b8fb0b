"""Saved runs (nbws/live/runs.py, LivePlot.save / load / compare): CSV and
Parquet round trips, and an overlay reaching a page that is already open."""

from __future__ import annotations

import asyncio
import json
import math
import pathlib

import numpy
import pytest
from websockets.asyncio.client import connect as ws_connect

import nbws
from nbws.live.frames import decode_points
from tests.conftest import run
from tests.test_export import get, rows


def fill(plot: nbws.LivePlot) -> None:
    for step in range(300):
        plot.push(step, loss=1 / (step + 1), acc=step / 300)
    plot.push(300, loss=math.nan)  # a gap survives too
    assert plot.flush(10)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_saved_run_loads_back_with_every_point_exactly(tmp_path: pathlib.Path, suffix: str) -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        plot = nbws.LivePlot("run1", series=["loss", "acc"], server=server)
        fill(plot)
        path = tmp_path / f"run1{suffix}"
        plot.save(path)
        loaded = nbws.LivePlot.load(path, server=server)
        assert loaded.name == "run1" and loaded.url.endswith("/live/run1/")
        assert loaded.series == ["loss", "acc"] and loaded.points == plot.points == 601
        _, kept = loaded._endpoint.io.call(loaded._snapshot, 5)
        _, saved = plot._endpoint.io.call(plot._snapshot, 5)
        assert [list(xs) for xs, _ in kept] == [list(xs) for xs, _ in saved]
        ys = list(kept[0][1])
        assert ys[:300] == [1 / (s + 1) for s in range(300)] and math.isnan(ys[300])

    run(main)


def test_loading_a_file_that_is_not_a_run_says_what_is_wrong(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ValueError, match=r"not a saved run.*series,x,y"):
        nbws.LivePlot.load(path)


def test_compare_overlays_an_older_run_on_a_page_already_open(tmp_path: pathlib.Path) -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        old = nbws.LivePlot("old", series=["loss", "acc"], server=server)
        fill(old)
        old.save(tmp_path / "baseline.csv")
        new = nbws.LivePlot("new", series=["loss"], server=server)
        new.push(0, loss=2.0)
        assert new.flush(10)
        async with ws_connect(server.ws_url + "live/new/ws") as ws:
            assert json.loads(await ws.recv())["data"]["series"] == ["loss"]
            await ws.recv()  # the history
            added = await asyncio.to_thread(new.compare, tmp_path / "baseline.csv")
            assert added == ["loss (baseline)", "acc (baseline)"]
            meta = json.loads(await ws.recv())["data"]
            assert meta["series"] == ["loss", "loss (baseline)", "acc (baseline)"]
            assert meta["overlay"] == {"1": 0, "2": 2}  # dashed in the colour of "loss"; "acc" has its own
            chunks = decode_points(await ws.recv())
            assert [(s, len(xs)) for s, xs, _ in chunks] == [(1, 301), (2, 300)]
        assert new.compare(old) == ["loss (old)", "acc (old)"]  # a plot works as well as a file

    run(main)


def test_an_overlay_is_not_trimmed_by_max_points() -> None:
    async def main() -> None:
        server = nbws.start_server(app=nbws.App())
        try:
            old = nbws.LivePlot("old-run", series=["loss"], server=server)
            old.push_many(numpy.arange(600.0), numpy.ones(600), series="loss")
            assert old.flush(30)
            new = nbws.LivePlot("new-run", series=["loss"], server=server, max_points=1000)
            new.push_many(numpy.arange(300.0), numpy.zeros(300), series="loss")
            assert new.flush(30)
            assert await asyncio.to_thread(new.compare, old) == ["loss (old-run)"]
            new.push_many(numpy.arange(300.0, 1000.0), numpy.zeros(700), series="loss")
            assert new.flush(30)
            status, _, body = await asyncio.to_thread(get, server.port, "/live/new-run/data.csv")
            assert status == 200
            kept = [(name, float(x)) for name, x, _ in rows(body)]
            overlay = [x for name, x in kept if name == "loss (old-run)"]
            assert overlay == [float(i) for i in range(600)]  # whole (before: 375 of 600 left)
            assert sum(1 for name, _ in kept if name == "loss") == 1000  # max_points bounds the live run
        finally:
            server.stop()

    run(main, 60)
