"""HTTP requests from a kernel to anywhere, its own servers included:
:func:`fetch` (blocking) and :func:`fetch_async` (awaitable).
"""

from __future__ import annotations

import asyncio
import http.client
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping

from .boundary import handler_plane
from .errors import ConnectError, FetchError, FetchTimeoutError, HandlerLoopError, InvalidURLError, connect_failure
from .messages import Response

__all__ = ["fetch", "fetch_async"]


def fetch(
    url: str,
    method: str = "GET",
    data: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Response:
    """Make an HTTP request and return the :class:`~nbws.Response`, without
    deadlocking when the server is in this same kernel. Blocking; in a
    coroutine use :func:`fetch_async`.

    A plain ``urllib`` call from a cell to a server of the same kernel would
    wait forever: the handler that must answer runs on the thread that is
    waiting. ``fetch`` sends the request from a worker thread and runs queued
    nbws handlers meanwhile (like :func:`nbws.service`), waking as soon as
    there is work. An ``async def`` handler cannot run while a cell blocks
    the kernel's loop (on Python 3.12+ one that finishes without awaiting
    does): ``fetch`` then raises :class:`~nbws.AsyncHandlerBlockedError` at
    once instead of timing out.

    HTTP error statuses are returned, not raised. A URL without
    ``http://``/``https://`` raises :class:`~nbws.InvalidURLError`; failing to
    connect (refused, DNS, TLS) raises :class:`~nbws.ConnectError`; no
    response within ``timeout`` seconds raises :class:`~nbws.FetchTimeoutError`,
    another broken response :class:`~nbws.FetchError`."""
    request = _fetch_request(url, method, data, headers)
    plane = handler_plane()
    assert plane is not None
    try:
        return plane.wait_for_thread(lambda: _urlopen(request, timeout), timeout + 5, "nbws.fetch()")
    except HandlerLoopError:
        raise
    except BaseException as exc:  # noqa: BLE001 - translated below
        raise _fetch_failure(url, exc, timeout) from None


async def fetch_async(
    url: str,
    method: str = "GET",
    data: bytes | str | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Response:
    """Make an HTTP request and return the :class:`~nbws.Response`; awaitable.

    Runs on the caller's event loop, which stays free meanwhile (the request
    is made from a worker thread), so handlers of this kernel's own servers,
    ``async def`` ones included, answer normally: use it with top-level
    ``await`` in a cell. Errors as for :func:`fetch`."""
    request = _fetch_request(url, method, data, headers)
    try:
        return await asyncio.to_thread(_urlopen, request, timeout)
    except Exception as exc:  # noqa: BLE001 - translated below
        raise _fetch_failure(url, exc, timeout) from None


def _fetch_request(url: str, method: str, data: bytes | str | None,
                   headers: Mapping[str, str] | None) -> urllib.request.Request:
    """Check the URL and build the request. Runs on the caller's thread."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise InvalidURLError(url)
    body = data.encode("utf-8") if isinstance(data, str) else data
    try:
        return urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    except ValueError:
        raise InvalidURLError(url) from None


def _urlopen(request: urllib.request.Request, timeout: float) -> Response:
    """Make the request; HTTP error statuses are a Response. Blocking; runs on a worker thread."""
    try:
        resp = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        resp = err
    with resp:
        return Response(resp.status, resp.read(), list(resp.headers.items()))


def _fetch_failure(url: str, exc: BaseException, timeout: float) -> BaseException:
    """A short nbws error for a failed request; other exceptions are returned
    unchanged. A pure function (any thread)."""
    if isinstance(exc, urllib.error.URLError):  # failed before the request was sent
        reason = exc.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            return ConnectError(url, f"no answer to the connection attempt within {timeout} s")
        if isinstance(reason, BaseException):
            return connect_failure(url, reason, timeout)
        return ConnectError(url, str(reason))
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return FetchTimeoutError(url, timeout)
    if isinstance(exc, http.client.RemoteDisconnected):
        return FetchError(url, "the server closed the connection without sending a response")
    if isinstance(exc, http.client.HTTPException):
        return FetchError(url, f"the response was not valid HTTP ({type(exc).__name__}: {exc})")
    if isinstance(exc, ConnectionError):
        return FetchError(url, f"the connection broke before the response was complete ({exc.strerror or exc})")
    if isinstance(exc, OSError):
        return connect_failure(url, exc, timeout)
    return exc
