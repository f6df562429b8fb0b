"""Dashboards: several live plots, figure streams and channels on one page."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..boundary import submit
from ..reach import link_html, page_url
from .channel import Channel
from .embed import themed_frame_html
from .figure import FigureStream
from .plot import LivePlot

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["Dashboard"]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<style>html,body{{margin:0;font:13px system-ui,sans-serif}}
h1{{font-size:15px;margin:8px 10px 0}}
#grid{{display:grid;grid-template-columns:repeat({columns},minmax(0,1fr));grid-auto-rows:{height}px;gap:8px;padding:8px}}
#grid>div{{min-width:0;min-height:0;overflow:hidden;border-radius:4px}}
#grid img{{max-width:100%;max-height:100%;display:block;margin:auto}}
#grid pre{{margin:0;padding:8px;white-space:pre-wrap;overflow:auto;height:100%;box-sizing:border-box}}
#grid .label{{font-weight:bold;padding:4px 8px}}</style></head>
<body><h1>{title}</h1><div id="grid"></div>
<script type="module">
import {{ connect }} from "../../_nbws/nbws.js";
import {{ liveplot, LinkGroup, resolveTheme, THEMES }} from "../../_nbws/chart.js";
const config = {config};
const theme = config.theme !== "auto" ? config.theme : new URLSearchParams(location.search).get("theme");
const colors = THEMES[resolveTheme(theme)];
document.body.style.background = colors.bg;
document.body.style.color = colors.text;
const link = config.shared_x ? new LinkGroup() : undefined;
const grid = document.getElementById("grid");
window.charts = [];
window.cells = [];
for (const item of config.items) {{
  const cell = document.createElement("div");
  cell.style.border = "1px solid " + colors.grid;
  grid.append(cell);
  window.cells.push(cell);
  if (item.kind === "plot") {{
    window.charts.push(liveplot(cell, {{ path: item.path, theme, link }}));
    continue;
  }}
  const label = document.createElement("div");
  label.className = "label";
  label.textContent = item.name;
  cell.append(label);
  const conn = connect({{ path: item.path }});
  if (item.kind === "figure") {{
    const img = document.createElement("img");
    img.alt = item.name;
    cell.append(img);
    conn.on("binary", (buf) => {{
      const url = URL.createObjectURL(new Blob([buf], {{ type: "image/png" }}));
      img.onload = () => URL.revokeObjectURL(url);
      img.src = url;
    }});
  }} else {{
    const pre = document.createElement("pre");
    cell.append(pre);
    conn.on("message", (text) => {{
      try {{ pre.textContent = JSON.stringify(JSON.parse(text), null, 2); }} catch {{ pre.textContent = text; }}
    }});
    conn.on("binary", (buf) => {{ pre.textContent = buf.byteLength + " bytes"; }});
  }}
}}
</script></body></html>
"""


class Dashboard:
    """Several live plots, figure streams and channels on one page, served
    and embedded like a single plot: ``nbws.Dashboard([loss_plot, lr_plot,
    fig_stream], columns=2)``.

    Every item keeps its own page and socket; the dashboard's page at
    ``/live/<name>/`` connects to each of them, so it works while a cell is
    busy too. Channels show their newest value (text or JSON). With
    ``shared_x=True`` the plots share their x axis: zooming or panning one
    moves all, a double-click makes all follow again, and while following they
    show the union of their x ranges.

    Args:
        items: :class:`LivePlot`, :class:`FigureStream` and :class:`Channel`
            objects, all on one server (the shared one, by default).
        columns: cells per row.
        shared_x: link the plots' x axes.
        name: the page's name (default ``dashboard-<n>``).
        title: the page's heading (default: the name).
        height: each row's height in CSS pixels.
        theme: ``"auto"``, ``"light"`` or ``"dark"``, as for :class:`LivePlot`.
    """

    _count = 0

    def __init__(self, items: Sequence[LivePlot | FigureStream | Channel], columns: int = 2, shared_x: bool = False,
                 name: str | None = None, title: str | None = None, height: int = 320, theme: str = "auto") -> None:
        if not items:
            raise ValueError("a dashboard needs at least one plot, figure stream or channel")
        if columns < 1:
            raise ValueError("columns must be at least 1")
        if theme not in ("auto", "light", "dark"):
            raise ValueError(f"theme must be 'auto', 'light' or 'dark', not {theme!r}")
        servers = {id(item.server) for item in items}
        if len(servers) != 1:
            raise ValueError("a dashboard's items must share one server (pass the same server=, or none for the "
                             "shared one)")
        Dashboard._count += 1
        self.name = name or f"dashboard-{Dashboard._count}"
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.name):
            raise ValueError(f"a dashboard name may use letters, digits, '_', '.', '-', not {self.name!r}")
        self.items = list(items)
        self.columns = columns
        self.shared_x = shared_x
        self.title = title or self.name
        self.height = height
        self.theme = theme
        self.server: Server = items[0].server
        config = {"items": [_describe(item) for item in self.items], "shared_x": shared_x, "theme": theme}
        page = PAGE.format(title=html.escape(self.title), columns=int(columns), height=int(height),
                           config=json.dumps(config).replace("</", "<\\/")).encode()
        self._path = f"/live/{self.name}/"
        endpoint = self.server._endpoint
        assert endpoint is not None
        submit(lambda: endpoint.routes.add_page(self._path, page, "text/html; charset=utf-8"))

    @property
    def url(self) -> str:
        """The dashboard's page, reachable from the user's browser."""
        return page_url(self.server, self._path)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        rows = -(-len(self.items) // self.columns)
        height = rows * (self.height + 8) + 48
        return {"text/plain": f"Dashboard {self.name!r} at {self.url}",
                "text/html": (themed_frame_html(self.server, self._path, height, self.theme)
                              + '<div style="font:12px system-ui">' + link_html(self.server, self._path) + "</div>")}


def _describe(item: LivePlot | FigureStream | Channel) -> dict[str, str]:
    if isinstance(item, LivePlot):
        return {"kind": "plot", "path": f"live/{item.name}/ws", "name": item.name}
    if isinstance(item, FigureStream):
        return {"kind": "figure", "path": item.channel.path.lstrip("/"), "name": item.name}
    if isinstance(item, Channel):
        return {"kind": "channel", "path": item.path.lstrip("/"), "name": item.name}
    raise TypeError(f"a dashboard shows LivePlot, FigureStream and Channel objects, not {type(item).__name__}")
