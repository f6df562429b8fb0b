"""The nbws exception tree: every error nbws raises is an :class:`NbwsError`.

Each child carries the facts a caller needs as attributes, and its message
says what to do next.
"""

from __future__ import annotations

__all__ = [
    "NbwsError",
    "PortInUseError",
    "NoFreePortError",
    "PathInUseError",
    "ConnectionClosedError",
    "SendBufferFullError",
    "ConnectError",
    "HandshakeRejectedError",
    "HandlerLoopError",
    "ServerStoppedError",
    "AsyncHandlerBlockedError",
    "InvalidURLError",
    "FetchError",
    "FetchTimeoutError",
    "BadRequestError",
    "WrongThreadError",
    "ServerNotRunningError",
    "BackplaneUnavailableError",
    "connect_failure",
]


class NbwsError(Exception):
    """The root of every exception nbws raises."""


class PortInUseError(NbwsError, OSError):
    """A port is held by something other than an nbws server of this process.

    Attributes:
        host: the address that could not be bound.
        port: the port that is in use.
        pid: the process holding it, when it could be found (Linux), else None.
    """

    def __init__(self, host: str, port: int, pid: int | None = None) -> None:
        self.host = host
        self.port = port
        self.pid = pid
        holder = f"another process (pid {pid})" if pid else "another process"
        super().__init__(
            f"port {port} on {host} is in use by {holder}; pass port=None for a "
            f"free port, or stop that process"
        )


class PathInUseError(NbwsError, OSError):
    """A Unix socket path is in use by a live server that is not nbws's.

    Attributes:
        path: the socket path.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"{path} is a socket another process is listening on; pick another path or stop it")


class NoFreePortError(NbwsError):
    """:func:`nbws.random_port` found no free port.

    Attributes:
        min: lowest port tried.
        max: highest port tried.
        tries: how many ports were tried.
    """

    def __init__(self, min: int, max: int, tries: int) -> None:
        self.min = min
        self.max = max
        self.tries = tries
        super().__init__(
            f"no free port found in {min}-{max} after {tries} tries; widen the "
            f"range or pass more tries with n="
        )


class ConnectionClosedError(NbwsError):
    """The WebSocket is closed, so the operation cannot happen.

    Attributes:
        code: the close code (1006 when the connection dropped without a Close frame).
        reason: the close reason, possibly empty.
    """

    def __init__(self, code: int, reason: str = "") -> None:
        self.code = code
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(f"the WebSocket is closed with code {code}{detail}")


class ConnectError(NbwsError, ConnectionError):
    """A WebSocket client could not open its connection.

    Attributes:
        url: the URL it tried.
        reason: what went wrong, in words (refused, DNS, TLS, timeout …).
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"could not connect to {url}: {reason}")


class HandshakeRejectedError(ConnectError):
    """The server answered the WebSocket handshake with an HTTP error.

    Attributes:
        status: the HTTP status (403, 404 …).
        body: the start of the response body.
    """

    def __init__(self, url: str, status: int, body: bytes = b"") -> None:
        self.status = status
        self.body = body
        said = _first_line(body)
        detail = f": {said}" if said else ""
        super().__init__(url, f"the server refused the WebSocket handshake with HTTP {status}{detail}")


def _first_line(body: bytes, limit: int = 200) -> str:
    """The first line of a plain-text response body, printable characters
    only (what the server said when it refused), or ''."""
    text = body[: limit * 4].decode("utf-8", "replace").strip()
    if not text or text.startswith("<"):
        return ""  # empty, or an HTML page: the status says enough
    line = text.splitlines()[0].strip()
    line = "".join(ch for ch in line if ch.isprintable())
    return line if len(line) <= limit else line[: limit - 1] + "…"


class SendBufferFullError(NbwsError):
    """A send would take a connection's outgoing buffer past its bound.

    Raised only when the server's ``send_buffer_policy`` is ``"error"``.

    Attributes:
        buffered: bytes already waiting to be written to that peer.
        limit: the bound that refused the send, in bytes: ``send_buffer_size``,
            or the peer's fair share of the server's budget when ``total`` is set.
        total: the server's ``max_total_send_buffer`` when that budget (all
            peers' unsent bytes together) was exhausted, else None.
    """

    def __init__(self, buffered: int, limit: int, total: int | None = None) -> None:
        self.buffered = buffered
        self.limit = limit
        self.total = total
        if total is None:
            message = (f"the peer is not reading: {buffered} bytes are waiting, over the "
                       f"send_buffer_size of {limit}; slow down (await ws.drain()), raise "
                       f"send_buffer_size, or use send_buffer_policy='drop'")
        else:
            message = (f"the server's send buffers are full (max_total_send_buffer={total}) and this "
                       f"peer holds {buffered} bytes, over its fair share of {limit}; slow down "
                       f"(await ws.drain()), raise max_total_send_buffer, or use send_buffer_policy='drop'")
        super().__init__(message)


class HandlerLoopError(NbwsError):
    """A call was made from a thread or state in which it cannot work.

    For example :func:`nbws.service` from a thread that does not own the
    handler loop, or a blocking wait on the handler loop for an event that only
    the handler loop itself could deliver (which would hang forever).
    """


class ServerStoppedError(NbwsError):
    """The server was stopped; start a new one with :func:`nbws.start_server`."""


class ServerNotRunningError(ServerStoppedError, RuntimeError):
    """Something needs a running server (a :class:`~nbws.LivePlot`, a
    channel, ``run_server``) and the one given is stopped or not started.
    A :class:`RuntimeError` too, as it was before it had a name."""


