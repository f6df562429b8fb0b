"""Static paths (httpuv's ``staticPaths``): options, resolution, containment.

Plain functions and values; :mod:`nbws.handlers` streams the files on the I/O
thread, so they keep flowing while the kernel is busy.
"""

from __future__ import annotations

import datetime
import email.utils
import hashlib
import mimetypes
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .messages import Headers

__all__ = [
    "StaticPath",
    "StaticOptions",
    "static_path",
    "exclude_static_path",
    "static_path_options",
    "static_file",
    "static_text",
    "StaticRoutes",
    "Resolved",
    "parse_range",
]


@dataclass(frozen=True)
class StaticOptions:
    """Options of a static path; ``None`` means "inherit from the app-wide options"."""

    indexhtml: bool | None = None
    fallthrough: bool | None = None
    html_charset: str | None = None
    headers: Mapping[str, str] | None = None
    validation: tuple[tuple[str, str], ...] | None = None
    exclude: bool | None = None
    cache_control: str | None = None
    symlinks_outside: bool | None = None

    def merged(self, base: StaticOptions) -> StaticOptions:
        """These options with every ``None`` taken from ``base``."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return replace(self, **{k: getattr(base, k) for k, v in values.items() if v is None})


DEFAULT_OPTIONS = StaticOptions(
    indexhtml=True, fallthrough=False, html_charset="utf-8", headers={}, validation=(), exclude=False,
    cache_control="no-cache", symlinks_outside=False,
)


@dataclass(frozen=True)
class StaticPath:
    """A directory or file served at a URL prefix, or a text served at a route.

    Build with :func:`static_path`, :func:`exclude_static_path`,
    :func:`static_file` or :func:`static_text`."""

    path: str | None
    options: StaticOptions = field(default_factory=StaticOptions)
    text: bytes | None = None
    content_type: str | None = None
    single_file: bool = False


def _validation(value: Any) -> tuple[tuple[str, str], ...] | None:
    """httpuv's validation: ``'"X-Key" == "secret"'`` strings or (header, value) pairs."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    pairs: list[tuple[str, str]] = []
    for item in value:
        if isinstance(item, str):
            m = re.fullmatch(r'\s*"([^"]+)"\s*==\s*"([^"]*)"\s*', item)
            if m is None:
                raise ValueError(f'validation must look like \'"Header-Name" == "value"\', not {item!r}')
            pairs.append((m.group(1), m.group(2)))
        else:
            name, expected = item
            pairs.append((str(name), str(expected)))
    return tuple(pairs)


def static_path_options(
    indexhtml: bool = True,
    fallthrough: bool = False,
    html_charset: str = "utf-8",
    headers: Mapping[str, str] | None = None,
    validation: Any = None,
    exclude: bool = False,
    cache_control: str = "no-cache",
    symlinks_outside: bool = False,
) -> StaticOptions:
    """App-wide options for static paths (httpuv's ``staticPathOptions``).

    Args:
        indexhtml: serve ``index.html`` for a directory request.
        fallthrough: a missing file goes to the app's ``call`` instead of a 404.
        html_charset: charset added to ``text/html`` (``""`` for none).
        headers: extra response headers.
        validation: required request headers, as ``'"X-Key" == "secret"'``
            strings or (name, value) pairs; a request without them gets 403.
        exclude: do not serve (used by :func:`exclude_static_path`).
        cache_control: the ``Cache-Control`` header of files.
        symlinks_outside: follow symlinks that point outside the root (off:
            such files are refused with 403).
    """
    return StaticOptions(indexhtml, fallthrough, html_charset, dict(headers or {}), _validation(validation) or (),
                         exclude, cache_control, symlinks_outside)


def static_path(
    path: str | os.PathLike[str],
    indexhtml: bool | None = None,
    fallthrough: bool | None = None,
    html_charset: str | None = None,
    headers: Mapping[str, str] | None = None,
    validation: Any = None,
    cache_control: str | None = None,
    symlinks_outside: bool | None = None,
) -> StaticPath:
    """A directory (or file) to serve, with per-path options that override the
    app-wide :func:`static_path_options` (httpuv's ``staticPath``)."""
    opts = StaticOptions(indexhtml, fallthrough, html_charset, None if headers is None else dict(headers),
                         _validation(validation), None, cache_control, symlinks_outside)
    return StaticPath(os.fspath(path), opts)


