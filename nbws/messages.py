"""Plain values that cross between the I/O thread and the handler loop.

Nothing here touches a socket, an event loop or a thread: requests, responses,
headers and forms are immutable values built and read by plain functions.
"""

from __future__ import annotations

import email.errors
import email.parser
import email.policy
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Any, Union
from urllib.parse import parse_qsl

from .errors import BadRequestError

__all__ = ["Headers", "Request", "Response", "Form", "UploadedFile", "to_response"]

HeaderItems = Union[Mapping[str, str], Iterable[tuple[str, str]], None]


class Headers(Mapping[str, str]):
    """Immutable, case-insensitive HTTP headers that keep repeated fields.

    ``headers["content-type"]`` returns the last value of a field;
    :meth:`get_all` returns every value in order.
    """

    __slots__ = ("_index", "_items")

    def __init__(self, items: HeaderItems = None) -> None:
        pairs: list[tuple[str, str]]
        if items is None:
            pairs = []
        elif isinstance(items, Mapping):
            pairs = [(str(k), str(v)) for k, v in items.items()]
        else:
            pairs = [(str(k), str(v)) for k, v in items]
        self._items: tuple[tuple[str, str], ...] = tuple(pairs)
        index: dict[str, list[str]] = {}
        for name, value in pairs:
            index.setdefault(name.lower(), []).append(value)
        self._index = index

    def __getitem__(self, name: str) -> str:
        return self._index[name.lower()][-1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._index

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def get_all(self, name: str) -> list[str]:
        """Every value of the field ``name``, in the order received."""
        return list(self._index.get(name.lower(), ()))

    def items_raw(self) -> tuple[tuple[str, str], ...]:
        """The fields as received: (name, value) pairs with original case."""
        return self._items

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"


@dataclass(frozen=True)
class UploadedFile:
    """A file sent in a ``multipart/form-data`` body."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Form:
    """Fields of a form body (R's ``http_vars``): the last value per name in
    :attr:`fields`, every value in :attr:`all_fields`, uploads in :attr:`files`."""

    fields: Mapping[str, str]
    all_fields: Mapping[str, tuple[str, ...]]
    files: Mapping[str, UploadedFile]

    def __getitem__(self, name: str) -> str:
        return self.fields[name]

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of ``name``, or ``default``."""
        return self.fields.get(name, default)


def _multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    last: dict[str, str] = {}
    every: dict[str, list[str]] = {}
    for key, value in pairs:
        last[key] = value
        every.setdefault(key, []).append(value)
    return last, {k: tuple(v) for k, v in every.items()}


# RFC 2046 §5.1.1: 1-70 characters from bchars, not ending with a space.
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,./:=? -]{0,69}[0-9A-Za-z'()+_,./:=?-]")
_CUT_SHORT = (email.errors.StartBoundaryNotFoundDefect, email.errors.CloseBoundaryNotFoundDefect)
# What the stdlib's e-mail parser may raise on hostile input (some are its own bugs).
_PARSER_ERRORS = (email.errors.MessageError, ValueError, TypeError, LookupError, IndexError, AttributeError)


def _decode_part(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, errors="replace")
    except LookupError:  # an unknown charset label: the bytes are still most likely UTF-8
        return data.decode("utf-8", errors="replace")


def parse_form(content_type: str, body: bytes) -> Form:
    """Parse an urlencoded or multipart body; other types give an empty form.

    Raises :class:`~nbws.BadRequestError` (a ``ValueError``) when a
    ``multipart/form-data`` body cannot be parsed: no ``boundary`` parameter,
    an invalid boundary, or a body whose boundaries are missing or cut short.
    Runs on any thread (a pure function).
    """
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        text = body.decode("utf-8", errors="replace")
        fields, every = _multi(parse_qsl(text, keep_blank_values=True))
        return Form(fields, every, {})
    if kind == "multipart/form-data":
        return _parse_multipart(content_type, body)
    return Form({}, {}, {})


def _parse_multipart(content_type: str, body: bytes) -> Form:
    if any(ch in content_type for ch in "\r\n\x00"):
        raise BadRequestError("the Content-Type header contains control characters")
    policy = email.policy.HTTP
    try:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
        message = email.parser.BytesParser(policy=policy).parsebytes(head + body)
        boundary = message.get_boundary()
    except (UnicodeError, *_PARSER_ERRORS) as exc:
        raise BadRequestError(f"the multipart/form-data body could not be parsed ({exc})") from None
    if not boundary:
        raise BadRequestError("multipart/form-data needs a boundary parameter in its Content-Type")
    if not _BOUNDARY_RE.fullmatch(boundary):
        raise BadRequestError("the multipart/form-data boundary is not 1-70 allowed characters (RFC 2046)")
    if body.strip() in (b"", b"--" + boundary.encode("latin-1") + b"--"):
        return Form({}, {}, {})  # an empty form (what browsers send for a FormData without fields)
    if not message.is_multipart() or any(isinstance(d, _CUT_SHORT) for d in message.defects):
        raise BadRequestError("the multipart/form-data body is cut short or does not use its boundary")
    pairs: list[tuple[str, str]] = []
    files: dict[str, UploadedFile] = {}
    try:
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                files[name] = UploadedFile(filename, part.get_content_type(), data)
            else:
                pairs.append((name, _decode_part(data, part.get_content_charset() or "utf-8")))
    except _PARSER_ERRORS as exc:
        raise BadRequestError(f"a part of the multipart/form-data body could not be parsed ({exc})") from None
    fields, every = _multi(pairs)
    return Form(fields, every, files)


@dataclass(frozen=True)
class Request:
    """An HTTP request (or the upgrade request of a WebSocket), as a plain value.

    Attributes:
        method: ``"GET"``, ``"POST"`` …
        path: the decoded path, without the query string.
        query_string: the raw query string, without ``?``.
        headers: case-insensitive :class:`Headers`.
        body: the whole body (empty for ``on_headers`` and WebSocket requests).
        remote_addr: the peer's (host, port); ``("", 0)`` on a Unix socket.
        scheme: ``"http"`` or ``"https"``.
        http_version: ``"1.1"`` or ``"1.0"``.
        raw_path: the request target exactly as sent.
    """

    method: str
    path: str
    query_string: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    remote_addr: tuple[str, int] = ("", 0)
    scheme: str = "http"
    http_version: str = "1.1"
    raw_path: str = ""

    @property
    def query(self) -> dict[str, str]:
        """Query parameters, the last value for each name."""
        return _multi(parse_qsl(self.query_string, keep_blank_values=True))[0]

    @property
    def query_all(self) -> dict[str, tuple[str, ...]]:
        """Query parameters, every value for each name."""
        return _multi(parse_qsl(self.query_string, keep_blank_values=True))[1]

    @property
    def cookies(self) -> dict[str, str]:
        """Cookies sent by the client (malformed cookie headers are ignored)."""
        jar: dict[str, str] = {}
        for header in self.headers.get_all("cookie"):
            cookie: SimpleCookie = SimpleCookie()
            try:
                cookie.load(header)
            except CookieError:
                continue
            jar.update({key: morsel.value for key, morsel in cookie.items()})
        return jar

    def form(self) -> Form:
        """Parse the body as ``application/x-www-form-urlencoded`` or
        ``multipart/form-data`` (with uploaded files); R websockets' ``http_vars``.
        Query-string parameters are in :attr:`query`.

        Raises :class:`~nbws.BadRequestError` for a malformed multipart body;
        left uncaught in a handler, it answers the client with 400."""
        return parse_form(self.headers.get("content-type", ""), self.body)

    def json(self) -> Any:
        """Parse the body as JSON.

        Raises :class:`~nbws.BadRequestError` (a ``ValueError``) when it is
        not JSON; left uncaught in a handler, it answers the client with 400."""
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError) as exc:
            raise BadRequestError(f"the body is not JSON ({exc})") from None

    @property
    def host(self) -> str:
        """The ``Host`` header, or an empty string."""
        return self.headers.get("host", "")


@dataclass(frozen=True, init=False)
class Response:
    """An HTTP response a handler returns.

    ``Response(200, "<h1>hi</h1>", content_type="text/html")``. A ``str`` body
    is encoded as UTF-8 (the default type is ``text/plain; charset=utf-8``),
    ``bytes`` are sent as they are (``application/octet-stream``), and a dict or
    list is sent as JSON.
    """

    status: int
    body: bytes
    headers: Headers

    def __init__(
        self,
        status: int = 200,
        body: str | bytes | dict[str, Any] | list[Any] | None = b"",
        headers: HeaderItems = None,
        content_type: str | None = None,
    ) -> None:
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise ValueError(f"HTTP status must be an int in 100-599, not {status!r}")
        items = list(Headers(headers).items_raw())
        guessed: str
        data: bytes
        if body is None:
            data, guessed = b"", "text/plain; charset=utf-8"
        elif isinstance(body, str):
            data, guessed = body.encode("utf-8"), "text/plain; charset=utf-8"
        elif isinstance(body, (bytes, bytearray, memoryview)):
            data, guessed = bytes(body), "application/octet-stream"
        elif isinstance(body, (dict, list)):
            data, guessed = json.dumps(body).encode("utf-8"), "application/json"
        else:
            raise TypeError(
                f"a response body must be str, bytes, dict or list, not {type(body).__name__}"
            )
        has_type = any(name.lower() == "content-type" for name, _ in items)
        if content_type is not None:
            items = [(n, v) for n, v in items if n.lower() != "content-type"]
            items.append(("Content-Type", content_type))
        elif not has_type and data:
            items.append(("Content-Type", guessed))
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "body", data)
        object.__setattr__(self, "headers", Headers(items))

    @property
    def reason(self) -> str:
        """The standard reason phrase for :attr:`status`."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""

    def __repr__(self) -> str:
        return f"Response({self.status}, {len(self.body)} bytes)"


_HTTPUV_KEYS = frozenset({"status", "headers", "body"})


def to_response(value: object) -> Response:
    """Turn what a handler returned into a :class:`Response`.

    Accepted: a Response; a str or bytes body (status 200); an httpuv-style dict
    with ``status`` and optional ``headers`` and ``body``; any other dict or a
    list (sent as JSON). Anything else raises ``TypeError`` saying what to return.
    """
    if isinstance(value, Response):
        return value
    if isinstance(value, (str, bytes, bytearray, memoryview)):
        return Response(200, bytes(value) if not isinstance(value, str) else value)
    if isinstance(value, dict) and "status" in value and set(value) <= _HTTPUV_KEYS:
        return Response(int(value["status"]), value.get("body", b""), value.get("headers"))
    if isinstance(value, (dict, list)):
        return Response(200, value)
    raise TypeError(
        f"an HTTP handler returned {type(value).__name__}; return a nbws.Response, "
        f"a str or bytes body, or a dict like {{'status': 200, 'headers': {{}}, 'body': ''}}"
    )