class BackplaneUnavailableError(NbwsError, ConnectionError):
    """The backplane's broker (Redis) cannot be reached: when a server starts,
    or from an awaitable backplane call (a log read, a queue take). Publishing
    never raises it: it buffers (see the README's "Past one process").

    Attributes:
        url: the broker's URL, without its password.
    """

    def __init__(self, url: str, why: str,
                 hint: str = "start Redis there (redis-server), or check backplane= and the network") -> None:
        self.url = url
        super().__init__(f"the backplane at {url} cannot be reached ({why}); {hint}")


class ClassroomClosedError(ServerStoppedError, RuntimeError):
    """A closed :class:`~nbws.Classroom` was asked to ask, show, open or share
    something. Its results stay readable; start a new classroom to go on.

    Attributes:
        name: the classroom's name.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"the classroom {name!r} is closed (room.close()); its results can still be read, but "
                         "to ask or show anything start a new nbws.Classroom")


class WrongThreadError(NbwsError, AssertionError):
    """A function that belongs to one plane was called from another thread.

    Raised only in the debug mode (``NBWS_DEBUG_THREADS=1``), where every
    function marked ``@on_io_thread`` or ``@on_handler_plane`` checks the
    calling thread, as httpuv's C++ asserts its thread. Always a bug in nbws
    (or in code reaching into its internals), never in a user's handler.

    Attributes:
        function: the qualified name of the function.
        expected: ``"the I/O thread"`` or ``"a handler plane"``.
        thread: the name of the thread that called it.
    """

    def __init__(self, function: str, expected: str, thread: str) -> None:
        self.function = function
        self.expected = expected
        self.thread = thread
        super().__init__(f"{function}() must run on {expected}, but was called on thread {thread!r}")


class AsyncHandlerBlockedError(HandlerLoopError):
    """A blocking wait on the handler loop's thread (:func:`nbws.fetch`, a
    blocking ``receive()`` or ``wait_open()`` in a busy cell) started an
    ``async def`` handler that cannot run: a coroutine runs on the event loop,
    and the wait holds that loop until it returns. Raised at once instead of
    waiting out the timeout; the coroutine finishes after the cell.

    Attributes:
        handler: the qualified name of the coroutine function.
        waiting: what was waiting (``"nbws.fetch()"`` …).
    """

    def __init__(self, handler: str, waiting: str) -> None:
        self.handler = handler
        self.waiting = waiting
        super().__init__(
            f"the async handler {handler}() cannot run while {waiting} holds this thread's event loop "
            f"(a coroutine needs that loop, which is busy until this cell returns); make the handler a "
            f"plain 'def', or wait without blocking the loop: 'await nbws.fetch_async(url)' / "
            f"'await ws.areceive()' with top-level await or in a coroutine"
        )


class InvalidURLError(NbwsError, ValueError):
    """A URL nbws cannot use (no scheme, wrong scheme, no host).

    Attributes:
        url: the URL as given.
    """

    def __init__(self, url: str, expected: str = "http:// or https://") -> None:
        self.url = url
        scheme, sep, rest = url.partition("://")
        if not sep:
            scheme, rest = "", url.lstrip("/")
        hint = ("https://" if scheme.lower() in ("https", "wss") else "http://") + rest
        super().__init__(f"{url!r} is not an {expected} URL; write it in full, for example {hint!r}")


class FetchError(NbwsError, OSError):
    """:func:`nbws.fetch` connected but got no usable HTTP response.

    Attributes:
        url: the URL requested.
        reason: what went wrong, in words.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"request to {url} failed: {reason}")


class FetchTimeoutError(FetchError, TimeoutError):
    """:func:`nbws.fetch` connected, but no response came within ``timeout``.

    Attributes:
        timeout: the timeout, in seconds.
    """

    def __init__(self, url: str, timeout: float) -> None:
        self.timeout = timeout
        super().__init__(url, f"the server accepted the connection but sent no response within {timeout} s; "
                              f"pass a larger timeout= if the handler is slow")
class BadRequestError(NbwsError, ValueError):
    """A request's content is malformed: the client's fault, not the handler's.

    Raised by :meth:`nbws.Request.form` (a multipart body without a usable
    boundary, or one that is cut short) and :meth:`nbws.Request.json`. A
    handler that lets it propagate answers the client with :attr:`status`
    and the message as a plain-text body; nothing is logged above debug
    level. Catch it to answer differently.

    Attributes:
        status: the HTTP status sent when it escapes a handler (400).
        detail: what is wrong with the request, in words.
    """

    def __init__(self, detail: str, status: int = 400) -> None:
        self.status = status
        self.detail = detail
        super().__init__(f"Bad Request: {detail}")


def connect_failure(url: str, exc: BaseException, open_timeout: float) -> ConnectError:
    """The :class:`ConnectError` (or :class:`HandshakeRejectedError`) that
    says in words why connecting to ``url`` failed with ``exc``. Pure."""
    import socket
    import ssl

    from websockets.exceptions import InvalidStatus

    if isinstance(exc, ConnectError):
        return exc
    if isinstance(exc, InvalidStatus):
        return HandshakeRejectedError(url, exc.response.status_code, bytes(exc.response.body or b"")[:200])
    if isinstance(exc, TimeoutError):
        return ConnectError(url, f"no answer within open_timeout ({open_timeout} s)")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return ConnectError(url, f"TLS certificate verification failed ({exc.verify_message}); pass ssl= a context "
                                 "that trusts the server")
    if isinstance(exc, socket.gaierror):
        return ConnectError(url, f"the host name could not be resolved ({exc.strerror})")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectError(url, "connection refused: is the server running on that port?")
    return ConnectError(url, f"{type(exc).__name__}: {exc}")