def exclude_static_path() -> StaticPath:
    """Mark a prefix under a static path as handled by the app instead."""
    return StaticPath(None, StaticOptions(exclude=True))


def static_file(path: str | os.PathLike[str], content_type: str | None = None, **options: Any) -> StaticPath:
    """Serve one file at exactly this route, re-read whenever it changes
    (R websockets' ``static_file_service``)."""
    sp = static_path(path, **options)
    return replace(sp, single_file=True, content_type=content_type)


def static_text(text: str | bytes, content_type: str = "text/html; charset=utf-8", **options: Any) -> StaticPath:
    """Serve a string at exactly this route (R websockets' ``static_text_service``)."""
    data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    sp = static_path(".", **options)
    return StaticPath(None, sp.options, data, content_type, single_file=True)


@dataclass(frozen=True)
class Resolved:
    """What the I/O thread should do with a request to a static path."""

    kind: str  # "file", "text", "redirect" (add a slash), "forbidden", "missing", "app"
    path: str = ""
    options: StaticOptions = DEFAULT_OPTIONS
    text: bytes = b""
    content_type: str = ""
    reason: str = ""


class StaticRoutes:
    """The static paths of one app, resolved against the file system when the
    server starts. Immutable after construction; safe on any thread."""

    def __init__(self, paths: Mapping[str, Any], options: StaticOptions | None = None) -> None:
        base = (options or StaticOptions()).merged(DEFAULT_OPTIONS)
        routes: list[tuple[str, StaticPath, StaticOptions, str]] = []
        for prefix, spec in paths.items():
            if not isinstance(prefix, str) or not prefix.startswith("/"):
                raise ValueError(f"a static path prefix must start with '/', not {prefix!r}")
            if isinstance(spec, (str, os.PathLike)):
                spec = static_path(spec)
            if not isinstance(spec, StaticPath):
                raise TypeError(f"static path {prefix!r} must be a directory name or nbws.static_path(...)")
            opts = spec.options.merged(base)
            root = ""
            if spec.path is not None and not opts.exclude:
                root = os.path.realpath(os.path.abspath(spec.path))
                if not os.path.exists(root):
                    raise FileNotFoundError(f"static path {prefix!r} points to {spec.path!r}, which does not exist")
            norm = prefix.rstrip("/") if prefix != "/" else ""
            routes.append((norm, spec, opts, root))
        routes.sort(key=lambda r: len(r[0]), reverse=True)
        self.routes = tuple(routes)

    def __bool__(self) -> bool:
        return bool(self.routes)

    def resolve(self, path: str, headers: Headers) -> Resolved:
        """Decide how to answer ``path`` (already percent-decoded once)."""
        for prefix, spec, opts, root in self.routes:
            if spec.single_file:
                if path != (prefix or "/"):
                    continue
            elif not (path == prefix or path.startswith(prefix + "/") or prefix == ""):
                continue
            if opts.exclude:
                return Resolved("app")
            for name, expected in opts.validation or ():
                if headers.get(name) != expected:
                    return Resolved("forbidden", reason="a required validation header is missing or wrong")
            if spec.text is not None:
                return Resolved("text", options=opts, text=spec.text, content_type=spec.content_type or "")
            if spec.single_file:
                return self._file(root, root, opts, spec.content_type or "")
            rest = path[len(prefix):]
            if rest == "" and os.path.isdir(root):
                return Resolved("redirect")
            return self._lookup(root, rest, opts)
        return Resolved("app")

    def _lookup(self, root: str, rest: str, opts: StaticOptions) -> Resolved:
        if "\\" in rest or "\x00" in rest:
            return Resolved("forbidden", reason="backslashes and NUL bytes are not allowed in static paths")
        segments = [s for s in rest.split("/") if s]
        if any(s in ("..", ".") for s in segments):
            return Resolved("forbidden", reason="'..' is not allowed in static paths")
        candidate = os.path.join(root, *segments) if segments else root
        if not _inside(candidate, root):
            return Resolved("forbidden", reason="outside the static root")
        try:
            st = os.stat(candidate)
        except OSError:
            return Resolved("missing", options=opts)
        if stat.S_ISDIR(st.st_mode):
            if rest and not rest.endswith("/"):
                return Resolved("redirect")
            if not opts.indexhtml:
                return Resolved("missing", options=opts)
            candidate = os.path.join(candidate, "index.html")
        return self._file(candidate, root, opts, "")

    def _file(self, candidate: str, root: str, opts: StaticOptions, content_type: str) -> Resolved:
        real = os.path.realpath(candidate)
        if not opts.symlinks_outside and root and os.path.isdir(root) and not _inside(real, root):
            return Resolved("forbidden", reason="a symlink points outside the static root")
        if not os.path.isfile(real):
            return Resolved("missing", options=opts)
        return Resolved("file", path=real, options=opts, content_type=content_type)


