"""The Jupyter server side of the extension: one tornado handler for
``{base_url}nbws/{kernel_id}/{server}/{path}``.

Every request first passes Jupyter's own checks (``JupyterHandler.prepare``:
Host, identity, XSRF for unsafe methods; then the authorizer's ``execute`` on
``kernels``, as for a kernel's own WebSocket). Only then is the kernel's
registry read (:mod:`nbws.jupyter.registry`) and its server's Unix socket
opened. HTTP is relayed with h11 framing on the kernel side: the request body
streamed as it arrives, the response streamed back one bounded chunk at a
time, each written to the browser before the next is read. WebSocket
upgrades go to :mod:`nbws.jupyter.tunnel`. What is forwarded (Jupyter's
credentials removed) and the XSRF exception's origin rule are in
:mod:`nbws.jupyter.headers`; a request h11 cannot frame (bytes outside ASCII
in its target, control characters in a field) is answered 400 here.

Runs on the Jupyter server's (tornado) event loop.
"""

from __future__ import annotations

import inspect
import socket
from typing import Any

import h11
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.iostream import IOStream, StreamClosedError

from .headers import HOP_BY_HOP, JUPYTER_AUTH, forwarded_fields, forwarded_query, same_origin
from .registry import Entry, lookup
from .tunnel import CHUNK, relay_websocket, stamp_activity

__all__ = ["RelayHandler", "request_head", "route"]


def route(base_url: str) -> tuple[str, type[RelayHandler]]:
    """The extension's one route, for ``web_app.add_handlers``."""
    return url_path_join(base_url, r"nbws/([^/]+)/([^/]+)(/.*)?"), RelayHandler


def request_head(method: str, target: str, fields: list[tuple[str, str]]) -> tuple[h11.Connection, bytes]:
    """The request line and fields as the kernel's server gets them, framed
    by a new h11 client connection (returned, to go on with the body). The
    strings are tornado's latin-1 decoding of the bytes the browser sent, so
    they go out as those bytes (a field's value may hold bytes 0x80-0xFF,
    RFC 9110's obs-text); what HTTP does not allow (bytes outside ASCII in
    the target, control characters in a field) is a 400, not a 500."""
    client = h11.Connection(h11.CLIENT)
    try:
        data = client.send(h11.Request(
            method=method.encode("latin-1"), target=target.encode("latin-1"),
            headers=[(n.encode("latin-1"), v.encode("latin-1")) for n, v in fields]))
    except (h11.LocalProtocolError, UnicodeEncodeError) as exc:
        raise web.HTTPError(400, "this request cannot be relayed to the kernel's server: %s (percent-encode "
                                 "bytes outside ASCII in the path; no control characters in fields)", exc) from None
    return client, data or b""


async def open_socket(path: str) -> IOStream:
    """A tornado stream connected to the Unix socket at ``path`` (OSError when nobody listens)."""
    stream = IOStream(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), max_buffer_size=4 * CHUNK)
    try:
        await stream.connect(path)
    except BaseException:
        stream.close()
        raise
    return stream


