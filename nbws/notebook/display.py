"""How a server shows itself in a notebook: the HTML panel and the text.

The URL it shows comes from :mod:`nbws.reach`. Runs on the handler plane's
thread (display calls), reading only.
"""

from __future__ import annotations

import html
import time
from typing import TYPE_CHECKING, Any

from ..reach import in_colab, link_html

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["server_html", "server_text", "stats"]


def _uptime(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds // 60 % 60} min"


def stats(server: Server) -> dict[str, Any]:
    """Current numbers of a server, for display. A stopped server's uptime
    is frozen at the time it ran. Thread-safe (reads only)."""
    end = server.stopped_at if server.stopped_at is not None else time.time()
    capacity = server.connection_stats()
    return {
        "name": server.name or "",
        "url": server.url,
        "local_url": server.local_url,
        "state": "running" if server.running else "stopped",
        "connections": len(server.connections),
        "messages_in": server.messages_in,
        "messages_out": server.messages_out,
        "uptime": _uptime(end - server.started_at),
        "reclaimed": capacity.reclaimed,
        "refused": capacity.refused,
    }


def _capacity_note(s: dict[str, Any]) -> str:
    """'' normally; how many connections were reclaimed / refused at the cap."""
    if not s["reclaimed"] and not s["refused"]:
        return ""
    return f"{s['reclaimed']} reclaimed / {s['refused']} refused at the connection cap"


def server_text(server: Server) -> str:
    """The plain-text view of a server. Thread-safe (reads only)."""
    s = stats(server)
    name = f" {s['name']!r}" if s["name"] else ""
    note = _capacity_note(s)
    tail = f", {note}" if note else ""
    if s["state"] == "stopped":
        return (f"nbws server{name} stopped (was at {s['url']}) — {s['messages_in']} in / "
                f"{s['messages_out']} out, ran {s['uptime']}{tail}")
    return (f"nbws server{name} running at {s['url']} — {s['connections']} connection(s), "
            f"{s['messages_in']} in / {s['messages_out']} out, up {s['uptime']}{tail}")


def server_html(server: Server) -> str:
    """The HTML panel of a server: a link that opens from the user's browser
    while it runs; a stopped server shows its old address as plain text, not a
    link. Thread-safe (reads only)."""
    s = stats(server)
    name = f"<b>{html.escape(s['name'])}</b> " if s["name"] else ""
    note = _capacity_note(s)
    tail = " · " + html.escape(note) if note else ""
    box = ('<div class="nbws-server" style="font:13px system-ui,sans-serif;border:1px solid #ddd;'
           'border-radius:4px;padding:6px 10px;display:inline-block">')
    if s["state"] == "stopped":
        return (
            f'{box}{name}<span style="color:#999">●</span> stopped · '
            f'<span style="color:#999">was {html.escape(s["url"])}</span><br>'
            f'<span style="color:#555">{s["messages_in"]} in / {s["messages_out"]} out · '
            f'ran {s["uptime"]}{tail}</span></div>'
        )
    link = link_html(server, "/", None if in_colab() else s["url"])
    return (
        f'{box}{name}<span style="color:#2a7">●</span> running · '
        f"{link}<br>"
        f'<span style="color:#555">{s["connections"]} connection(s) · {s["messages_in"]} in / '
        f'{s["messages_out"]} out · up {s["uptime"]}{tail}</span></div>'
    )
