"""Reachability: the URL a browser should use for a server of this kernel.

Where the notebook's browser cannot reach the kernel's loopback (JupyterHub,
Binder, remote servers), URLs go through jupyter-server-proxy as
``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/``; ``NBWS_EXTERNAL_URL`` (a
template with ``{port}``, e.g. ``https://hub.example/user/ada/proxy/{port}/``)
or the server's ``external_url`` trait override the guess. The ladder, in
order: ``external_url`` / ``NBWS_EXTERNAL_URL``; jupyter-server-proxy on a
hub; loopback. Pure functions of the environment (any thread).
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .jupyter.registry import relay_url

if TYPE_CHECKING:
    from .server import Server

__all__ = ["proxy_mode", "external_url", "external_origin", "page_url"]


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
    # -- rung: nbws's own Jupyter Server extension (nbws.jupyter) --
    relayed = relay_url(port)
    if relayed is not None:
        return relayed
    # --
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


def page_url(server: Server, path: str) -> str:
    """The reachable URL of ``path`` on ``server``, token included."""
    base = server.url.split("?")[0]
    token = f"?token={server.token}" if server.token else ""
    return base.rstrip("/") + path + token