@web.stream_request_body
class RelayHandler(JupyterHandler):
    """Relays one request to a kernel's nbws server; runs on Jupyter's loop."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    def initialize(self) -> None:
        self._upstream: IOStream | None = None
        self._client: h11.Connection | None = None
        self._sending_failed = False
        self._entry: Entry | None = None
        self._target = "/"
        self._prefix = ""

    # -- checks, before anything reaches the kernel --

    def _is_websocket(self) -> bool:
        return (self.request.method == "GET"
                and "websocket" in self.request.headers.get("Upgrade", "").lower())

    def check_xsrf_cookie(self) -> None:
        """Jupyter's XSRF check for unsafe methods; a request without the
        ``_xsrf`` token passes only when its ``Origin`` is this server's own
        (same scheme, host and port: :func:`~nbws.jupyter.headers.same_origin`),
        whatever Jupyter's ``allow_origin`` says. Pages served by a kernel's
        nbws server through the extension are same-origin and do not know
        Jupyter's token; other sites must not post with the visitor's cookie."""
        try:
            super().check_xsrf_cookie()
        except web.HTTPError:
            origin = self.request.headers.get("Origin")
            if origin and same_origin(origin, self.request.headers.get("Host", ""), self.request.protocol):
                return
            raise

    async def prepare(self) -> None:  # type: ignore[override]
        websocket = self._is_websocket()
        # Jupyter's authentication: a redirect to the login page (GET) or 403;
        # an upgrade is refused with 403, as for Jupyter's own WebSockets.
        await super().prepare(_redirect_to_login=not websocket)
        if self._finished:
            return
        user = self.current_user
        if not user:
            raise web.HTTPError(403, "not authenticated")
        allowed = self.authorizer.is_authorized(self, user, "execute", "kernels")
        if inspect.isawaitable(allowed):
            allowed = await allowed
        if not allowed:
            raise web.HTTPError(403, "this user may not use kernels (Jupyter's authorizer: execute on kernels)")
        if websocket and not self.check_origin():
            raise web.HTTPError(403, "cross-origin WebSocket refused by Jupyter's origin check (allow_origin)")
        kernel_id, server, rest = self.path_args
        if kernel_id not in self.kernel_manager:
            raise web.HTTPError(404, "no kernel %s in this Jupyter server; check that the kernel is running "
                                     "(server.url in that kernel gives the address)", kernel_id)
        entry, entries = lookup(self.settings["nbws_relay_dir"], kernel_id, server)
        if entry is None:
            running = ", ".join(e.name or str(e.port) for e in entries) or "none"
            raise web.HTTPError(404, "kernel %s has no nbws server %r (running there: %s); start one with "
                                     "nbws.start_server() in that kernel and use its server.url",
                                kernel_id, server, running)
        raw = self.request.path[len(url_path_join(self.base_url, "nbws/")):].split("/", 2)  # as sent
        if rest is None:
            if self.request.method in ("GET", "HEAD"):
                query = f"?{self.request.query}" if self.request.query else ""
                self.redirect(self.request.path + "/" + query, permanent=False)
                return
            raise web.HTTPError(404, "nbws server URLs end with '/' after the server name or port")
        self._entry = entry
        query = forwarded_query(self.request.query)
        self._target = "/" + raw[2] + (f"?{query}" if query else "")
        self._prefix = self.request.path[: len(self.request.path) - len(raw[2]) - 1]
        stamp_activity(self.settings, kernel_id)
        if not websocket:
            await self._send_head()

    # -- HTTP --

    async def connect_upstream(self) -> IOStream:
        """A stream to the kernel's server; 502 when its socket does not answer."""
        assert self._entry is not None
        try:
            return await open_socket(self._entry.socket)
        except OSError as exc:
            raise web.HTTPError(502, "the nbws server on port %s of this kernel does not answer on its socket "
                                     "(%s); it may have stopped", self._entry.port, exc) from None

    def _forward_fields(self) -> list[tuple[str, str]]:
        """The browser's fields minus hop-by-hop ones and Jupyter's
        credentials (:func:`~nbws.jupyter.headers.forwarded_fields`)."""
        identity = self.identity_provider
        fields = forwarded_fields(self.request.headers.get_all(), identity.get_cookie_name(self),
                                  getattr(identity, "auth_header_pat", JUPYTER_AUTH))
        if "Host" not in self.request.headers:
            fields.append(("Host", "localhost"))
        fields.append(("X-Forwarded-Prefix", self._prefix))
        return fields

    async def _send_head(self) -> None:
        fields = self._forward_fields()
        if "chunked" in self.request.headers.get("Transfer-Encoding", "").lower():
            fields.append(("Transfer-Encoding", "chunked"))
        client, head = request_head(self.request.method or "GET", self._target, fields)
        self._upstream = await self.connect_upstream()
        self._client = client
        await self._write(head)

    async def _write(self, data: bytes | None) -> None:
        if data and self._upstream is not None and not self._sending_failed:
            try:
                await self._upstream.write(data)
            except StreamClosedError:  # the server answered early (413 ...) and closed: read its answer
                self._sending_failed = True

    async def data_received(self, chunk: bytes) -> None:
        """A piece of the request body: to the kernel before the next is read."""
        if self._client is not None:
            await self._write(self._client.send(h11.Data(data=chunk)))

    async def _relay(self) -> None:
        upstream, client = self._upstream, self._client
        assert upstream is not None and client is not None
        try:
            if client.our_state is h11.SEND_BODY:
                await self._write(client.send(h11.EndOfMessage()))
            await self._pump(upstream, client)
        except StreamClosedError:  # the browser went away
            pass
        finally:
            upstream.close()

    async def _pump(self, upstream: IOStream, client: h11.Connection) -> None:
        while True:
            try:
                event = client.next_event()
            except h11.RemoteProtocolError as exc:
                self._broken(f"the kernel's server sent a malformed response ({exc})")
                return
            if event is h11.NEED_DATA:
                try:
                    data = await upstream.read_bytes(CHUNK, partial=True)
                except StreamClosedError:
                    data = b""
                client.receive_data(data)
            elif isinstance(event, h11.Response):
                self._start(event)
            elif isinstance(event, h11.Data):
                self.write(bytes(event.data))
                await self.flush()  # back-pressure: the next read waits for the browser
            elif isinstance(event, h11.EndOfMessage):
                self.finish()
                return
            elif isinstance(event, h11.ConnectionClosed):
                self._broken("the kernel's server closed the connection before answering")
                return

    def _broken(self, why: str) -> None:
        if self._headers_written:
            self.detach().close()  # mid-response: the browser sees a cut-off body, not a false end
            return
        raise web.HTTPError(502, "%s", why)

    def _start(self, event: h11.Response) -> None:
        self.set_status(event.status_code, event.reason.decode("latin-1") or None)
        self.clear_header("Content-Type")
        seen: set[str] = set()
        for raw_name, raw_value in event.headers:
            name = raw_name.decode("latin-1")
            if name in HOP_BY_HOP:
                continue
            if name not in seen:
                self.clear_header(name)
                seen.add(name)
            self.add_header(name, raw_value.decode("latin-1"))

    def compute_etag(self) -> str | None:
        return None  # the kernel's server decides about caching

    async def get(self, *args: Any) -> None:
        if self._is_websocket():
            upgrade = [(n, v) for n, v in self.request.headers.get_all() if n.lower() in ("connection", "upgrade")]
            _, head = request_head("GET", self._target, upgrade + self._forward_fields())  # or a 400
            await relay_websocket(self, head)
            return
        await self._relay()

    async def head(self, *args: Any) -> None:
        await self._relay()

    async def post(self, *args: Any) -> None:
        await self._relay()

    async def put(self, *args: Any) -> None:
        await self._relay()

    async def patch(self, *args: Any) -> None:
        await self._relay()

    async def delete(self, *args: Any) -> None:
        await self._relay()

    async def options(self, *args: Any) -> None:
        await self._relay()

    def on_connection_close(self) -> None:
        if self._upstream is not None:
            self._upstream.close()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Errors as one plain-text line that says what to check."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        text = self._reason
        if isinstance(exc, web.HTTPError) and exc.log_message:
            text = f"{text}: {exc.log_message % exc.args if exc.args else exc.log_message}"
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{status_code} {text}\n")
