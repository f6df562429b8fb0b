"""Reachability: the URL a browser should use for a server of this kernel.

One ladder decides it, in this order (the first rung that applies wins):

1. ``external_url`` (the server's trait) or ``NBWS_EXTERNAL_URL``: a URL or a
   template with ``{port}``, for deployments nbws cannot detect;
2. nbws's own Jupyter Server extension (``nbws.jupyter``), when the Jupyter
   server that started this kernel has it: ``{base_url}nbws/{kernel_id}/{server}/``
   over a private Unix socket (:mod:`nbws.jupyter.registry`);
3. jupyter-server-proxy on JupyterHub / Binder (``JUPYTERHUB_SERVICE_PREFIX``
   set and the package installed): ``{prefix}proxy/{port}/``;
4. Google Colab (``google.colab`` importable): the kernel's ports are reached
   only through Colab's own proxy, whose URL only the output's JavaScript
   can ask for (``google.colab.kernel.proxyPort``), so links and IFrames are
   written as a small script (:func:`link_html`, :func:`frame_html`);
4. loopback: ``http://127.0.0.1:{port}/``.

VS Code is not a rung: its notebook outputs run in a ``vscode-webview://``
origin and reach the kernel's loopback (forwarded by VS Code when the kernel
is remote), so under VS Code such origins may open WebSockets
(:func:`relaxations`). :func:`where` shows what was detected and why.
Pure functions of the environment (any thread).
"""

from __future__ import annotations

import html
import importlib.util
import json
import os
import re
import secrets
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .jupyter.registry import BASE_URL_ENV, relay_url

if TYPE_CHECKING:
    from .server import Server

__all__ = [
    "proxy_mode", "external_url", "external_origin", "page_url", "in_colab", "in_vscode",
    "relaxations", "link_html", "frame_html", "Rung", "Where", "where", "VSCODE_WEBVIEW", "COLAB_ORIGIN",
]

VSCODE_WEBVIEW = re.compile(r"vscode-webview://[A-Za-z0-9][A-Za-z0-9.-]*")
"""The origins of VS Code's notebook webviews. No web page can send such an
Origin (browsers set it, and only VS Code's webviews have the scheme)."""

COLAB_ORIGIN = re.compile(r"https://([a-z0-9-]+-colab\.googleusercontent\.com|[a-z0-9-]+(\.[a-z0-9-]+)*\.prod\.colab\.dev)")
"""The origins Colab's port proxy serves kernel ports from
(``https://…-colab.googleusercontent.com``, ``https://….prod.colab.dev``), and
no other Google user content."""

_VSCODE_VARS = ("VSCODE_PID", "VSCODE_CWD", "VSCODE_IPC_HOOK_CLI")