def _inside(path: str, root: str) -> bool:
    try:
        return os.path.commonpath([os.path.abspath(path), root]) == root
    except ValueError:  # different drives
        return False


def content_type_for(path: str, html_charset: str) -> str:
    """The Content-Type of a file by its name."""
    kind, encoding = mimetypes.guess_type(path)
    if path.endswith((".js", ".mjs")):
        kind = "text/javascript"
    if kind is None:
        kind = "application/octet-stream"
    if encoding == "gzip":
        kind = "application/gzip"
    if kind == "text/html" and html_charset:
        kind += f"; charset={html_charset}"
    elif kind.startswith("text/") and kind != "text/html":
        kind += "; charset=utf-8"
    return kind


def etag_for(st: os.stat_result) -> str:
    """A strong validator from size and modification time."""
    return f'"{st.st_mtime_ns:x}-{st.st_size:x}"'


def etag_for_bytes(data: bytes) -> str:
    """A strong validator from content."""
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


def http_date(timestamp: float) -> str:
    """An IMF-fixdate."""
    return email.utils.formatdate(timestamp, usegmt=True)


def not_modified(headers: Headers, etag: str, mtime: float | None) -> bool:
    """True when the request's conditional headers say the client's copy is current.

    Malformed values never raise: an ``If-Modified-Since`` that is not an
    HTTP date is ignored (RFC 9110 §13.1.3), so the full response is sent.
    Pure (thread-safe)."""
    inm = headers.get("if-none-match")
    if inm is not None:
        tags = [t.strip() for t in inm.split(",")]
        return "*" in tags or etag in tags or f"W/{etag}" in tags
    ims = headers.get("if-modified-since")
    if ims is not None and mtime is not None:
        try:
            when = email.utils.parsedate_to_datetime(ims)
            if when.tzinfo is None:  # "-0000": a date in UTC without a known offset
                when = when.replace(tzinfo=datetime.timezone.utc)
            since = when.timestamp()
        except (TypeError, ValueError, IndexError, OverflowError, OSError):
            return False
        return int(mtime) <= since
    return False


_RANGE_RE = re.compile(r"[ \t]*bytes[ \t]*=[ \t]*([0-9]*)[ \t]*-[ \t]*([0-9]*)[ \t]*", re.IGNORECASE)


def parse_range(value: str | None, size: int) -> tuple[int, int] | bool | None:
    """Parse a single ``Range: bytes=`` request against a file of ``size``.

    Returns (start, end) inclusive with ``0 <= start <= end < size``, None
    when there is no usable range (serve the whole file: malformed values,
    other units and multiple ranges are ignored, as RFC 9110 §14.2 allows), or
    False when it cannot be satisfied (416). Never raises. Pure (thread-safe)."""
    if not value:
        return None
    match = _RANGE_RE.fullmatch(value)
    if match is None:
        return None
    first, last = match.groups()
    if len(first) > 30 or len(last) > 30:  # past any file size; int() of huge digit strings is slow
        return None
    if first == "":
        if last == "":
            return None
        length = int(last)
        if length <= 0 or size <= 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        return False
    return start, min(end, size - 1)
