"""What of a browser's request the extension passes on to a kernel, and
when a request without Jupyter's XSRF token may pass: plain functions of
header values, no I/O (tested without a server).

- :func:`same_origin`: the strict check for an unsafe request that lacks
  Jupyter's ``_xsrf`` token: its ``Origin`` must name exactly the scheme,
  host and port the request was made to. Jupyter's ``allow_origin`` settings
  are not consulted (``allow_origin='*'`` would let any site post with the
  visitor's login cookie).
- :func:`forwarded_fields` and :func:`forwarded_query`: the request's fields
  and query without Jupyter's credentials (its token in ``Authorization`` or
  ``?token=``, its login, ``_xsrf`` and ``jupyterhub-*`` cookies, its XSRF
  token), so that a visitor's credentials (on JupyterHub, possibly another
  user's) never reach the code running in the kernel. The app's own cookies,
  parameters and ``Authorization`` schemes pass unchanged.

Called on the Jupyter server's (tornado) event loop.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote_plus, urlsplit

__all__ = ["HOP_BY_HOP", "JUPYTER_AUTH", "forwarded_fields", "forwarded_query", "same_origin"]

HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection",
                        "te", "trailer", "transfer-encoding", "upgrade"})
"""Hop-by-hop fields (RFC 9110 §7.6.1): each side frames its own connection."""

JUPYTER_AUTH = re.compile(r"(token|bearer)\s+(.+)", re.IGNORECASE)
"""The ``Authorization`` values Jupyter takes as its token (``IdentityProvider.auth_header_pat``)."""

CREDENTIAL_PARAMS = frozenset({"token", "_xsrf"})
"""Query parameters Jupyter reads as credentials: its token, its XSRF token."""

CREDENTIAL_FIELDS = frozenset({"x-xsrftoken", "x-forwarded-prefix"})
"""Fields never forwarded as sent: Jupyter's XSRF token; the prefix (the relay sets its own)."""

DEFAULT_PORTS = {"http": 80, "https": 443}


def _host_and_port(netloc: str, scheme: str) -> tuple[str, int] | None:
    """``("example.org", 443)`` from ``example.org`` or ``Example.org:443``; None when malformed."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.password is not None or parts.path:
        return None
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
    return (parts.hostname.lower(), port) if port is not None else None


def same_origin(origin: str, host: str, protocol: str) -> bool:
    """Whether ``Origin`` names this request's own origin: the same scheme as
    ``protocol`` (``request.protocol``, which honours ``X-Forwarded-Proto``
    when Jupyter's ``trust_xheaders`` is on), and the same host and port as
    the ``Host`` field (default ports filled in). ``null`` or a malformed
    value never matches."""
    scheme = protocol.lower()
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme.lower() != scheme or parts.path or parts.query or parts.fragment:
        return False
    theirs = _host_and_port(parts.netloc, scheme)
    return theirs is not None and theirs == _host_and_port(host.strip(), scheme)


def _is_jupyter_cookie(name: str, login_cookie: str) -> bool:
    return name == login_cookie or name == "_xsrf" or name.startswith("jupyterhub-")


def _without_jupyter_cookies(value: str, login_cookie: str) -> str:
    """A ``Cookie`` value without Jupyter's cookies; the others as sent."""
    kept = [part.strip() for part in value.split(";")
            if part.strip() and not _is_jupyter_cookie(part.split("=", 1)[0].strip(), login_cookie)]
    return "; ".join(kept)


def forwarded_query(query: str) -> str:
    """The query string without Jupyter's ``token`` and ``_xsrf``
    parameters; the others kept byte for byte, in order."""
    if not query:
        return query
    return "&".join(pair for pair in query.split("&")
                    if unquote_plus(pair.split("=", 1)[0]) not in CREDENTIAL_PARAMS)


def _without_token_in_url(url: str) -> str:
    """A ``Referer`` URL without Jupyter's credentials in its query."""
    base, mark, rest = url.partition("?")
    if not mark:
        return url
    query, hashmark, fragment = rest.partition("#")
    query = forwarded_query(query)
    return base + (f"?{query}" if query else "") + (f"#{fragment}" if hashmark else "")


def forwarded_fields(fields: Iterable[tuple[str, str]], login_cookie: str,
                     auth_pattern: re.Pattern[str] = JUPYTER_AUTH) -> list[tuple[str, str]]:
    """The request's end-to-end fields for the kernel: no hop-by-hop fields,
    no ``Authorization`` that ``auth_pattern`` (the identity provider's)
    takes as Jupyter's token (``token …``, ``bearer …``), no ``X-XSRFToken``, no ``X-Forwarded-Prefix`` as sent;
    ``Cookie`` without ``login_cookie`` (the identity provider's login
    cookie name), ``_xsrf`` and ``jupyterhub-*``; ``Referer`` without
    ``token``/``_xsrf`` in its query."""
    out: list[tuple[str, str]] = []
    for name, value in fields:
        lower = name.lower()
        if lower in HOP_BY_HOP or lower in CREDENTIAL_FIELDS:
            continue
        if lower == "authorization" and auth_pattern.match(value.strip()):
            continue
        if lower == "cookie":
            value = _without_jupyter_cookies(value, login_cookie)
            if not value:
                continue
        elif lower == "referer":
            value = _without_token_in_url(value)
        out.append((name, value))
    return out