def _has_module(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package that is missing or odd
        return False


def in_colab() -> bool:
    """True inside a Google Colab runtime (``google.colab`` is importable), as
    TensorBoard's notebook support decides it."""
    return _has_module("google.colab")


def in_vscode() -> bool:
    """True when VS Code started this process (its ``VSCODE_PID`` /
    ``VSCODE_CWD`` / ``VSCODE_IPC_HOOK_CLI`` environment, local or remote, as
    plotly's renderer detection reads it)."""
    return any(os.environ.get(name) for name in _VSCODE_VARS)


def _hub_prefix() -> str | None:
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    if prefix and _has_module("jupyter_server_proxy"):
        return prefix
    return None


def proxy_mode() -> bool:
    """True when the browser reaches this kernel through a proxy that keeps
    the notebook page's Host: an explicit ``NBWS_EXTERNAL_URL``, or
    JupyterHub/Binder with jupyter-server-proxy."""
    return bool(os.environ.get("NBWS_EXTERNAL_URL")) or _hub_prefix() is not None


def external_url(port: int, template: str | None = None) -> str | None:
    """The URL (absolute, or absolute-path for a proxy) a browser should use
    for ``port``, or None when the loopback URL is the answer (rung 4) or only
    the browser can know it (Colab, rung 4)."""
    template = template or os.environ.get("NBWS_EXTERNAL_URL")
    if template:
        url = template.format(port=port)
        return url if url.endswith("/") else url + "/"
    relayed = relay_url(port)  # rung 2: nbws's own Jupyter Server extension (nbws.jupyter)
    if relayed is not None:
        return relayed
    prefix = _hub_prefix()
    if prefix is not None:
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


def relaxations(explicit: str | None) -> tuple[bool, list[str | re.Pattern[str]]]:
    """What a TCP server must accept besides its defaults where it is reached:
    (any ``Host``, extra WebSocket origins).

    Any Host behind a proxy (the proxy keeps the notebook page's Host, and the
    browser cannot reach the kernel's loopback itself, so DNS rebinding is
    not a risk) and in Colab (whose proxy is the only way in). Origins: the
    external URL's, Colab's proxy origins, VS Code's webviews."""
    any_host = proxy_mode() or in_colab()
    origins: list[str | re.Pattern[str]] = []
    if any_host:
        origin = external_origin(explicit or external_url(0))
        if origin:
            origins.append(origin)
    if in_colab():
        origins.append(COLAB_ORIGIN)
    if in_vscode():
        origins.append(VSCODE_WEBVIEW)
    return any_host, origins


def page_url(server: Server, path: str) -> str:
    """The reachable URL of ``path`` on ``server``, token included. In Colab
    this is the loopback URL: only the browser can learn the proxy's (use
    :func:`link_html` / :func:`frame_html` for what a notebook shows)."""
    base = server.url.split("?")[0]
    token = f"?token={server.token}" if server.token else ""
    return base.rstrip("/") + path + token


def _colab_script(server: Server, path: str, element: str, attribute: str, text: bool, fragment: str = "") -> str:
    """A script that asks Colab's proxy for ``server``'s URL and puts it (plus
    ``path``, the token and ``fragment``) into the element's attribute."""
    token = f"?token={server.token}" if server.token else ""
    fill = "el.textContent = url;" if text else ""
    return (
        "<script>(async () => {"
        f"const el = document.getElementById({json.dumps(element)});"
        f"const base = await google.colab.kernel.proxyPort({int(server.port)}, {{cache: true}});"
        f"const url = new URL({json.dumps(path.lstrip('/') + token)}, base.replace(/\\/?$/, '/')).href;"
        f"el.{attribute} = url + {json.dumps(fragment)}; {fill}"
        "})();</script>"
    )


def link_html(server: Server, path: str = "/", text: str | None = None) -> str:
    """An ``<a>`` that opens ``path`` of ``server`` in a new tab from the user's
    browser: a plain link, or in Colab one whose address the proxy fills in."""
    if in_colab() and server.path is None:
        element = "nbws-" + secrets.token_hex(6)
        label = html.escape(text) if text else "opening through Colab's proxy…"
        return (f'<a id="{element}" href="#" target="_blank" rel="noopener">{label}</a>'
                + _colab_script(server, path, element, "href", text is None))
    url = page_url(server, path)
    return (f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener">'
            f"{html.escape(text or url)}</a>")


def frame_html(server: Server, path: str = "/", height: int = 320, fragment: str = "") -> str:
    """An ``<iframe>`` showing ``path`` of ``server``; in Colab its ``src`` comes
    from Colab's proxy. ``fragment`` (``"#..."``) is appended to the URL: the
    page reads it, the browser never sends it to the server."""
    style = f"width:100%;height:{int(height)}px;border:0"
    if in_colab() and server.path is None:
        element = "nbws-" + secrets.token_hex(6)
        return (f'<iframe id="{element}" style="{style}"></iframe>'
                + _colab_script(server, path, element, "src", False, fragment))
    return f'<iframe src="{html.escape(page_url(server, path) + fragment, quote=True)}" style="{style}"></iframe>'


@dataclass(frozen=True)
class Rung:
    """One rung of the URL ladder: whether it applies here, and why."""

    name: str
    applies: bool
    why: str


@dataclass(frozen=True)
class Where:
    """What :func:`where` found: the ladder's rungs in order, the chosen one,
    the URL a browser uses (None in Colab, where only the browser learns it)
    and what WebSocket origins are allowed besides each server's own."""

    rungs: tuple[Rung, ...]
    chosen: str
    url: str | None
    any_host: bool
    origins: tuple[str, ...]

    def __str__(self) -> str:
        lines = [f"nbws reaches the browser by: {self.chosen}"]
        if self.url:
            lines.append(f"  URL: {self.url}")
        for rung in self.rungs:
            mark = "→" if rung.name == self.chosen else ("✓" if rung.applies else "✗")
            lines.append(f"  {mark} {rung.name}: {rung.why}")
        lines.append(f"  Host header: {'any (behind a proxy)' if self.any_host else 'loopback names and the bound address'}")
        lines.append("  extra WebSocket origins: " + (", ".join(self.origins) or "none"))
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{'→' if r.name == self.chosen else ('✓' if r.applies else '✗')}</td>"
            f'<td style="padding:1px 12px 1px 4px">{html.escape(r.name)}</td><td>{html.escape(r.why)}</td></tr>'
            for r in self.rungs)
        url = f"<div>URL: <code>{html.escape(self.url)}</code></div>" if self.url else ""
        host = "any (behind a proxy)" if self.any_host else "loopback names and the bound address"
        return (f'<div style="font:13px system-ui,sans-serif"><b>nbws reaches the browser by: '
                f"{html.escape(self.chosen)}</b>{url}"
                f'<table style="font:inherit;border-collapse:collapse">{rows}</table>'
                f"<div>Host header: {host}</div>"
                f"<div>extra WebSocket origins: {html.escape(', '.join(self.origins) or 'none')}</div></div>")


