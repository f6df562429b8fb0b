"""Where students join: the bind address, the join URL and its QR code."""

from __future__ import annotations

import os
import socket

from ..reach import in_colab
from ..server import Server

__all__ = ["join_host", "join_url", "lan_address", "qr_svg"]


def join_host(host: str | None) -> str:
    """The address a classroom binds: ``host`` when given; loopback where
    students' devices could not reach this machine anyway and come through
    a proxy (a JupyterHub / Binder server, an explicit ``NBWS_EXTERNAL_URL``,
    Colab); else the LAN (``0.0.0.0``, guarded by the student token) — also
    under nbws's Jupyter extension on a local Jupyter, whose URLs need a
    Jupyter login that students do not have."""
    if host is not None:
        return host
    if os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or os.environ.get("NBWS_EXTERNAL_URL") or in_colab():
        return "127.0.0.1"
    return "0.0.0.0"


def lan_address() -> str | None:
    """This machine's address on the network its default route leaves by,
    or None. (A UDP socket's connect sends no packet; it only picks the
    route.)"""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        address = str(probe.getsockname()[0])
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def join_url(server: Server) -> str:
    """The URL students open. A server listening on every interface is
    joined at this machine's LAN address (not a proxy path that needs a
    Jupyter login); otherwise the server's own URL (:func:`nbws.where`)."""
    if server.host in ("0.0.0.0", "", "::"):
        address = lan_address()
        if address is not None:
            token = f"?token={server.token}" if server.token else ""
            return f"http{'s' if server.ssl is not None else ''}://{address}:{server.port}/{token}"
    return server.url


def qr_svg(url: str) -> str:
    """The QR code of an absolute ``url`` as inline SVG (segno), or '' for a
    relative one (a proxy path: only the browser knows the host) or without
    segno (``pip install nbws[classroom]``)."""
    if not url.startswith(("http://", "https://")):
        return ""
    try:
        import segno
    except ImportError:  # the nbws[classroom] extra
        return ""
    return str(segno.make(url, error="m").svg_inline(scale=6, border=2, omitsize=True))
