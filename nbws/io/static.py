"""Static paths as response values: resolution (:mod:`nbws.static`) → answer.

ETag / Last-Modified validation (304), single byte ranges (206 / 416),
redirects for directories, 403 for anything outside the root. The answer is a
value — a :class:`~nbws.Response` or a :class:`~nbws.io.routes.FileResponse`
— that the response writer in :mod:`nbws.io.http` sends (starlette's
``StaticFiles.get_response`` is the model). Runs on the I/O thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Union

from ..messages import Request, Response
from ..static import (
    Resolved,
    StaticRoutes,
    content_type_for,
    etag_for,
    etag_for_bytes,
    http_date,
    not_modified,
    parse_range,
)

if TYPE_CHECKING:
    from .routes import Answer

__all__ = ["static_route", "static_answer"]


def _plain(status: int, text: str) -> Response:
    return Response(status, text + "\n")


def static_route(routes: StaticRoutes) -> Callable[[Request], Union[Answer, None]]:
    """The route of an app's static paths: None for paths they leave to the app."""

    def route(request: Request) -> Answer | None:
        found = routes.resolve(request.path, request.headers)
        if found.kind == "app" or (found.kind == "missing" and found.options.fallthrough):
            return None
        return static_answer(request, found)

    return route


def static_answer(request: Request, found: Resolved) -> Answer:
    """The response to ``request`` for a resolved static path."""
    from .routes import FileResponse

    opts = found.options
    if found.kind == "forbidden":
        return _plain(403, f"Forbidden: {found.reason}")
    if found.kind == "missing":
        return _plain(404, "Not Found")
    if found.kind == "redirect":
        raw_path, _, query = request.raw_path.partition("?")
        location = raw_path + "/" + ("?" + query if query else "")
        return Response(301, "", {"Location": location})
    common = [("Cache-Control", opts.cache_control or "no-cache"), *(opts.headers or {}).items()]
    if found.kind == "text":
        etag = etag_for_bytes(found.text)
        if not_modified(request.headers, etag, None):
            return Response(304, "", [("ETag", etag), *common])
        return Response(200, found.text, [("ETag", etag), *common], content_type=found.content_type)
    try:
        st = os.stat(found.path)
    except OSError:
        return _plain(404, "Not Found")
    etag = etag_for(st)
    validators = [("ETag", etag), ("Last-Modified", http_date(st.st_mtime)), *common]
    if not_modified(request.headers, etag, st.st_mtime):
        return Response(304, "", validators)
    size = st.st_size
    kind = found.content_type or content_type_for(found.path, opts.html_charset or "")
    headers = [*validators, ("Content-Type", kind), ("Accept-Ranges", "bytes")]
    wanted = parse_range(request.headers.get("range"), size)
    if wanted is False:
        return Response(416, "Range Not Satisfiable\n", [("Content-Range", f"bytes */{size}")])
    status, start, length = 200, 0, size
    if isinstance(wanted, tuple):
        status, start, length = 206, wanted[0], wanted[1] - wanted[0] + 1
        headers.append(("Content-Range", f"bytes {wanted[0]}-{wanted[1]}/{size}"))
    headers.append(("Content-Length", str(length)))
    return FileResponse(status, tuple(headers), found.path, start, length)