def where(server: Server | None = None) -> Where:
    """Say how nbws reaches the browser here, and why: every rung of the URL
    ladder with what was detected, the one chosen, and for ``server`` (or the
    newest running one, or a server on port 8000 as an example) the URL.
    For users whose links do not open."""
    if server is None:
        from .server import list_servers

        running = [s for s in list_servers() if s.running and s.path is None]
        server = running[-1] if running else None
    explicit = server.external_url if server is not None else None
    port = server.port if server is not None else 8000
    env_url = os.environ.get("NBWS_EXTERNAL_URL")
    relayed = relay_url(port) if server is not None else None
    ext_base = os.environ.get(BASE_URL_ENV)
    hub = os.environ.get("JUPYTERHUB_SERVICE_PREFIX")
    has_proxy = _has_module("jupyter_server_proxy")
    colab, vscode = in_colab(), in_vscode()
    rungs: tuple[Rung, ...] = (
        Rung("external_url", bool(explicit or env_url),
             f"the server's external_url is {explicit!r}" if explicit else
             f"NBWS_EXTERNAL_URL={env_url!r}" if env_url else "no external_url trait and no NBWS_EXTERNAL_URL"),
        Rung("jupyter extension", relayed is not None,
             f"this kernel's Jupyter server has nbws.jupyter (base_url {ext_base!r}); the server listens on a "
             "private Unix socket for it" if relayed is not None else
             f"NBWS_JUPYTER_BASE_URL={ext_base!r}, but this server is not relayed (not started in a kernel of that "
             "Jupyter server?)" if ext_base else "the Jupyter server has no nbws.jupyter extension (pip install "
             "'nbws[jupyter]' where Jupyter runs, then restart it)"),
        Rung("jupyter-server-proxy", hub is not None and has_proxy,
             f"JUPYTERHUB_SERVICE_PREFIX={hub!r}, jupyter_server_proxy {'installed' if has_proxy else 'NOT installed'}"
             if hub else "JUPYTERHUB_SERVICE_PREFIX is not set (not a JupyterHub/Binder server)"),
        Rung("colab", colab, "google.colab is importable: Colab's proxy (google.colab.kernel.proxyPort)"
             if colab else "google.colab is not importable"),
        Rung("loopback", True, "the browser runs on this machine (or VS Code forwards the port)"),
    )
    chosen = next(r.name for r in rungs if r.applies)
    any_host, origins = relaxations(explicit)
    if chosen == "colab":
        url = None
    elif server is not None:
        url = server.url
    else:
        url = (external_url(port, explicit) or f"http://127.0.0.1:{port}/") + "  (for a server on port 8000)"
    labels = {VSCODE_WEBVIEW.pattern: "vscode-webview://… (VS Code's webviews)",
              COLAB_ORIGIN.pattern: "https://…-colab.googleusercontent.com and https://….prod.colab.dev (Colab's proxy)"}
    shown = tuple(labels.get(o.pattern, o.pattern) if isinstance(o, re.Pattern) else o for o in origins)
    if vscode:
        rungs = (*rungs, Rung("vscode", True, "VS Code started this kernel: its notebook webviews may open WebSockets"))
    return Where(rungs, chosen, url, any_host, shown)
