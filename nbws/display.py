"""How a server shows itself in a notebook, and the URL a user should click.

Reachability: where the notebook's browser cannot reach the kernel's loopback
(JupyterHub, Binder, remote servers), URLs go through jupyter-server-proxy as
``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/``; ``NBWS_EXTERNAL_URL`` (a
template with ``{port}``, e.g. ``https://hub.example/user/ada/proxy/{port}/``)
or the server's ``external_url`` trait override the guess.
"""

from __future__ import annotations

import html
import importlib.util
import os
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from .server import Server

__all__ = ["external_url", "proxy_mode", "server_html", "server_text"]


def proxy_mode() -> bool:
    """True when the browser reaches this kernel through a proxy: an explicit
    ``NBWS_EXTERNAL_URL``, or JupyterHub/Binder with jupyter-server-proxy."""
    if os.environ.get("NBWS_EXTERNAL_URL"):
        return True
    return bool(os.environ.get("JUPYTERHUB_SERVICE_PREFIX")) and importlib.util.find_spec("jupyter_server_proxy") is not None


def external_url(port: int, template: str | None = None) -> str | None:
    """The URL (absolute, or absolute-path for the proxy) a browser should use
    for ``port``, or None when the loopback URL is fine."""
    template = template or os.environ.get("NBWS_EXTERNAL_URL")
    if template:
        url = template.format(port=port)
        return url if url.endswith("/") else url + "/"
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix and importlib.util.find_spec("jupyter_server_proxy") is not None:
        return f"{prefix.rstrip('/')}/proxy/{port}/"
    return None


def external_origin(url: str | None) -> str | None:
    """The origin of an absolute external URL (to allow it for WebSockets)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


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
    box = ('<div class="nbws-server" style="font:13px system-ui,sans-serif;border:1px solid #ddd;'
           'border-radius:4px;padding:6px 10px;display:inline-block">')
    if s["state"] == "stopped":
        return (
            f'{box}{name}<span style="color:#999">●</span> stopped · '
            f'<span style="color:#999">was {html.escape(s["url"])}</span><br>'
            f'<span style="color:#555">{s["messages_in"]} in / {s["messages_out"]} out · '
            f'ran {s["uptime"]}</span></div>'
        )
    url = html.escape(s["url"], quote=True)
    return (
        f'{box}{name}<span style="color:#2a7">●</span> running · '
        f'<a href="{url}" target="_blank" rel="noopener">{html.escape(s["url"])}</a><br>'
        f'<span style="color:#555">{s["connections"]} connection(s) · {s["messages_in"]} in / '
        f'{s["messages_out"]} out · up {s["uptime"]}{" · " + html.escape(note) if note else ""}</span></div>'
    )
