"""Where students join: the bind address, the join URL and its QR code."""

from __future__ import annotations

import socket

from ..reach import external_url, in_colab
from ..server import Server

__all__ = ["join_host", "join_url", "lan_address", "qr_svg"]


def join_host(host: str | None) -> str:
    """The address a classroom binds: ``host`` when given; else the LAN
    (``0.0.0.0``, guarded by the student token) when browsers would reach
    this kernel directly, or loopback when they come through a proxy
    (Jupyter's extension, a hub's proxy, Colab)."""
    if host is not None:
        return host
    if external_url(0) is not None or in_colab():
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
    """The URL students open: the server's URL, with the LAN address instead
    of loopback when the server listens on every interface."""
    url = server.url
    if server.host in ("0.0.0.0", "") and url.startswith("http://127.0.0.1:"):
        address = lan_address()
        if address is not None:
            url = url.replace("127.0.0.1", address, 1)
    return url


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
