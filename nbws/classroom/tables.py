"""Rows for the instructor: a pandas DataFrame when pandas is installed, else
a list of dicts (the same columns)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Union

__all__ = ["Table", "table"]

Table = Union[list[dict[str, Any]], Any]
"""A pandas DataFrame, or a list of dicts without pandas."""


TIMES = ("time", "last_seen")
"""Columns kept as Unix times inside the room and shown as local datetimes."""


def table(rows: list[dict[str, Any]], columns: list[str]) -> Table:
    """``rows`` as a DataFrame with ``columns`` (in that order), or as the
    list; Unix times (:data:`TIMES`) become local ``datetime`` values."""
    rows = [{k: datetime.fromtimestamp(v) if k in TIMES and isinstance(v, (int, float)) else v
             for k, v in row.items()} for row in rows]
    try:
        import pandas  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return rows
    return pandas.DataFrame(rows, columns=columns)
