"""Live data from a running cell to pages, split by feature.

* :mod:`.plot` — :class:`LivePlot`: points pushed from any thread, sent by
  the I/O thread at most ``fps`` times a second;
* :mod:`.channel` — :class:`Channel`: a named stream, latest-wins or all;
* :mod:`.figure` — :class:`FigureStream`: a matplotlib figure as PNG frames;
* :mod:`.dashboard` — :class:`Dashboard`: several of them on one page;
* :mod:`.runs` — saved runs (CSV, Parquet); :mod:`.embed` — notebook output;
* :mod:`.frames` — the binary points format and M4 decimation (pure).

Their pages and WebSockets are served by the I/O thread (registered in the
server's route table), so browsers join and update while a cell is busy.
"""

from __future__ import annotations

from ..reach import page_url
from .channel import Channel
from .dashboard import Dashboard
from .figure import FigureStream
from .frames import decimate, decode_points, downsample, encode_points, m4
from .plot import LivePlot
from .shared import PageInfo

__all__ = ["LivePlot", "Dashboard", "Channel", "PageInfo", "FigureStream", "encode_points", "decode_points",
           "downsample", "decimate", "m4", "page_url"]
