"""Figure streams: a matplotlib figure on a page, as PNG frames, latest wins."""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from ..boundary import submit
from ..reach import frame_html, page_url
from .channel import Channel
from .shared import shared_server

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["FigureStream"]


FIGURE_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{margin:0;font:13px system-ui,sans-serif}}img{{max-width:100%;display:block}}</style></head>
<body><img id="figure" alt="{title}">
<script type="module">
import {{ connect }} from "../../_nbws/nbws.js";
const img = document.getElementById("figure");
window.frames_seen = 0;
const conn = connect({{ path: {path} }});
window.conn = conn;
conn.on("binary", (buf) => {{
  const url = URL.createObjectURL(new Blob([buf], {{ type: "image/png" }}));
  img.onload = () => URL.revokeObjectURL(url);
  img.src = url;
  window.frames_seen += 1;
}});
</script></body></html>
"""


class FigureStream:
    """Stream a matplotlib figure to a page as PNG frames, latest wins.

    ``stream = nbws.FigureStream(fig)``, then ``stream.update()`` whenever the
    figure changed (e.g. every N steps of a loop): the figure is rendered with
    the Agg canvas (no GUI needed) and pages at :attr:`url` show the newest
    frame; a slow page skips frames instead of queueing them.
    """

    def __init__(self, fig: Any, name: str | None = None, server: Server | None = None, dpi: float | None = None) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        self.fig = fig
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)  # attaches an Agg canvas; works with any backend
        self.name = name or f"figure-{id(fig):x}"
        self.dpi = dpi
        self.server = server if server is not None else shared_server()
        self.channel = Channel(self.server, self.name, policy="latest")
        page = FIGURE_PAGE.format(title=html.escape(self.name),
                                  path=json.dumps(f"_nbws/channel/{self.name}")).encode()
        endpoint = self.server._endpoint
        assert endpoint is not None
        submit(lambda: endpoint.routes.add_page(f"/live/{self.name}/", page, "text/html; charset=utf-8"))

    def update(self) -> int:
        """Render the figure now and send it; returns the PNG's size in bytes.
        Runs on the calling thread (rendering is the caller's work)."""
        import io

        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=self.dpi)
        png = buffer.getvalue()
        self.channel.send(png)
        return len(png)

    @property
    def url(self) -> str:
        """The figure's page, reachable from the user's browser."""
        return page_url(self.server, f"/live/{self.name}/")

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {"text/plain": f"FigureStream {self.name!r} at {self.url}",
                "text/html": frame_html(self.server, f"/live/{self.name}/", 480)}
