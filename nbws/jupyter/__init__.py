"""``nbws.jupyter``: a Jupyter Server extension that routes
``{base_url}nbws/{kernel_id}/{server}/...`` (HTTP and WebSocket upgrades) to
the nbws servers of that kernel, behind Jupyter's own authentication.

Installing nbws enables it (``etc/jupyter/jupyter_server_config.d/nbws.json``).
The kernel side is :mod:`nbws.jupyter.registry`; the tornado handlers are in
:mod:`nbws.jupyter.handlers` and :mod:`nbws.jupyter.tunnel`, imported only
when a Jupyter server loads the extension (importing this package imports
neither jupyter_server nor tornado).
"""

from __future__ import annotations

import os
from typing import Any

from .registry import BASE_URL_ENV, DIR_ENV, clean_stale, private_dir

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """What jupyter_server reads to find the extension."""
    return [{"module": "nbws.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the relay route and tell the kernels this server will launch
    where to listen (``NBWS_JUPYTER_BASE_URL``, ``NBWS_JUPYTER_DIR`` in the
    server's environment, which kernels inherit). Runs on the Jupyter server's
    main thread at start-up."""
    from .handlers import route

    directory = os.path.join(serverapp.runtime_dir, "nbws")
    if not private_dir(directory):
        serverapp.log.warning("nbws: extension not loaded: %s is not a private directory", directory)
        return
    removed = clean_stale(directory)
    base_url = serverapp.base_url
    os.environ[BASE_URL_ENV] = base_url
    os.environ[DIR_ENV] = directory
    serverapp.web_app.settings["nbws_relay_dir"] = directory
    serverapp.web_app.add_handlers(".*$", [route(base_url)])
    serverapp.log.info("nbws: relaying %snbws/<kernel_id>/<server>/ to kernels' nbws servers (sockets in %s%s)",
                       base_url, directory, f"; removed {removed} stale entries" if removed else "")
