"""Rows for the instructor: a pandas DataFrame when pandas is installed, else
a list of dicts (the same columns)."""

from __future__ import annotations

from typing import Any, Union

__all__ = ["Table", "table"]

Table = Union[list[dict[str, Any]], Any]
"""A pandas DataFrame, or a list of dicts without pandas."""


def table(rows: list[dict[str, Any]], columns: list[str]) -> Table:
    """``rows`` as a DataFrame with ``columns`` (in that order), or as the list."""
    try:
        import pandas  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=columns)
