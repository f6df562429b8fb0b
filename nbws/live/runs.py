"""Saved runs: a plot's points on disk, as CSV or Parquet.

Both hold one row per point, ``series, x, y`` (the CSV a chart exports from
its page is the same format, so ``nbws.LivePlot.load`` reads either). Parquet
needs pyarrow (``pip install "nbws[parquet]"``); CSV needs nothing. Pure
functions on the caller's thread.
"""

from __future__ import annotations

import csv
import importlib
import os
from array import array
from collections.abc import Iterator
from typing import Any, TypeAlias

__all__ = ["read_run", "write_run", "Run"]

Run: TypeAlias = "tuple[list[str], list[tuple[array[float], array[float]]]]"
"""Series names, and each series' (xs, ys)."""


def _parquet(path: str | os.PathLike[str]) -> bool:
    return os.fspath(path).lower().endswith((".parquet", ".pq"))


def _pyarrow() -> Any:
    try:
        pyarrow = importlib.import_module("pyarrow")
        importlib.import_module("pyarrow.parquet")
    except ImportError:
        raise ImportError("saving or loading a run as Parquet needs pyarrow: pip install 'nbws[parquet]' "
                          "(or use a .csv path)") from None
    return pyarrow


def write_run(path: str | os.PathLike[str], names: list[str], data: list[tuple[array[float], array[float]]]) -> None:
    """Write a run: Parquet when ``path`` ends in ``.parquet`` (or ``.pq``), else CSV."""
    if _parquet(path):
        pa = _pyarrow()
        series = [name for name, (xs, _) in zip(names, data, strict=True) for _ in range(len(xs))]
        table = pa.table({
            "series": pa.array(series, pa.string()).dictionary_encode(),
            "x": pa.array(_concat([xs for xs, _ in data]), pa.float64()),
            "y": pa.array(_concat([ys for _, ys in data]), pa.float64()),
        })
        pa.parquet.write_table(table, os.fspath(path))
        return
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(["series", "x", "y"])
        for name, (xs, ys) in zip(names, data, strict=True):
            out.writerows((name, repr(x), repr(y)) for x, y in zip(xs, ys, strict=True))


def read_run(path: str | os.PathLike[str]) -> Run:
    """Read a run written by :func:`write_run` or exported from a chart's page:
    the series in the order they first appear, each with its points in file
    order."""
    names: list[str] = []
    data: dict[str, tuple[array[float], array[float]]] = {}
    for name, x, y in (_parquet_rows(path) if _parquet(path) else _csv_rows(path)):
        column = data.get(name)
        if column is None:
            names.append(name)
            column = data[name] = (array("d"), array("d"))
        column[0].append(float(x))
        column[1].append(float(y))
    return names, [data[n] for n in names]


def _csv_rows(path: str | os.PathLike[str]) -> Iterator[tuple[str, Any, Any]]:
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["series", "x", "y"]:
            raise ValueError(f"{os.fspath(path)!r} is not a saved run: its header is {header!r}, not series,x,y")
        for row in reader:
            if len(row) != 3:
                raise ValueError(f"{os.fspath(path)!r}, line {reader.line_num}: expected series,x,y, got {row!r}")
            yield row[0], row[1], row[2]


def _parquet_rows(path: str | os.PathLike[str]) -> Iterator[tuple[str, Any, Any]]:
    table = _pyarrow().parquet.read_table(os.fspath(path), columns=["series", "x", "y"])
    yield from zip(table.column("series").to_pylist(), table.column("x").to_pylist(),
                   table.column("y").to_pylist(), strict=True)


def _concat(parts: list[array[float]]) -> array[float]:
    out = array("d")
    for part in parts:
        out.extend(part)
    return out
